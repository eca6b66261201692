"""The appliance's bootable disk (``image/build-disk.sh``): its layout and size budget, a real boot
in qemu under UEFI to the kiosk's ready line, boot assessment (the entry blessed once the shell is
ready), and signed A/B updates by systemd-sysupdate 254 from a loopback HTTP server: a newer
release lands in the inactive slot, one signed by another key or with a changed file is refused
and changes nothing. Needs root, squashfs-tools, dosfstools, mtools, fdisk, binutils, qemu and
OVMF; KVM when /dev/kvm is usable, else software emulation (slow: README, "What is tested").
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.image.imagekit import DISK, REPO, SIZE_BUDGET, in_root, version_of
from tests.image.vmkit import Machine, run_at_boot, wait_for

pytestmark = [pytest.mark.vm, pytest.mark.timeout(3600)]
ESP_OFFSET = 1024 * 1024  # image/build-disk.sh: the ESP starts at 1 MiB


def run(*args: str, env: dict[str, str] | None = None, timeout: int = 1800) -> str:
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    assert result.returncode == 0, f"{args}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def partitions(raw: Path) -> list[dict[str, Any]]:
    table = json.loads(run("sfdisk", "--json", str(raw)))["partitiontable"]
    return list(table["partitions"])


def esp_files(raw: Path, folder: str) -> list[str]:
    """The names in ``folder`` of the raw disk's ESP, read with mtools (no mount)."""
    out = run("mdir", "-b", "-i", f"{raw}@@{ESP_OFFSET}", f"::{folder}", env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})
    return sorted(line.rsplit("/", 1)[-1] for line in out.splitlines() if line.strip())


def esp_read(raw: Path, path: str) -> bytes:
    return subprocess.run(["mtype", "-i", f"{raw}@@{ESP_OFFSET}", f"::{path}"], capture_output=True, check=True,
                          env={**os.environ, "MTOOLS_SKIP_CHECK": "1"}).stdout  # fmt: skip


def read_at(raw: Path, start: int, size: int) -> bytes:
    with raw.open("rb") as f:
        f.seek(start)
        return f.read(size)


