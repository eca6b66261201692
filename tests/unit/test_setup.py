"""The first-boot setup's pure parts: the answers checked with French words, iwd's file, the
local settings merged over kiosk.toml (a broken one left out), the request and the lock."""

from __future__ import annotations

import configparser
import shutil
from pathlib import Path

import pytest

from kiosk.cli import main
from kiosk.core import setup
from kiosk.core.loading import load_for_process
from kiosk.core.setup import SetupInvalid, SetupRequest, WifiAnswers
from kiosk.i18n import translator

pytestmark = [pytest.mark.unit, pytest.mark.setup]

CONFIG = Path(__file__).resolve().parents[2] / "config"


def problems_of(text: str) -> dict[str, str]:
    with pytest.raises(SetupInvalid) as caught:
        setup.answers_from_toml(text)
    return {p.key: p.message for p in caught.value.problems}


def test_the_sample_usb_file_is_valid() -> None:
    answers = setup.answers_from_toml((CONFIG / setup.USB_FILE).read_text(encoding="utf-8"))
    assert answers.centre.name == "Espace France Services de Saint-Exemple"
    assert answers.wifi is not None and answers.wifi.ssid == "Centre-Public"
    assert answers.federation is not None and answers.federation.server == "https://stats.federation.example"


def test_every_problem_is_named_with_its_key_in_french() -> None:
    found = problems_of(
        '[centre]\nname = ""\n[wifi]\nssid = "Réseau"\npassphrase = "court"\n'
        '[federation]\nserver = "http://stats.example"\ncode = "pas un code !"\n[extra]\nx = 1\n'
    )
    assert set(found) == {"centre.name", "wifi.passphrase", "federation.server", "federation.code", "extra"}
    assert found["centre.name"].startswith("Écrivez le nom du centre")
    assert "8 à 63" in found["wifi.passphrase"]
    assert "https://" in found["federation.server"]
    assert "clé n'existe pas" in found["extra"]
    # Each message is a catalogue's id: the page shows it in the technician's language.
    assert translator("en")(found["centre.name"]) != found["centre.name"]


def test_a_syntax_error_names_its_line() -> None:
    assert list(problems_of('[centre]\nname = "Espace\n')) == ["(ligne 2)"]


def test_a_missing_centre_is_missing() -> None:
    assert problems_of('[wifi]\nssid = "x"\n') == {"centre": "Cette valeur manque."}


@pytest.mark.parametrize(
    ("params", "wifi", "enrol"),
    [
        ({"centre": "Espace"}, False, False),
        ({"centre": "Espace", "ssid": " ", "passphrase": "ignoré"}, False, False),
        ({"centre": "Espace", "ssid": "Salle", "passphrase": ""}, True, False),
        ({"centre": "Espace", "server": "https://s.example", "code": "abcd-efgh-jklm"}, False, True),
    ],
)
def test_the_form_leaves_out_what_is_left_empty(params: dict[str, str], wifi: bool, enrol: bool) -> None:
    answers = setup.answers_from_form(params)
    assert (answers.wifi is not None, answers.federation is not None) == (wifi, enrol)
    if enrol:
        assert answers.federation is not None and answers.federation.code == "ABCD-EFGH-JKLM"


def test_a_code_without_a_server_is_refused_on_the_server() -> None:
    with pytest.raises(SetupInvalid) as caught:
        setup.answers_from_form({"centre": "Espace", "code": "ABCD-EFGH-JKLM"})
    assert [p.key for p in caught.value.problems] == ["federation.server"]


