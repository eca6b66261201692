"""The appliance's root file system (``image/build-rootfs.sh``), built or reused when its inputs
did not change (their hash, in ``OUT.inputs``), then checked from outside and in a chroot: units,
sandbox, users and permissions, consoles, packages, the shipped configuration and the shell's
offscreen start. Needs root and mmdebstrap; a cold build also needs the Debian mirror and PyPI.

Every command inside the root runs through ``image/in-root.sh``: private mount and PID
namespaces, so no mount or process outlives it, even when a check fails (the last test says so).
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest

from tests.image.imagekit import REPO, in_root

pytestmark = [pytest.mark.image, pytest.mark.timeout(3600)]
UNITS = (
    "kiosk-shell.service",
    "kiosk-agent.service",
    "kiosk-nightly-reboot.service",
    "kiosk-nightly-reboot.timer",
    "kiosk-ready.service",
    "kiosk-state.service",
    "kiosk-setup-apply.path",
    "kiosk-setup-apply.service",
    "kiosk-setup-reopen.path",
    "kiosk-setup-reopen.service",
    "kiosk-setup-usb@.service",  # a template: verified as an instance
    "nftables.service",  # Debian's, enabled by the build
)


def test_every_unit_verifies_in_the_image(rootfs: Path) -> None:
    for unit in UNITS:
        out = in_root(rootfs, f"systemd-analyze verify --man=no /usr/lib/systemd/system/{unit} 2>&1")
        assert out.strip() == "", f"{unit}: {out}"


def test_the_agent_is_sandboxed_to_an_exposure_of_at_most_2(rootfs: Path) -> None:
    out = in_root(rootfs, "systemd-analyze security --offline=true --no-pager kiosk-agent.service")
    level = float(re.search(r"Overall exposure level for kiosk-agent\.service: ([0-9.]+)", out).group(1))  # type: ignore[union-attr]
    assert level <= 2.0, out


def test_users_groups_and_the_data_directory_come_from_sysusers_and_tmpfiles(rootfs: Path) -> None:
    passwd = {line.split(":")[0]: line.split(":") for line in (rootfs / "etc/passwd").read_text().splitlines()}
    groups = {line.split(":")[0]: line.split(":") for line in (rootfs / "etc/group").read_text().splitlines()}
    for user in ("kiosk", "kiosk-agent"):
        assert passwd[user][6] == "/usr/sbin/nologin" and int(passwd[user][2]) < 1000  # system users, no shell
    assert set(groups["kiosk-data"][3].split(",")) == {"kiosk", "kiosk-agent"}
    assert "kiosk" in groups["audio"][3].split(",")
    for path in ("var/lib/kiosk", "var/lib/kiosk/last-good-config"):
        st = (rootfs / path).stat()
        assert oct(st.st_mode & 0o7777) == oct(0o2770), path  # setgid, nothing for others
        assert st.st_uid == int(passwd["kiosk-agent"][2]) and st.st_gid == int(groups["kiosk-data"][2])
    # The agent's secrets are written 0600 by the agent: the shell's user reads none of them.
    out = in_root(
        rootfs,
        "set -e; cd /var/lib/kiosk; setpriv --reuid=kiosk-agent --regid=kiosk-agent --init-groups --reset-env "
        "/opt/kiosk/bin/python -c 'from kiosk.core.setup import write_private as w; "
        'from pathlib import Path; w(Path("/var/lib/kiosk/secret-test"), "x")\'; '
        "stat -c '%U:%G %a' secret-test; "
        "setpriv --reuid=kiosk --regid=kiosk --init-groups cat secret-test 2>&1 || echo refused; rm secret-test",
    )
    assert "kiosk-agent:kiosk-data 600" in out and "refused" in out, out


def test_no_getty_or_autovt_on_any_console(rootfs: Path) -> None:
    system = rootfs / "etc/systemd/system"
    for n in range(1, 7):
        for unit in (f"getty@tty{n}.service", f"autovt@tty{n}.service"):
            assert os.readlink(system / unit) == "/dev/null", unit
    assert not list((system / "getty.target.wants").glob("getty@*"))
    out = in_root(rootfs, "systemctl is-enabled kiosk-shell.service kiosk-agent.service; systemctl get-default")
    assert out.split() == ["enabled", "enabled", "graphical.target"]


def test_the_packages_are_there_and_no_compiler_is(rootfs: Path) -> None:
    out = in_root(rootfs, "dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n'")
    installed = {line.split()[1] for line in out.splitlines() if line.startswith("ii")}
    wanted = {"cage", "cups", "cups-filters", "printer-driver-cups-pdf", "sane-utils", "sane-airscan"}
    wanted |= {"espeak-ng", "speech-dispatcher", "speech-dispatcher-espeak-ng", "fonts-noto-core", "python3-venv"}
    assert wanted <= installed, wanted - installed
    assert not {p for p in installed if re.fullmatch(r"(gcc|g\+\+|cpp|clang|tcc)(-[0-9]+)?|build-essential", p)}
    assert not [p for p in ("cc", "gcc", "c++", "cpp", "x86_64-linux-gnu-gcc") if (rootfs / "usr/bin" / p).exists()]
    assert list((rootfs / "usr/share/fonts/truetype/noto").glob("NotoNaskhArabic-*.ttf"))


def test_the_shipped_configuration_passes_its_check_inside_the_image(rootfs: Path) -> None:
    in_root(rootfs, "/opt/kiosk/bin/kiosk config check /etc/kiosk")


def test_the_kiosk_imports_and_starts_offscreen_to_its_first_screen_inside_the_image(rootfs: Path) -> None:
    in_root(rootfs, "/opt/kiosk/bin/python -c 'import kiosk.shell.app'")
    out = in_root(
        rootfs,
        """
        /opt/kiosk/bin/kiosk shell --windowed --size 800x600 --config-dir /etc/kiosk >/tmp/shell.log 2>&1 &
        pid=$!
        for i in $(seq 240); do
          grep -q '"shell.started"' /tmp/shell.log && break
          kill -0 $pid 2>/dev/null || break
          sleep 0.5
        done
        kill -TERM $pid 2>/dev/null; wait $pid; echo "exit $?"
        cat /tmp/shell.log
        """,
        env={
            "QT_QPA_PLATFORM": "offscreen",
            "HOME": "/tmp/home",  # nothing written into the cached root
            "KIOSK_DATA_DIR": "/tmp/data",
            "KIOSK_SESSION_ROOT": "/tmp/sessions",
            "KIOSK_LAST_GOOD_DIR": "/tmp/last-good",
            "KIOSK_SPEECH": "off",
        },
    )
    assert '"shell.started"' in out and "exit 0" in out, out[-4000:]


def test_the_root_file_system_is_trimmed(rootfs: Path) -> None:
    # (The size budget holds the disk image: tests/image/test_vm.py.) Trimmed by dpkg's filters
    # (kept in the image for later installs) and image/slim.sh.
    filters = (rootfs / "etc/dpkg/dpkg.cfg.d/99mmdebstrap").read_text()
    assert "path-exclude=/usr/share/locale/*" in filters and "path-exclude=/usr/share/doc/*" in filters
    assert {p.name for p in (rootfs / "usr/share/locale").iterdir() if p.is_dir()} <= {
        "fr", "fr_CA", "en", "en_GB", "en_AU", "en_CA", "en_NZ", "en@quot", "en@boldquot", "ar", "pt", "pt_BR"
    }  # fmt: skip
    assert not (rootfs / "usr/share/man").exists() or not any((rootfs / "usr/share/man").rglob("*.gz"))
    site = next((rootfs / "opt/kiosk/lib").glob("python3*/site-packages"))
    assert not (site / "pip").exists() and not list((site / "PySide6/Qt/lib").glob("libQt63D*"))
    # Chromium's messages stay for every language of the interface.
    languages = {"fr"} | {p.name for p in (REPO / "kiosk/i18n").iterdir() if p.is_dir() and not p.name.startswith("_")}
    paks = {p.stem.split("-")[0] for p in (site / "PySide6/Qt/translations/qtwebengine_locales").glob("*.pak")}
    assert paks == languages


def test_no_library_of_the_venv_misses_another_one(rootfs: Path) -> None:
    out = in_root(
        rootfs,
        "find /opt/kiosk \\( -name '*.so' -o -name '*.so.*' -o -name QtWebEngineProcess \\) -type f -print0 "
        "| xargs -0 -n 50 ldd 2>&1 | grep -E '^/|not found' | grep -B1 'not found' || true",
    )
    assert out.strip() == "", out[-3000:]


# What the slimmed venv must still do offscreen: every PySide6 module the kiosk imports, the
# on-screen keyboard in French and Arabic, a PDF, speech engines, a web page; phone numbers.
QT_CHECK = """
import re, sys
from pathlib import Path
import kiosk
names = set()
for path in Path(kiosk.__file__).parent.rglob("*.py"):
    names |= set(re.findall(r"PySide6\\.(Qt[A-Za-z0-9]+)", path.read_text()))
