"""What the root file system brings for booting and updating (``image/build-rootfs.sh``): the
kernel and an initramfs that mounts a squashfs root, systemd 254 from bookworm-backports with
systemd-boot's boot assessment and systemd-sysupdate, the image's version, the ready unit that
marks a boot good, the update definitions and the release key. Checked in the built root."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.image.imagekit import REPO, in_root

pytestmark = [pytest.mark.image, pytest.mark.timeout(3600)]


def test_the_kernel_and_an_initramfs_that_mounts_a_squashfs_root_by_its_label(rootfs: Path) -> None:
    kernels = sorted((rootfs / "boot").glob("vmlinuz-*"))
    assert len(kernels) == 1
    release = kernels[0].name.removeprefix("vmlinuz-")
    out = in_root(rootfs, f"lsinitramfs /boot/initrd.img-{release}")
    assert f"usr/lib/modules/{release}/kernel/fs/squashfs/squashfs.ko" in out.split()
    assert "scripts/local" in out.split()
    # initramfs-tools finds root=PARTLABEL=... by that label.
    assert "PARTLABEL=*" in (rootfs / "usr/share/initramfs-tools/scripts/functions").read_text()


def test_systemd_254_with_boot_assessment_and_sysupdate(rootfs: Path) -> None:
    out = in_root(rootfs, "systemctl --version | head -n 1; dpkg-query -W -f='${Version}\\n' systemd-boot")
    assert int(re.match(r"systemd (\d+)", out).group(1)) >= 254, out  # type: ignore[union-attr]
    assert "~bpo12" in out, out
    for path in ("systemd-sysupdate", "systemd-bless-boot", "system-generators/systemd-bless-boot-generator",
                 "boot/efi/linuxx64.efi.stub", "boot/efi/systemd-bootx64.efi"):  # fmt: skip
        assert (rootfs / "usr/lib/systemd" / path).exists(), path
    assert (rootfs / "usr/bin/systemd-pull").exists() or (rootfs / "usr/lib/systemd/systemd-pull").exists()
    assert (rootfs / "usr/bin/gpg").exists()


def test_the_image_is_named_and_versioned_from_the_checkout(rootfs: Path) -> None:
    osrel = dict(line.split("=", 1) for line in (rootfs / "usr/lib/os-release").read_text().splitlines() if "=" in line)
    project = re.search(r'^version = "([^"]+)"$', (REPO / "pyproject.toml").read_text(), re.M).group(1)  # type: ignore[union-attr]
    count = subprocess.run(
        ["git", "-C", str(REPO), "rev-list", "--count", "--full-history", "HEAD", "--",
         "kiosk", "sync", "config", "systemd", "image", "pyproject.toml"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert osrel["IMAGE_ID"] == "borne" and osrel["IMAGE_VERSION"] == f"{project}.{count}"
    assert (rootfs / "etc/os-release").resolve() == (rootfs / "usr/lib/os-release").resolve()


def test_the_ready_unit_is_required_for_a_good_boot(rootfs: Path) -> None:
    required = rootfs / "etc/systemd/system/boot-complete.target.requires/kiosk-ready.service"
    assert required.is_symlink()
    unit = (rootfs / "usr/lib/systemd/system/kiosk-ready.service").read_text()
    assert "After=kiosk-shell.service" in unit and "Requires=kiosk-shell.service" in unit
    assert "Before=boot-complete.target" in unit and "BORNE-READY" in unit
    # A boot whose shell never gets ready reboots (its try spent) instead of staying black.
    assert "JobTimeoutSec=10min" in unit.split() and "JobTimeoutAction=reboot" in unit.split()
    out = in_root(
        rootfs,
        "systemctl is-enabled kiosk-ready.service systemd-sysupdate.timer serial-getty@ttyS0.service || true",
    )
    assert out.split() == ["enabled", "enabled", "masked"], out


def test_the_update_definitions_and_the_release_key(rootfs: Path) -> None:
    root = (rootfs / "usr/lib/sysupdate.d/10-root.conf").read_text()
    uki = (rootfs / "usr/lib/sysupdate.d/90-uki.conf").read_text()
    for conf in (root, uki):
        assert "@UPDATE_URL@" not in conf and re.search(r"^Path=https://\S+$", conf, re.M), conf
        assert "Verify=yes" in conf and "ProtectVersion=%A" in conf
    assert "MatchPattern=borne_@v.root.squashfs" in root and "MatchPartitionType=root" in root
    assert "TriesLeft=3" in uki and "MatchPattern=borne_@v+@l-@d.efi" in uki
    # Built without BORNE_SIGNING_PUBKEY: an empty keyring (Debian's, with other distributions'
    # keys, is gone), so every update is refused until the image is built with a key.
    assert (rootfs / "usr/lib/systemd/import-pubring.gpg").stat().st_size == 0
    assert not (rootfs / "etc/systemd/import-pubring.gpg").exists()
    assert "Type=linux-generic" in (rootfs / "usr/lib/repart.d/50-kiosk-data.conf").read_text()
