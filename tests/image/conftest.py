"""Fixtures of the appliance's tests: the root file system (``image/build-rootfs.sh``), shared by
the ``image`` and ``vm`` tests, built once per session or reused from its cache, and the raw disk
image made from it (``image/build-disk.sh``), shared by the ``vm`` tests, built once per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.image.imagekit import DISK, OUT, REPO, version_of


@pytest.fixture(scope="session")
def rootfs() -> Path:
    assert os.geteuid() == 0, "the image tests build a root file system: run them as root"
    assert shutil.which("mmdebstrap"), "the image tests need mmdebstrap: apt-get install mmdebstrap"
    started = time.monotonic()
    # The image as shipped: no nightly reboot, the default update source, no signing key.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("BORNE_NIGHTLY_REBOOT", "BORNE_UPDATE_URL", "BORNE_SIGNING_PUBKEY")
    }
    build = subprocess.run(
        [str(REPO / "image" / "build-rootfs.sh"), str(OUT)], capture_output=True, text=True, env=env, check=False
    )
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    print(f"\nimage/build-rootfs.sh: {time.monotonic() - started:.0f} s\n{build.stdout[-600:]}")
    return OUT


@pytest.fixture(scope="session")
def disk(rootfs: Path) -> Path:
    started = time.monotonic()
    build = subprocess.run(
        [str(REPO / "image/build-disk.sh"), str(rootfs), str(DISK)],
        capture_output=True, text=True, env={**os.environ, "BORNE_IMAGE_XZ": "0"}, timeout=1800, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    print(f"\nimage/build-disk.sh: {time.monotonic() - started:.0f} s\n{(build.stdout + build.stderr)[-900:]}")
    return DISK / f"borne_{version_of(rootfs)}.raw"