@pytest.fixture
def disk_copy(disk: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "disk.raw"
    run("cp", "--sparse=always", str(disk), str(copy))
    return copy


def test_the_disk_has_an_esp_two_equal_root_slots_and_the_data_partition(disk: Path, rootfs: Path) -> None:
    version = version_of(rootfs)
    parts = partitions(disk)
    assert [p["name"] for p in parts] == ["esp", f"borne_{version}", "_empty", "kiosk-data"]
    assert [str(p["type"]).upper() for p in parts] == [
        "C12A7328-F81F-11D2-BA4B-00A0C93EC93B",  # ESP
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",  # root x86-64 (systemd-sysupdate's MatchPartitionType=root)
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
    ]
    assert parts[1]["size"] == parts[2]["size"]
    # Slot A holds the squashfs root, byte for byte; slot B and the data partition hold nothing yet.
    squash = (DISK / f"borne_{version}.root.squashfs").read_bytes()
    assert read_at(disk, int(parts[1]["start"]) * 512, len(squash)) == squash and squash[:4] == b"hsqs"
    assert read_at(disk, int(parts[2]["start"]) * 512, 1 << 20) == bytes(1 << 20)
    # The ESP: systemd-boot as the removable-media loader, no menu, no editor; the UKI with 3 tries.
    assert (
        esp_read(disk, "/EFI/BOOT/BOOTX64.EFI")
        == (rootfs / "usr/lib/systemd/boot/efi/systemd-bootx64.efi").read_bytes()
    )
    loader = esp_read(disk, "/loader/loader.conf").decode().split("\n")
    assert {"timeout 0", "editor no", "auto-firmware no"} <= set(loader)
    assert esp_files(disk, "/EFI/Linux") == [f"borne_{version}+3.efi"]


def test_the_uki_boots_its_own_slot_with_its_own_kernel(disk: Path, rootfs: Path, tmp_path: Path) -> None:
    version = version_of(rootfs)
    uki = tmp_path / "uki.efi"
    uki.write_bytes(esp_read(disk, f"/EFI/Linux/borne_{version}+3.efi"))
    sections = run("objdump", "-h", str(uki))
    assert all(f" {name} " in sections for name in (".osrel", ".cmdline", ".initrd", ".linux"))
    for name in ("cmdline", "osrel", "linux"):
        run("objcopy", "-O", "binary", f"--only-section=.{name}", str(uki), str(tmp_path / name))
    cmdline = (tmp_path / "cmdline").read_bytes().rstrip(b"\0").decode().split()
    assert f"root=PARTLABEL=borne_{version}" in cmdline and "rootfstype=squashfs" in cmdline and "ro" in cmdline
    assert "panic=10" in cmdline  # an initramfs that cannot mount the root reboots: the try is spent
    assert "fsck.repair=yes" in cmdline  # a power cut's damage to the data partition is repaired at boot
    assert "fbcon=font:TER16x32" in cmdline  # the console's text large enough to read (emergency mode)
    assert f"IMAGE_VERSION={version}" in (tmp_path / "osrel").read_bytes().decode()
    kernel = max((rootfs / "boot").glob("vmlinuz-*"))
    assert (tmp_path / "linux").read_bytes()[: kernel.stat().st_size] == kernel.read_bytes()


def test_the_disk_carries_at_most_its_size_budget(disk: Path) -> None:
    allocated = int(run("du", "--block-size=1", str(disk)).split()[0])
    assert allocated <= SIZE_BUDGET, f"{allocated / 1e9:.2f} GB"


@dataclass
class Booted:
    disk: Path  # the disk copy that booted, kept afterwards
    out: str  # image/boot-vm.sh's output
    serial: str  # the serial console (the journal forwarded to it)


def boot(source: Path, copy: Path, *options: str, cmdline: str = "") -> Booted:
    """``source`` booted by image/boot-vm.sh on ``copy`` (made from it, 1 GiB larger, if missing);
    ``cmdline`` added to the kernel's command line. Fails the test when the ready line never came."""
    log = copy.with_name(f"{copy.stem}.boot{len(list(copy.parent.glob(f'{copy.stem}.boot*')))}.serial.log")
    result = subprocess.run([str(REPO / "image/boot-vm.sh"), str(source), "--disk", str(copy), "--log", str(log),
                             "--cmdline", cmdline, *options], capture_output=True, text=True, timeout=1800,
                            check=False)  # fmt: skip
    shutil.copy(log, DISK / "last-boot.log")  # for debugging, next to the image
    print(result.stdout[-800:])
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    check_data_partition(copy)
    return Booted(copy, result.stdout, log.read_text(errors="replace"))


def check_data_partition(raw: Path) -> None:
    """The data partition of a stopped machine's disk, as its next boot would mount it: copied out
    (sparse) and checked by e2fsck, which replays its ext4 journal. The machine was stopped, not
    shut down: until then its bitmaps may not match their checksums, and debugfs refuses to open
    it (seen on a loaded host)."""
    part = partitions(raw)[3]
    assert part["name"] == "kiosk-data"
    image = data_partition(raw)
    run("dd", f"if={raw}", f"of={image}", "bs=4M", f"skip={int(part['start']) * 512}",
        f"count={int(part['size']) * 512}", "iflag=skip_bytes,count_bytes", "conv=sparse", "status=none")  # fmt: skip
    check = subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, text=True, timeout=600, check=False)
    assert check.returncode in (0, 1), f"e2fsck: {check.returncode}\n{check.stdout[-2000:]}{check.stderr[-2000:]}"


# A queue added as staff would, once booted, to see where CUPS keeps it: systemd-run-generator's
# unit, wanted by the usual target (the generator would make its own target the default).
ADD_QUEUE = run_at_boot("lpadmin -p Borne-Test -E -v ipp://192.0.2.1/ipp/print")


