"""The first-boot setup's privileged side: answers applied (iwd's file, the enrolment against the
real federation server, the local settings, the lock), the shell's request consumed, and a USB
key's file read from a real file system mounted read-only (a loop-mounted ext4 image: as root)."""

from __future__ import annotations

import os
import pwd
import subprocess
from pathlib import Path

import pytest

from kiosk.agent.sync_jobs import SYNC_FILE, TOKEN_FILE, load_enrolment
from kiosk.core import setup
from kiosk.core.setup import SetupAnswers, SetupRequest
from kiosk.firstboot.apply import Applier
from kiosk.firstboot.usb import import_from_usb
from sync.client import SyncClient
from sync.server import admin
from tests.fedkit import Federation

pytestmark = [pytest.mark.setup]

REPO = Path(__file__).resolve().parents[2]


def applier(tmp_path: Path, **changes: object) -> Applier:
    made = Applier(tmp_path / "data", iwd_dir=tmp_path / "iwd", agent_user=None, tries=2, sleep=lambda _s: None)
    for key, value in changes.items():
        setattr(made, key, value)
    return made


def answers(server: str = "", code: str = "", ssid: str = "Salle_Publique") -> SetupAnswers:
    return setup.answers_from_form(
        {"centre": "Maison des Habitants", "ssid": ssid, "passphrase": "motdepasse1", "server": server, "code": code}
    )


def nothing_applied(made: Applier) -> bool:
    data = made.data_dir
    return not setup.is_done(data) and not setup.local_settings_path(data).exists() and load_enrolment(data) is None


def test_the_enrolment_code_goes_through_the_real_enrolment(federation: Federation, tmp_path: Path) -> None:
    made = applier(tmp_path, agent_user=pwd.getpwuid(os.getuid()).pw_name)
    code = admin.create_terminal(federation.db, federation.centre(name="Centre social des Tilleuls"), "Borne 1").code
    result = made.apply(answers(federation.url, code.lower()), "r1", "screen")
    assert result.ok and result.enrolled_centre == "Centre social des Tilleuls"
    enrolled = load_enrolment(made.data_dir)
    assert enrolled is not None and enrolled.server == federation.url
    for name in (TOKEN_FILE, SYNC_FILE):
        assert (made.data_dir / name).stat().st_mode & 0o777 == 0o600
    # The token is the server's: the agent's heartbeat is taken with it.
    assert SyncClient(federation.url, enrolled.token).catalogue(None) is not None
    assert (tmp_path / "iwd" / "Salle_Publique.psk").read_text().startswith("[Security]\nPassphrase=motdepasse1\n")
    assert "Maison des Habitants" in setup.local_settings_path(made.data_dir).read_text()
    assert setup.is_done(made.data_dir)
    # Locked: a second setup changes nothing.
    again = made.apply(answers(ssid="Autre"), "r2", "screen")
    assert not again.ok and [p.key for p in again.problems] == ["(borne)"]
    assert not (tmp_path / "iwd" / "Autre.psk").exists()


def test_a_refused_code_is_said_and_nothing_is_done(federation: Federation, tmp_path: Path) -> None:
    made = applier(tmp_path)
    result = made.apply(answers(federation.url, "ABCD-EFGH-JKLM-NPQR"), "r1", "screen")
    assert not result.ok
    assert [p.key for p in result.problems] == ["federation.code"]
    assert "refusé ce code" in result.problems[0].message
    assert nothing_applied(made)
    assert (tmp_path / "iwd" / "Salle_Publique.psk").is_file()  # what the next try needs


def test_an_unreachable_server_is_tried_again_then_said(tmp_path: Path) -> None:
    waits: list[float] = []
    made = applier(tmp_path, tries=3, sleep=waits.append)
    result = made.apply(answers("http://127.0.0.1:9", "ABCD-EFGH-JKLM-NPQR"), "r1", "screen")
    assert not result.ok and "ne répond pas" in result.problems[0].message
    assert [p.key for p in result.problems] == ["federation.server"]
    assert waits == [made.wait_s, made.wait_s]
    assert nothing_applied(made)


def test_the_shell_request_is_applied_then_deleted(tmp_path: Path) -> None:
    made = applier(tmp_path)
    setup.write_request(made.data_dir, SetupRequest(request_id="abc", answers=answers()))
    result = made.apply_pending()
    assert result is not None and result.ok
    assert not setup.request_path(made.data_dir).exists()  # the passphrase with it
    assert setup.read_result(made.data_dir) == result
    assert made.apply_pending() is None


# -- a USB key ---------------------------------------------------------------------------------------


def usb_key(tmp_path: Path, files: dict[str, str], links: dict[str, str] | None = None) -> Path:
    """An ext4 file system image holding ``files`` (and symbolic ``links``), as a key would."""
    content = tmp_path / "key-content"
    content.mkdir()
    for name, text in files.items():
        (content / name).write_text(text, encoding="utf-8")
    for name, target in (links or {}).items():
        (content / name).symlink_to(target)
    image = tmp_path / "key.img"
    with image.open("wb") as out:
        out.truncate(4 * 1024 * 1024)
    subprocess.run(["mkfs.ext4", "-q", "-d", str(content), str(image)], check=True)
    return image