import importlib
for name in sorted(names):
    importlib.import_module("PySide6." + name)
from PySide6.QtCore import QEventLoop, QTimer, QUrl
from PySide6.QtGui import QPageSize, QPdfWriter, QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtTextToSpeech import QTextToSpeech
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QApplication
from kiosk.shell import keyboard
app = QApplication(sys.argv)
for locale in ("fr_FR", "ar_AR"):
    view = QQuickWidget()
    view.setSource(QUrl.fromLocalFile(str(keyboard.QML_PATH)))
    assert view.rootObject() is not None, [e.toString() for e in view.errors()]
    view.rootObject().setProperty("locale", locale)
writer = QPdfWriter("/tmp/check.pdf")
writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
painter = QPainter(writer); painter.drawText(100, 100, "Bonjour"); painter.end()
pdf = QPdfDocument(None)
pdf.load("/tmp/check.pdf")
assert pdf.pageCount() == 1, pdf.status()
assert {"speechd", "mock"} <= set(QTextToSpeech.availableEngines()), QTextToSpeech.availableEngines()
page = QWebEngineView()
loop = QEventLoop()
result = []
page.loadFinished.connect(lambda ok: (result.append(ok), loop.quit()))
QTimer.singleShot(60000, loop.quit)
page.setHtml("<html lang=ar dir=rtl><body>مرحبا Bonjour</body></html>")
loop.exec()
assert result == [True], result
from kiosk.core.mediation.contact import clean_phone, phone_display
assert clean_phone("06 12 34 56 78") == "+33612345678" and phone_display("+33612345678") == "06 12 34 56 78"
print("qt-check ok")
"""


def test_the_slimmed_venv_still_runs_what_the_kiosk_uses(rootfs: Path) -> None:
    out = in_root(
        rootfs,
        f"cd /tmp && /opt/kiosk/bin/python - <<'EOF'\n{QT_CHECK}\nEOF",
        env={"QT_QPA_PLATFORM": "offscreen", "QT_IM_MODULE": "qtvirtualkeyboard", "HOME": "/tmp/home",
             "QTWEBENGINE_DISABLE_SANDBOX": "1", "QT_QUICK_BACKEND": "software"},
    )  # fmt: skip
    assert "qt-check ok" in out, out[-3000:]


def test_no_console_to_switch_to_and_no_magic_keys(rootfs: Path) -> None:
    logind = in_root(rootfs, "systemd-analyze cat-config --no-pager systemd/logind.conf")
    assert (
        re.findall(r"^NAutoVTs=(\S+)", logind, re.M)[-1] == "0"
        and re.findall(r"^ReserveVT=(\S+)", logind, re.M)[-1] == "0"
    )
    # cage 0.1.4 allows Ctrl+Alt+Fn only with -s, which the shell's unit must not pass.
    unit = (rootfs / "usr/lib/systemd/system/kiosk-shell.service").read_text()
    exec_start = re.search(r"^ExecStart=.*?/usr/bin/cage (.*?) -- ", unit, re.M)
    assert exec_start and "-s" not in exec_start.group(1).split(), exec_start
    sysctl = in_root(rootfs, "/usr/lib/systemd/systemd-sysctl --cat-config --no-pager")
    last = {m[0]: m[1] for m in re.findall(r"^([a-z_.]+) *= *(\S+)", sysctl, re.M)}  # the last file wins
    assert (last["kernel.sysrq"], last["kernel.panic"], last["kernel.panic_on_oops"]) == ("0", "10", "1"), last
    # Nobody can log in: root's password is locked and no account has a shell but root.
    shadow = {line.split(":")[0]: line.split(":")[1] for line in (rootfs / "etc/shadow").read_text().splitlines()}
    assert shadow["root"] in ("*", "!", "!*") and shadow["kiosk"].startswith(("!", "*"))


def test_usb_storage_is_never_mounted_automatically(rootfs: Path) -> None:
    out = in_root(rootfs, "dpkg-query -W -f='${db:Status-Abbrev} ${Package}\\n'")
    installed = {line.split()[1] for line in out.splitlines() if line.startswith("ii")}
    assert not installed & {"udisks2", "usbmount", "autofs", "gvfs", "udiskie", "pmount"}
    rule = (rootfs / "usr/lib/udev/rules.d/90-kiosk-usb-storage.rules").read_text()
    assert 'ENV{ID_BUS}=="usb", ENV{UDISKS_IGNORE}="1", ENV{UDISKS_AUTO}="0"' in rule


def test_the_firewall_lets_in_only_the_agent_from_the_lan(rootfs: Path) -> None:
    from kiosk.core.loading import load_config

    config = load_config(REPO / "config/kiosk.toml", REPO / "config/tiles.toml").kiosk
    ports = {config.console.listen_port, config.agent.listen_port}
    # Loaded for real into the private network namespace the check runs in.
    ruleset = in_root(rootfs, "nft -f /etc/nftables.conf && nft list ruleset && systemctl is-enabled nftables.service")
    assert (
        "hook input priority filter; policy drop;" in ruleset
        and "hook forward priority filter; policy drop;" in ruleset
    )
    elements = re.search(r"set agent_ports \{[^}]*elements = \{ ([^}]*) \}", ruleset)
    assert elements and {int(p) for p in elements.group(1).split(", ")} == ports, ruleset
    assert 'iif "lo" accept' in ruleset and "ct state established,related accept" in ruleset
    assert "ip saddr @lan4 tcp dport @agent_ports accept" in ruleset
    assert len(re.findall(r"tcp dport", ruleset)) == 2, ruleset  # no other TCP port open
    assert ruleset.split()[-1] == "enabled"


# A link between the terminal (this network namespace) and a machine of the LAN (the network
# namespace of a process of its own), which has a private address and a public one; a server
# listens on the agent's port and on another one. Reached (open), refused, or dropped (no answer
# within 2 s).
FIREWALL_TRY = """
set -e
ip link set lo up
unshare --net sleep 120 &
lan=$!
sleep 0.5
in_lan() { nsenter --target "$lan" --net "$@"; }
ip link add kiosk0 type veth peer name lan0 netns "$lan"
ip addr add 192.168.77.1/24 dev kiosk0 && ip addr add 203.0.113.1/24 dev kiosk0 && ip link set kiosk0 up
in_lan ip addr add 192.168.77.2/24 dev lan0 && in_lan ip addr add 203.0.113.2/24 dev lan0
in_lan ip link set lan0 up && in_lan ip link set lo up
python3 -c '
import socket, sys, time
servers = []
for port in map(int, sys.argv[1:]):
    s = socket.create_server(("0.0.0.0", port)); servers.append(s)