@pytest.fixture(scope="module")
def first_boot(disk: Path, tmp_path_factory: pytest.TempPathFactory) -> Booted:
    """The disk's first boot, kept running after the ready line until the ESP's automount has gone
    idle (60 s) and flushed; the same disk copy is then updated and booted again."""
    return boot(disk, tmp_path_factory.mktemp("first-boot") / "vm.raw", "--after", "75", cmdline=ADD_QUEUE)


@pytest.mark.boot
def test_it_boots_to_the_kiosk_and_the_boot_is_blessed(first_boot: Booted, rootfs: Path) -> None:
    version = version_of(rootfs)
    assert re.search(rf"BORNE-READY {re.escape(version)} [0-9.]+s", first_boot.out), first_boot.out[-2000:]
    # systemd-boot counted the try down (+2-1), then systemd-bless-boot, after kiosk-ready.service,
    # dropped the counter: the entry is good.
    assert esp_files(first_boot.disk, "/EFI/Linux") == [f"borne_{version}.efi"]
    # The data partition grew to the end of the larger disk (systemd-repart at the first boot).
    parts = partitions(first_boot.disk)
    assert parts[3]["name"] == "kiosk-data" and int(parts[3]["size"]) * 512 > 1 << 30


def data_partition(raw: Path) -> Path:
    """The data partition of ``raw``, copied out and checked after its last boot (above)."""
    return raw.with_name(f"{raw.stem}.data.ext4")


def debugfs(raw: Path, command: str) -> str:
    """``command`` of debugfs (e2fsprogs) on the data partition of ``raw``: its output, without
    the banner debugfs writes on stderr."""
    result = subprocess.run(["debugfs", "-R", command, str(data_partition(raw))], capture_output=True, text=True,
                            timeout=300, check=False)  # fmt: skip
    assert result.returncode == 0, f"debugfs {command}: {result.stderr[-2000:]}"
    return result.stdout


def data_names(raw: Path, folder: str) -> set[str]:
    """The names in ``folder`` of the data partition (``ls -p``: /inode/mode/uid/gid/name/size/)."""
    lines = debugfs(raw, f"ls -p {folder}").splitlines()
    return {line.split("/")[5] for line in lines if line.startswith("/") and line.count("/") >= 6} - {".", ".."}


def journal_boots(rootfs: Path, raw: Path, machine_id: str, tmp_path: Path) -> list[str]:
    """The boots the data partition's journal holds, listed by the image's own journalctl."""
    dump = tmp_path / "journal-dump"
    dump.mkdir(exist_ok=True)
    debugfs(raw, f"rdump /journal/{machine_id} {dump}")
    out = in_root(rootfs, "journalctl --directory=/mnt/journal --list-boots --no-pager -q",
                  binds=(f"{dump / machine_id}:/mnt/journal",))  # fmt: skip
    return [line for line in out.splitlines() if re.match(r"\s*-?[0-9]+ [0-9a-f]{32} ", line)]


@pytest.mark.boot
def test_nothing_is_written_to_the_read_only_root_and_state_lands_on_the_data_partition(
    first_boot: Booted, rootfs: Path, tmp_path: Path
) -> None:
    # No service met the read-only root (the journal is forwarded to the serial console).
    assert not re.findall(r".*(?:Read-only file system|EROFS).*", first_boot.serial)
    assert "Failed to start" not in first_boot.serial, re.findall(r".*Failed to start.*", first_boot.serial)
    # The data partition holds the journal, under the machine id kept there, CUPS's state with the
    # queue added once booted, and nothing of CUPS's spool.
    assert {"journal", "cups", "machine-id"} <= data_names(first_boot.disk, "/")
    machine_id = debugfs(first_boot.disk, "cat /machine-id").strip()
    assert re.fullmatch(r"[0-9a-f]{32}", machine_id), machine_id
    assert data_names(first_boot.disk, "/journal") == {machine_id}
    assert "system.journal" in data_names(first_boot.disk, f"/journal/{machine_id}")
    assert len(journal_boots(rootfs, first_boot.disk, machine_id, tmp_path)) == 1
    assert {"printers.conf", "ppd"} <= data_names(first_boot.disk, "/cups")
    assert "<Printer Borne-Test>" in debugfs(first_boot.disk, "cat /cups/printers.conf")


