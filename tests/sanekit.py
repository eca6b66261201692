"""SANE's ``test`` backend in a private configuration, for the tests and for `make run`.

libsane reads its configuration once, at ``sane_init`` (the first SANE call of a process), from
``SANE_CONFIG_DIR``: the session-scoped ``sane_test_backend`` fixture writes a directory whose
``dll.conf`` enables only the ``test`` backend and whose ``test.conf`` gives two devices
(``test:0``, ``test:1``) with the backend's test options enabled (its ``read_return_value``
makes a scan fail with a chosen SANE status: feeder empty, cover open, jam, I/O error). The
plugin points ``SANE_CONFIG_DIR`` at it when pytest starts (``pytest_configure``), before any
test can initialise SANE: a shell built with ``scanner = "auto"`` probes the scanner for its
device health, and a first ``sane_init`` without it would keep the system's backends for the
whole process.

Facts this relies on (Debian 12, sane-backends 1.2.1, python-sane 2.9.2):
- the test backend's feeder ("Automatic Document Feeder") gives 10 pages per open device, then
  ``SANE_STATUS_NO_DOCS``; its flatbed one page; a second ``sane_open`` of an open device says
  "Device busy"; ``sane_open`` of a name no backend knows says "Invalid argument";
- after ``sane_cancel`` from another thread, python-sane's ``scan()`` returns the partial image.

``python -m tests.sanekit DIR`` writes such a directory (tools/run.sh: ``SANE_CONFIG_DIR=DIR``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

TEST_CONF = """\
number_of_devices 2
mode Color
test-picture "Color pattern"
enable-test-options true
"""


def write_config(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "dll.conf").write_text("test\n")
    (directory / "test.conf").write_text(TEST_CONF)
    return directory


_PREVIOUS: list[str | None] = []


def pytest_configure(config: pytest.Config) -> None:
    _PREVIOUS.append(os.environ.get("SANE_CONFIG_DIR"))
    os.environ["SANE_CONFIG_DIR"] = str(write_config(Path(tempfile.mkdtemp(prefix="borne-sane-"))))


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = os.environ.get("SANE_CONFIG_DIR")
    if _PREVIOUS:
        previous = _PREVIOUS.pop()
        if previous is None:
            os.environ.pop("SANE_CONFIG_DIR", None)
        else:
            os.environ["SANE_CONFIG_DIR"] = previous
    if directory and Path(directory).name.startswith("borne-sane-"):
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def sane_test_backend() -> Path:
    """The private SANE configuration, in force for the whole test process."""
    return Path(os.environ["SANE_CONFIG_DIR"])


if __name__ == "__main__":
    print(write_config(Path(sys.argv[1])))