time.sleep(60)' {port} 9999 &
sleep 1
probe() {
  in_lan python3 -c '
import socket, sys
def reach(src, dst, port):
    s = socket.socket(); s.settimeout(2); s.bind((src, 0))
    try:
        s.connect((dst, port)); return "open"
    except ConnectionRefusedError:
        return "refused"
    except OSError:
        return "dropped"
print(reach("192.168.77.2", "192.168.77.1", {port}), reach("192.168.77.2", "192.168.77.1", 9999),
      reach("203.0.113.2", "203.0.113.1", {port}))'
}
echo "without: $(probe)"
nft -f /etc/nftables.conf
echo "with: $(probe)"
"""


def test_the_firewall_drops_all_but_the_agent_from_the_lan_through_a_real_link(rootfs: Path) -> None:
    from kiosk.core.loading import load_config

    port = load_config(REPO / "config/kiosk.toml", REPO / "config/tiles.toml").kiosk.console.listen_port
    out = in_root(rootfs, FIREWALL_TRY.replace("{port}", str(port)))
    # Without the rules every port answers: the drops below are the firewall's.
    assert "without: open open open" in out, out
    # The agent's port from a private address; not another port, not from a public address.
    assert "with: open dropped dropped" in out, out


def test_the_root_is_read_only_with_tmpfs_and_the_data_partition(rootfs: Path) -> None:
    # The units systemd makes of /etc/fstab at boot, made and verified inside the image.
    out = in_root(
        rootfs,
        "set -e; mkdir -p /tmp/gen; cd /tmp/gen; /usr/lib/systemd/system-generators/systemd-fstab-generator . . .;"
        " ls; systemd-analyze verify --man=no ./*.mount ./*.automount 2>&1; cat var-lib-kiosk.mount",
    )
    assert "tmp.mount" in out and "var-tmp.mount" in out and "var-lib-kiosk.mount" in out, out
    assert "What=/dev/disk/by-partlabel/kiosk-data" in out and "x-systemd.makefs" in out, out
    fstab = [line.split() for line in (rootfs / "etc/fstab").read_text().splitlines() if line and line[0] != "#"]
    root = next(entry for entry in fstab if entry[1] == "/")
    assert root[2] == "squashfs" and "ro" in root[3].split(",")
    # The ESP, for systemd-bless-boot and systemd-sysupdate, mounted on first use.
    assert "efi.automount" in out and (rootfs / "efi").is_dir()
    assert {entry[1]: entry[2] for entry in fstab}.items() >= {"/tmp": "tmpfs", "/var/tmp": "tmpfs"}.items()


def test_what_the_terminal_writes_goes_to_the_data_partition_or_to_tmpfs(rootfs: Path) -> None:
    # The journal: bound from the data partition on /var/log/journal, once kiosk-state.service has
    # made its directory there; the rest of /var/log (wtmp and the like) on tmpfs.
    out = in_root(
        rootfs,
        "set -e; mkdir -p /tmp/gen; cd /tmp/gen; /usr/lib/systemd/system-generators/systemd-fstab-generator . . .;"
        " cat var-log-journal.mount var-log.mount; systemctl is-enabled kiosk-state.service;"
        " systemd-analyze verify --man=no /usr/lib/systemd/system/cups.service 2>&1;"
        " systemctl is-enabled apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer || true",
    )
    assert "What=/var/lib/kiosk/journal" in out and "Where=/var/log/journal" in out, out
    assert "Requires=kiosk-state.service" in out and "After=kiosk-state.service" in out, out
    assert "Where=/var/log\n" in out and "Type=tmpfs" in out, out
    # apt's and dpkg's daily timers, which would write to the root, masked.
    assert out.split()[-4:] == ["enabled", "masked", "masked", "masked"], out
    tmpfiles = (rootfs / "usr/lib/tmpfiles.d/kiosk.conf").read_text()
    assert re.search(r"^d /var/lib/kiosk/journal +2755 root +systemd-journal", tmpfiles, re.M)
    # CUPS: its queues in a ServerRoot bound from the data partition, spool and cache on the
    # service's own tmpfs, its logs to the journal.
    files = (rootfs / "etc/cups/cups-files.conf").read_text()
    assert re.findall(r"^(ServerRoot|AccessLog|ErrorLog|PageLog) (.*)$", files, re.M) == [
        ("AccessLog", "syslog"), ("ErrorLog", "syslog"), ("PageLog", "syslog"), ("ServerRoot", "/var/lib/cups")
    ]  # fmt: skip
    dropin = (rootfs / "usr/lib/systemd/system/cups.service.d/kiosk.conf").read_text()
    assert "BindPaths=/var/lib/kiosk/cups:/var/lib/cups" in dropin
    assert re.search(r"^TemporaryFileSystem=/var/spool/cups:\S+ /var/cache/cups:\S+$", dropin, re.M)
    assert (rootfs / "var/lib/cups").is_dir() and (rootfs / "usr/share/cups/mime/raw.types").is_file()
    # The machine id kept on the data partition, bound on /etc/machine-id by the initramfs.
    assert os.readlink(rootfs / "var/lib/dbus/machine-id") == "/etc/machine-id"
    initrd = max((rootfs / "boot").glob("initrd.img-*"))
    listing = in_root(rootfs, f"lsinitramfs /boot/{initrd.name}")
    assert "scripts/init-bottom/borne-machine-id" in listing.split()


def test_the_nightly_reboot_is_off_unless_asked_for(rootfs: Path) -> None:
    out = in_root(rootfs, "systemctl is-enabled kiosk-nightly-reboot.timer || true")
    assert out.split() == ["disabled"]
    timer = (rootfs / "usr/lib/systemd/system/kiosk-nightly-reboot.timer").read_text()
    assert "OnCalendar=*-*-* 03:30:00" in timer


def test_no_mount_is_left_in_the_root(rootfs: Path) -> None:
    mounts = Path("/proc/self/mounts").read_text().split("\n")
    assert not [m for m in mounts if f" {rootfs}" in m or f" {rootfs}.tmp" in m]
    # Nor a mount point made for the build's bind mounts (image/in-root.sh removes what it made).
    assert not list((rootfs / "mnt").iterdir())


def test_nothing_in_the_root_carries_a_posix_acl_squashfs_would_drop(rootfs: Path) -> None:
    carrying = []
    for folder, dirs, files in os.walk(rootfs):
        for name in dirs + files:
            path = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                if any(x.startswith("system.posix_acl_") for x in os.listxattr(path, follow_symlinks=False)):
                    carrying.append(path)
    assert carrying == []


def test_emergency_and_rescue_mode_show_why_and_reboot_instead_of_a_shell(rootfs: Path) -> None:
    for unit in ("emergency.service", "rescue.service"):
        out = in_root(rootfs, f"systemd-analyze verify --man=no /usr/lib/systemd/system/{unit} 2>&1")
        assert out.strip() == "", f"{unit}: {out}"
        config = in_root(rootfs, f"systemd-analyze cat-config systemd/system/{unit}")
        assert f"/usr/lib/systemd/system/{unit}.d/kiosk.conf" in config
        # The last ExecStart= wins, after the reset; no sulogin left, nothing read from the console.
        execs = re.findall(r"^ExecStart=(.*)$", config, re.M)
        assert execs[-2:] == ["", "/usr/libexec/borne/boot-failed 60"], execs
        assert re.findall(r"^StandardInput=(.*)$", config, re.M)[-1] == "null"
        assert {"SuccessAction=reboot", "FailureAction=reboot"} <= set(config.splitlines())
    script = rootfs / "usr/libexec/borne/boot-failed"
    assert script.stat().st_mode & 0o777 == 0o755
    assert in_root(rootfs, "sh -n /usr/libexec/borne/boot-failed && echo parsed").strip() == "parsed"