# Signed updates -----------------------------------------------------------------------------

# The image's systemd-sysupdate, run inside the root on a copy of the disk. Not with --image: it
# would mount the ESP, and a CI host's kernel may have no vfat. So the root slot's target is the
# disk file itself instead of "auto" (the disk the root was booted from), and the ESP's /EFI/Linux
# is copied out (mtools) to a directory bound on /efi, where SYSTEMD_ESP_PATH points.
SYSUPDATE = """
set -e
cd /mnt/release
python3 -m http.server --bind 127.0.0.1 8719 >/tmp/http.log 2>&1 &
for i in $(seq 50); do
  python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8719))' 2>/dev/null && break; sleep 0.2
done
status=0
SYSTEMD_ESP_PATH=/efi SYSTEMD_RELAX_ESP_CHECKS=1 \\
  /usr/lib/systemd/systemd-sysupdate --definitions=/mnt/definitions --no-pager update || status=$?
echo "sysupdate-exit $status"
"""


@pytest.fixture(scope="module")
def gnupg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two throwaway signing keys: the federation's, built into the image, and a stranger's."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    for who in ("federation", "stranger"):
        run("gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"Borne {who} <{who}@borne.invalid>",
            "ed25519", "sign", "never", env=env)  # fmt: skip
    pubring = home / "federation.pub"
    pubring.write_bytes(subprocess.run(["gpg", "--export", "federation@borne.invalid"], env=env, capture_output=True,
                                       check=True).stdout)  # fmt: skip
    yield {"GNUPGHOME": str(home), "PUBRING": str(pubring)}
    subprocess.run(["gpgconf", "--kill", "all"], env=env, check=False)


def bumped(version: str) -> str:
    parts = version.split(".")
    return ".".join([*parts[:-1], str(int(parts[-1]) + 1)])


def bare_root(tmp_path: Path, version: str) -> Path:
    """A directory with a root slot image of ``version`` holding only its os-release: no init."""
    built, tree = tmp_path / "built", tmp_path / "tree"
    (tree / "usr/lib").mkdir(parents=True)
    built.mkdir()
    (tree / "usr/lib/os-release").write_text(f"ID=debian\nIMAGE_ID=borne\nIMAGE_VERSION={version}\n")
    run("mksquashfs", str(tree), str(built / f"borne_{version}.root.squashfs"), "-quiet", "-no-progress")
    return built


def newer_release(tmp_path: Path, version: str, gnupg: dict[str, str], key: str) -> tuple[Path, str]:
    """A release newer than ``version`` made by image/make-release.sh, signed by ``key``."""
    newer = bumped(version)
    built = bare_root(tmp_path, newer)
    (built / f"borne_{newer}.efi").write_bytes(b"MZ" + os.urandom(4096))
    return signed(built, tmp_path, gnupg, key), newer


def sysupdate(rootfs: Path, disk_copy: Path, release: Path, gnupg: dict[str, str], tmp_path: Path) -> tuple[str, Path]:
    """The image's own update definitions, pointed at a loopback server of ``release``, run by the
    image's systemd-sysupdate on ``disk_copy``, with the federation's public key as the image's.
    Its output, and the directory that stood for the ESP."""
    definitions, esp = tmp_path / "definitions", tmp_path / "esp"
    definitions.mkdir()
    (esp / "EFI").mkdir(parents=True)
    run("mcopy", "-s", "-i", f"{disk_copy}@@{ESP_OFFSET}", "::/EFI/Linux", str(esp / "EFI"),
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})  # fmt: skip
    shipped = sorted((rootfs / "usr/lib/sysupdate.d").glob("*.conf"))
    assert [p.name for p in shipped] == ["10-root.conf", "90-uki.conf"]
    for conf in shipped:
        text = re.sub(r"^Path=https?://.*$", "Path=http://127.0.0.1:8719", conf.read_text(), flags=re.M)
        text = text.replace("Path=auto", "Path=/mnt/disk.raw")
        (definitions / conf.name).write_text(text)
    out = in_root(rootfs, SYSUPDATE, timeout=900, binds=(
        f"{release}:/mnt/release", f"{definitions}:/mnt/definitions", f"{disk_copy}:/mnt/disk.raw",
        f"{esp}:/efi", f"{gnupg['PUBRING']}:/usr/lib/systemd/import-pubring.gpg"))  # fmt: skip
    return out, esp / "EFI/Linux"


