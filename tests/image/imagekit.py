"""What the appliance's tests share: where the image is built, and running a command inside it
through ``image/in-root.sh`` (private mount and PID namespaces: no mount or process outlives it)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("BORNE_IMAGE_CACHE", "/var/cache/borne-image"))
# BORNE_IMAGE_ROOTFS: another place for the built root (two checkouts testing side by side), and
# BORNE_IMAGE_DISK for the disk image made from it.
OUT = Path(os.environ.get("BORNE_IMAGE_ROOTFS", str(CACHE / "rootfs")))
# (`make image`'s place for the default root; next to any other root.)
DISK = Path(
    os.environ.get(
        "BORNE_IMAGE_DISK", str(CACHE / "disk" if OUT == CACHE / "rootfs" else OUT.parent / f"{OUT.name}.disk")
    )
)
SIZE_BUDGET = 1_500_000_000  # bytes the raw disk image carries (issue 15: at most 1.5 GB)


def in_root(
    root: Path, script: str, *, env: dict[str, str] | None = None, binds: tuple[str, ...] = (), timeout: int = 600
) -> str:
    """Run ``script`` (bash) inside ``root``; its output. Fails the test on a non-zero status.
    ``binds``: ``SRC:DST`` bind mounts of host paths into the root."""
    passed = env or {}
    options = [arg for bind in binds for arg in ("--bind", bind)]
    result = subprocess.run(
        [str(REPO / "image" / "in-root.sh"), *options, str(root), "/bin/bash", "-c", script],
        env={**os.environ, **passed, "IN_ROOT_ENV": " ".join(passed)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{script}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def version_of(rootfs: Path) -> str:
    """The image's version (``IMAGE_VERSION`` of its os-release)."""
    return re.search(r"^IMAGE_VERSION=(\S+)$", (rootfs / "usr/lib/os-release").read_text(), re.M).group(1)  # type: ignore[union-attr]