def read_ini(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return parser


def test_iwd_file_for_a_protected_network() -> None:
    network = setup.iwd_network_file(WifiAnswers(ssid="Centre_Public-2", passphrase="un mot de passe"))
    assert network.name == "Centre_Public-2.psk"
    ini = read_ini(network.text)
    assert ini["Security"]["Passphrase"] == "un mot de passe"
    assert ini["Settings"]["AutoConnect"] == "true"
    assert "Hidden" not in ini["Settings"]


def test_iwd_file_names_other_ssids_in_hex_and_open_networks_open() -> None:
    network = setup.iwd_network_file(WifiAnswers(ssid="Café du centre", hidden=True))
    assert network.name == "=" + "Café du centre".encode().hex() + ".open"
    ini = read_ini(network.text)
    assert "Security" not in ini
    assert ini["Settings"]["Hidden"] == "true"


def test_iwd_file_takes_a_raw_key_as_the_pre_shared_key() -> None:
    key = "0123456789abcdef" * 4
    network = setup.iwd_network_file(WifiAnswers(ssid="x", passphrase=key))
    assert read_ini(network.text)["Security"]["PreSharedKey"] == key


@pytest.mark.parametrize("passphrase", ["sept777", "x" * 64, "accentué!", "a\tb" * 4])
def test_passphrases_iwd_would_refuse_are_refused(passphrase: str) -> None:
    with pytest.raises(SetupInvalid):
        setup.answers_from_form({"centre": "Espace", "ssid": "Salle", "passphrase": passphrase})


# -- the local settings, merged over kiosk.toml --------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    monkeypatch.setenv("KIOSK_DATA_DIR", str(data))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    monkeypatch.delenv("KIOSK_SETUP_REQUIRED", raising=False)
    return data


def write_local(data_dir: Path, text: str) -> Path:
    path = setup.local_settings_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_setup_answers_are_merged_over_kiosk_toml(data_dir: Path) -> None:
    answers = setup.answers_from_form({"centre": 'Maison "des" Habitants', "ssid": ""})
    write_local(data_dir, setup.local_settings_toml(answers))
    result = load_for_process(CONFIG)
    assert result.problems == []
    assert result.config.kiosk.centre.name == 'Maison "des" Habitants'
    assert result.config.kiosk.centre.timezone == "Europe/Paris"  # the rest of [centre] stays
    assert result.config.kiosk.session.idle_timeout_s == 120  # and every other section


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[centre]\nname = "Espace\n', "(syntax)"),
        ("[centre]\nname = 3\n", "centre.name"),
        ('[paths]\ndata_dir = "/tmp"\n', "paths"),
    ],
)
def test_a_broken_local_file_is_reported_and_left_out(data_dir: Path, text: str, key: str) -> None:
    path = write_local(data_dir, text)
    result = load_for_process(CONFIG)
    assert [(p.file, p.key) for p in result.problems] == [(path, key)]
    assert result.config.kiosk.centre.name == "Espace France Services de Saint-Exemple"
    assert not result.from_last_good


def test_the_setup_is_required_only_where_asked(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert not load_for_process(CONFIG).config.kiosk.setup.required  # make run, the tests
    monkeypatch.setenv("KIOSK_SETUP_REQUIRED", "1")  # the appliance's kiosk-shell.service
    assert load_for_process(CONFIG).config.kiosk.setup.required


# -- the request, the result and the lock -------------------------------------------------------------


def test_the_request_is_private_and_read_back(data_dir: Path) -> None:
    answers = setup.answers_from_form({"centre": "Espace", "ssid": "Salle", "passphrase": "secret123"})
    setup.write_request(data_dir, SetupRequest(request_id="abc", answers=answers))
    path = setup.request_path(data_dir)
    assert path.stat().st_mode & 0o777 == 0o600
    assert setup.read_request(data_dir) == SetupRequest(request_id="abc", answers=answers)
    path.write_text('{"request_id": "abc"}', encoding="utf-8")
    with pytest.raises(SetupInvalid):
        setup.read_request(data_dir)


def test_status_and_reset_on_the_command_line(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["setup", "--config-dir", str(CONFIG), "status"]) == 1
    (data_dir / "setup").mkdir(parents=True)
    (data_dir / "setup" / "done").write_text("screen\n")
    assert setup.is_done(data_dir)
    assert main(["setup", "--config-dir", str(CONFIG), "status"]) == 0
    assert main(["setup", "--config-dir", str(CONFIG), "reset"]) == 0
    assert not setup.is_done(data_dir)
    assert "not done" in capsys.readouterr().out


def test_the_sample_config_still_checks(tmp_path: Path) -> None:
    """config/ has borne-setup.toml beside kiosk.toml: `kiosk config check` reads only its two."""
    target = tmp_path / "config"
    shutil.copytree(CONFIG, target)
    assert main(["config", "check", str(target)]) == 0


def test_reset_if_asked_acts_only_on_the_staff_panels_request(data_dir: Path) -> None:
    (data_dir / "setup").mkdir(parents=True)
    (data_dir / "setup" / "done").write_text("screen\n")
    command = ["setup", "--config-dir", str(CONFIG), "reset", "--if-asked"]
    assert main(command) == 0
    assert setup.is_done(data_dir)  # nobody asked: the lock stays
    setup.ask_reopen(data_dir)
    asked = data_dir / setup.INBOX_DIR / setup.REOPEN_FILE
    assert asked.stat().st_mode & 0o777 == 0o600
    assert main(command) == 0
    assert not setup.is_done(data_dir) and not asked.exists()


def test_config_check_reports_a_broken_local_file(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_local(data_dir, "[centre]\nname = 3\n")
    assert main(["config", "check", str(CONFIG)]) == 1
    assert f"{path}:2: centre.name" in capsys.readouterr().out