def test_a_newer_signed_release_goes_to_the_inactive_slot(
    rootfs: Path, disk_copy: Path, gnupg: dict[str, str], tmp_path: Path
) -> None:
    version = version_of(rootfs)
    release, newer = newer_release(tmp_path, version, gnupg, "federation@borne.invalid")
    out, esp = sysupdate(rootfs, disk_copy, release, gnupg, tmp_path)
    assert "sysupdate-exit 0" in out, out[-4000:]
    parts = partitions(disk_copy)
    assert [p["name"] for p in parts] == ["esp", f"borne_{version}", f"borne_{newer}", "kiosk-data"], out[-3000:]
    squash = (release / f"borne_{newer}.root.squashfs").read_bytes()
    assert read_at(disk_copy, int(parts[2]["start"]) * 512, len(squash)) == squash
    # The new kernel image with three tries; the running one untouched.
    assert sorted(p.name for p in esp.iterdir()) == sorted([f"borne_{version}+3.efi", f"borne_{newer}+3.efi"])
    assert (esp / f"borne_{newer}+3.efi").read_bytes() == (release / f"borne_{newer}.efi").read_bytes()


def assert_refused_and_unchanged(
    rootfs: Path, disk_copy: Path, release: Path, gnupg: dict[str, str], tmp_path: Path
) -> str:
    version = version_of(rootfs)
    before = partitions(disk_copy)
    out, esp = sysupdate(rootfs, disk_copy, release, gnupg, tmp_path)
    assert "sysupdate-exit 0" not in out, out[-3000:]
    # Slot B keeps its label "_empty" (a download whose checksum fails may have filled it: it is
    # labelled only once checked, and no boot entry names it) and no kernel image is added.
    assert partitions(disk_copy) == before and [p["name"] for p in before][1:3] == [f"borne_{version}", "_empty"]
    assert sorted(p.name for p in esp.iterdir()) == [f"borne_{version}+3.efi"]
    return out


def test_a_release_signed_by_another_key_is_refused(
    rootfs: Path, disk_copy: Path, gnupg: dict[str, str], tmp_path: Path
) -> None:
    release, _ = newer_release(tmp_path, version_of(rootfs), gnupg, "stranger@borne.invalid")
    out = assert_refused_and_unchanged(rootfs, disk_copy, release, gnupg, tmp_path)
    assert "Signature verification failed" in out, out[-3000:]


def test_a_root_image_changed_after_signing_is_refused(
    rootfs: Path, disk_copy: Path, gnupg: dict[str, str], tmp_path: Path
) -> None:
    release, newer = newer_release(tmp_path, version_of(rootfs), gnupg, "federation@borne.invalid")
    with (release / f"borne_{newer}.root.squashfs").open("ab") as f:
        f.write(b"tampered")
    out = assert_refused_and_unchanged(rootfs, disk_copy, release, gnupg, tmp_path)
    assert "file has been tampered with" in out, out[-3000:]