def test_a_valid_usb_file_is_applied_and_the_key_unmounted(tmp_path: Path) -> None:
    sample = (REPO / "config" / setup.USB_FILE).read_text(encoding="utf-8")
    without_federation = sample[: sample.index("[federation]")]  # the sample's server does not exist
    key = usb_key(tmp_path, {setup.USB_FILE: without_federation})
    made = applier(tmp_path)
    result = import_from_usb(key, made)
    assert result is not None and result.ok and result.source == "usb"
    assert setup.is_done(made.data_dir)
    assert (tmp_path / "iwd" / "Centre-Public.psk").is_file()
    assert str(key) not in Path("/proc/self/mounts").read_text()  # nothing left mounted
    # Once done, a key is not even mounted again.
    assert import_from_usb(key, made) is None


def test_an_invalid_usb_file_changes_nothing_and_says_why(tmp_path: Path) -> None:
    text = '[centre]\nname = "Espace"\n[wifi]\nssid = "Salle"\npassphrase = "court"\n'
    key = usb_key(tmp_path, {setup.USB_FILE: text})
    made = applier(tmp_path)
    result = import_from_usb(key, made)
    assert result is not None and not result.ok
    assert [p.key for p in result.problems] == ["wifi.passphrase"]
    assert setup.read_result(made.data_dir) == result  # for the setup page
    assert nothing_applied(made) and not (tmp_path / "iwd").exists()


def test_a_link_on_the_key_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "outside.toml"
    secret.write_text('[centre]\nname = "Lu hors de la clé"\n', encoding="utf-8")
    key = usb_key(tmp_path, {}, {setup.USB_FILE: str(secret)})
    made = applier(tmp_path)
    result = import_from_usb(key, made)
    assert result is not None and not result.ok
    assert "lien" in result.problems[0].message
    assert nothing_applied(made)


def test_a_key_without_the_file_is_left_alone(tmp_path: Path) -> None:
    made = applier(tmp_path)
    assert import_from_usb(usb_key(tmp_path, {"photo.txt": "x"}), made) is None
    assert setup.read_result(made.data_dir) is None


@pytest.mark.parametrize("federation_db", ["sqlite"], indirect=True)
def test_links_left_by_the_shell_do_not_steer_roots_writes(federation: Federation, tmp_path: Path) -> None:
    """The shell's user may write in /var/lib/kiosk: a link planted where root writes the token's
    temporary file, or in place of the request, reaches no other file."""
    made = applier(tmp_path)
    made.data_dir.mkdir(parents=True)
    victim = made.data_dir / "kiosk.db"
    victim.write_text("the statistics\n")
    (made.data_dir / f".{TOKEN_FILE}.tmp").symlink_to(victim)
    code = admin.create_terminal(federation.db, federation.centre(), "Borne").code
    assert made.apply(answers(federation.url, code), "r1", "screen").ok
    assert victim.read_text() == "the statistics\n"
    assert not (made.data_dir / TOKEN_FILE).is_symlink()
    # A request that is a link to a file of root's is not read.
    secret = tmp_path / "root-only"
    secret.write_text('{"request_id": "x"}')
    setup.request_path(made.data_dir).parent.mkdir(parents=True, exist_ok=True)
    setup.request_path(made.data_dir).symlink_to(secret)
    result = applier(tmp_path).apply_pending()
    assert result is not None and not result.ok
    assert secret.exists() and not setup.request_path(made.data_dir).exists()


def test_the_usb_units_command_applies_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kiosk setup usb /dev/sdX1`, as kiosk-setup-usb@.service runs it (a key with only [centre]:
    nothing written outside the data directory), then `kiosk setup status`."""
    from kiosk.cli import main

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    key = usb_key(tmp_path, {setup.USB_FILE: '[centre]\nname = "Espace Numérique"\n'})
    config = ["setup", "--config-dir", str(REPO / "config")]
    assert main([*config, "status"]) == 1
    assert main([*config, "usb", str(key)]) == 0
    assert main([*config, "status"]) == 0
    assert 'name = "Espace Numérique"' in setup.local_settings_path(tmp_path / "data").read_text(encoding="utf-8")


def test_a_step_that_cannot_write_is_said_not_left_to_time_out(tmp_path: Path) -> None:
    made = applier(tmp_path)
    setup.write_request(made.data_dir, SetupRequest(request_id="abc", answers=answers()))
    (tmp_path / "iwd").write_text("a file where iwd's directory should be")
    result = made.apply_pending()
    assert result is not None and not result.ok and result.request_id == "abc"
    assert [p.key for p in result.problems] == ["(borne)"]
    assert not setup.request_path(made.data_dir).exists() and nothing_applied(made)