# Booting updates --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def newer_files(rootfs: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real newer release's two files: the same root with its version bumped, made by
    image/release-files.sh as for a disk (a faster compression level: the squashfs is for one test)."""
    built = tmp_path_factory.mktemp("newer")
    started = time.monotonic()
    run(str(REPO / "image/release-files.sh"), "--version", bumped(version_of(rootfs)), "--level", "3", str(rootfs),
        str(built))  # fmt: skip
    print(f"\nimage/release-files.sh (newer, zstd 3): {time.monotonic() - started:.0f} s")
    return built


def signed(built: Path, tmp_path: Path, gnupg: dict[str, str], key: str = "federation@borne.invalid") -> Path:
    """``built``'s release signed by ``key`` (the federation's by default) into a release
    directory, by image/make-release.sh."""
    env = {**os.environ, "GNUPGHOME": gnupg["GNUPGHOME"], "BORNE_SIGNING_KEY": key}
    run(str(REPO / "image/make-release.sh"), str(built), str(tmp_path / "release"), env=env)
    return tmp_path / "release"


def update(rootfs: Path, raw: Path, release: Path, gnupg: dict[str, str], tmp_path: Path) -> list[str]:
    """``release`` applied to ``raw`` by the image's systemd-sysupdate; the UKI it wrote put in
    the disk's ESP (mtools), where it would have written it on a terminal. The ESP's UKIs after."""
    out, esp = sysupdate(rootfs, raw, release, gnupg, tmp_path)
    assert "sysupdate-exit 0" in out, out[-4000:]
    for uki in esp.iterdir():
        run("mcopy", "-o", "-i", f"{raw}@@{ESP_OFFSET}", str(uki), f"::/EFI/Linux/{uki.name}",
            env={**os.environ, "MTOOLS_SKIP_CHECK": "1"})  # fmt: skip
    return esp_files(raw, "/EFI/Linux")


@pytest.mark.boot
def test_a_real_newer_release_applied_by_sysupdate_boots_and_is_blessed(
    first_boot: Booted, newer_files: Path, rootfs: Path, gnupg: dict[str, str], tmp_path: Path
) -> None:
    """The terminal of the first boot updated: its disk boots the newer slot, which is blessed, and
    its journal keeps both boots under one machine id."""
    version, newer = version_of(rootfs), bumped(version_of(rootfs))
    release = signed(newer_files, tmp_path, gnupg)
    esp = update(rootfs, first_boot.disk, release, gnupg, tmp_path)
    assert esp == sorted([f"borne_{version}.efi", f"borne_{newer}+3.efi"])
    booted = boot(first_boot.disk, first_boot.disk, "--after", "75")
    assert re.search(rf"BORNE-READY {re.escape(newer)} [0-9.]+s", booted.out), booted.out[-2000:]
    # The newer entry blessed, the old one kept for the next update's fallback.
    assert esp_files(first_boot.disk, "/EFI/Linux") == sorted([f"borne_{version}.efi", f"borne_{newer}.efi"])
    assert not re.findall(r".*(?:Read-only file system|EROFS).*", booted.serial)
    machine_id = debugfs(first_boot.disk, "cat /machine-id").strip()
    assert data_names(first_boot.disk, "/journal") == {machine_id}
    assert len(journal_boots(rootfs, first_boot.disk, machine_id, tmp_path)) == 2


@pytest.mark.boot
def test_a_release_that_cannot_boot_spends_its_three_tries_then_the_old_slot_boots(
    disk: Path, newer_files: Path, rootfs: Path, gnupg: dict[str, str], tmp_path: Path
) -> None:
    """A signed release whose root has no init: its initramfs panics (panic=10 reboots), three
    times, then systemd-boot boots the old entry, which reaches the kiosk."""
    version, newer = version_of(rootfs), bumped(version_of(rootfs))
    built = bare_root(tmp_path, newer)
    shutil.copy(newer_files / f"borne_{newer}.efi", built)
    raw = tmp_path / "vm.raw"
    run("cp", "--sparse=always", str(disk), str(raw))
    run("truncate", "-s", "+1G", str(raw))
    assert update(rootfs, raw, signed(built, tmp_path, gnupg), gnupg, tmp_path) == sorted(
        [f"borne_{version}+3.efi", f"borne_{newer}+3.efi"]
    )
    started = time.monotonic()
    booted = boot(disk, raw, "--reboots")
    print(f"three failed boots, then the old slot to ready: {time.monotonic() - started:.0f} s")
    assert re.search(rf"BORNE-READY {re.escape(version)} [0-9.]+s", booted.out), booted.out[-2000:]
    assert booted.serial.count("No init found") == 3, booted.serial[-3000:]
    assert booted.serial.count("Rebooting automatically due to panic= boot argument") == 3
    ukis = esp_files(raw, "/EFI/Linux")
    assert f"borne_{newer}+0-3.efi" in ukis and len(ukis) == 2, ukis


# A file system of /etc/fstab that fails: one more line, added on the kernel's command line
# (systemd-fstab-generator reads both alike), for a partition that never appears.
MISSING_MOUNT = (
    "systemd.mount-extra=/dev/disk/by-partlabel/borne-missing:/mnt/borne-missing:ext4:x-systemd.device-timeout=10s"
)
BOOT_FAILED = "La borne n'a pas pu démarrer."


def lit_share(ppm: bytes) -> float:
    """The share of a binary PPM screen dump's pixels that are not black."""
    magic, width, height, _, pixels = ppm.split(maxsplit=4)
    assert magic == b"P6"
    count = int(width) * int(height)
    dark = sum(1 for i in range(0, 3 * count, 3) if pixels[i] + pixels[i + 1] + pixels[i + 2] < 48)
    return 1 - dark / count


@pytest.mark.boot
def test_a_boot_that_stops_in_emergency_mode_says_so_on_screen_and_reboots(
    disk: Path, rootfs: Path, tmp_path: Path
) -> None:
    """local-fs.target fails and systemd enters emergency mode: instead of a root shell nobody can
    open on a black screen, image/boot-failed says so in French and the terminal reboots, spending
    one of the entry's tries, so a version that ends there falls back like any other."""
    version = version_of(rootfs)
    with Machine(disk, tmp_path, extra_cmdline=MISSING_MOUNT) as vm:

        def message() -> bool:
            if not vm.running():
                raise AssertionError(f"qemu stopped before the message:\n{vm.console_text()[-4000:]}")
            return BOOT_FAILED in vm.console_text()

        wait_for("the boot-failed message on the console", message, 900)
        shown = time.monotonic()
        print(f"boot to the emergency message: {shown - vm.started:.0f} s")
        time.sleep(3)  # the same text drawn on tty1
        assert vm.qmp is not None
        vm.qmp.command("screendump", filename=str(tmp_path / "screen.ppm"))
        shutil.copy(tmp_path / "screen.ppm", DISK / "emergency-screen.ppm")  # to look at, next to the image
        # Text on the screen (a few percent of its pixels lit), not the black screen of before.
        assert 0.002 < lit_share((tmp_path / "screen.ppm").read_bytes()) < 0.3
        console = vm.console_text()
        assert "Elle va redémarrer toute seule dans 60 secondes." in console
        # For the technician: the job that timed out and what depended on it, as the script printed them.
        said = console[console.index("Pour le technicien") :]
        assert re.search(r"^ +- Timed out waiting for device .*borne-missing", said, re.M), said[:3000]
        assert re.search(r"^ +- Dependency failed for .*borne-missing", said, re.M), said[:3000]
        assert not re.search(r"^ +- .*failed with result", said, re.M), said[:3000]  # said once, in words
        # Then the guest reboots by itself (qemu stops on a reboot here: -no-reboot).
        wait_for("the reboot", lambda: not vm.running(), 240)
        print(f"the message, then the reboot: {time.monotonic() - shown:.0f} s")
        assert time.monotonic() - shown > 50  # the message stays up its 60 s
        console = vm.console_text()
        assert "BORNE-READY" not in console
        assert re.search(r"reboot\.target|System Reboot", console), console[-3000:]
        # systemd-boot counted the try down, and nothing blessed it.
        assert esp_files(vm.workdir / "disk.raw", "/EFI/Linux") == [f"borne_{version}+2-1.efi"]
