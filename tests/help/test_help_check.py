"""`kiosk help check`: what a centre's editor must fix after editing a guide, with file and line;
synonyms are data, and a broken synonyms file is reported, never a crash."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.cli import main as kiosk_main
from kiosk.core.help import HelpCentre

pytestmark = [pytest.mark.unit, pytest.mark.help]
REPO = Path(__file__).resolve().parents[2]
HELP = REPO / "config" / "help"


@pytest.fixture
def help_dir(tmp_path: Path) -> Path:
    """A copy of the shipped help content beside a copy of the shipped tiles, as on a terminal."""
    shutil.copytree(HELP, tmp_path / "help")
    shutil.copy(REPO / "config" / "tiles.toml", tmp_path / "tiles.toml")
    return tmp_path / "help"


def check(help_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = kiosk_main(["help", "check", "--help-dir", str(help_dir)])
    return status, capsys.readouterr().out.splitlines()


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_shipped_help_passes_with_a_one_line_summary() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "help", "check", "--help-dir", str(HELP)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1 and lines[0].endswith("no problem found."), lines
    assert re.search(r": \d+ guides, \d+ translations, \d+ glossary terms, \d+ synonyms: ", lines[0])


def test_a_broken_guide_is_reported_with_its_file_and_line(help_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    guide = help_dir / "articles" / "carte-vitale.md"
    edit(guide, "Votre [[carte Vitale]]", "Votre [[carte bleue]]")  # line 9: not in the glossary
    edit(guide, 'tile = "ameli"', 'tile = "nulle-part"')  # line 4: no such tile
    edit(guide, "## Étapes", "## Comment faire")
    broken = help_dir / "articles" / "faire-un-cv.md"
    edit(broken, "updated = 2026-11-25", "updated = 2026-13-45")  # line 6 of the file: not a date
    heavy = help_dir / "articles" / "joindre-un-fichier.md"
    body = heavy.read_text(encoding="utf-8").split("\n+++\n", 1)[1]
    administrative = (
        "Conformément aux dispositions réglementaires applicables, l'administration procède à l'établissement "
        "de l'imposition consécutivement à la transmission dématérialisée des informations nécessaires. "
    )
    edit(heavy, body[:40], administrative * 3 + body[:40])
    edit(help_dir / "articles" / "en" / "utiliser-la-borne.md", "updated = 2026-11-25", "updated = 2026-01-02")

    status, lines = check(help_dir, capsys)
    assert status == 1
    assert f"{guide}:9: [[carte bleue]] is not in glossary.toml" in lines
    assert f"{guide}:4: tile 'nulle-part' is not in tiles.toml" in lines
    assert f"{guide}: no '## Étapes' section" in lines
    assert any(line.startswith(f"{broken}:6: front matter: ") for line in lines), lines
    assert any(line.startswith(f"{heavy}: hard to read: ") for line in lines), lines
    older = help_dir / "articles" / "en" / "utiliser-la-borne.md"
    assert f"{older}:3: older than utiliser-la-borne.md (the French is shown until it is updated)" in lines
    assert lines[-1] == f"{len(lines) - 1} problems found."
    # The terminal itself refuses content it cannot trust: a French guide that cannot be read.
    with pytest.raises(ValueError, match=r"faire-un-cv\.md"):
        HelpCentre.load(help_dir)


def test_synonyms_are_data(help_dir: Path) -> None:
    assert "ameli-compte-et-attestation" in [a.slug for a in HelpCentre.load(HELP).search("mutuelle")[:3]]
    synonyms = help_dir / "synonyms.toml"
    edit(synonyms, 'mutuelle = ["ameli"]', 'mutuelle = ["ameli"]\nzorglub = ["carte vitale"]')
    found = [a.slug for a in HelpCentre.load(help_dir).search("zorglub")[:3]]
    assert "carte-vitale" in found
    assert HelpCentre.load(HELP).search("zorglub") == []


def test_a_broken_synonyms_file_is_a_problem_not_a_crash(help_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    synonyms = help_dir / "synonyms.toml"
    assert HelpCentre.load(help_dir).search("taxes")  # found only through its synonyms
    edit(synonyms, 'taxes = ["impôts"]', 'taxes = "impôts"')  # a word, not a list
    status, lines = check(help_dir, capsys)
    line = next(n for n, text in enumerate(synonyms.read_text(encoding="utf-8").splitlines(), 1) if "taxes" in text)
    assert status == 1 and lines[0].startswith(f"{synonyms}:{line}: 'taxes' needs a list of words")
    centre = HelpCentre.load(help_dir)
    assert any(problem.startswith("synonyms.toml:") for problem in centre.problems())
    assert centre.search("taxes") == [] and centre.search("poleemploi")  # the rest of the file still works

    edit(synonyms, 'rdv = ["rendez-vous"]', 'rdv = ["rendez-vous"')  # unclosed: nothing can be read
    status, lines = check(help_dir, capsys)
    assert status == 1 and re.match(rf"{re.escape(str(synonyms))}:\d+: Unclosed array", lines[0]), lines
    centre = HelpCentre.load(help_dir)  # the help centre still opens; search knows the guides' own words
    assert [a.slug for a in centre.search("carte vitale")][:1] == ["carte-vitale"]
    assert centre.search("poleemploi") == []

    synonyms.unlink()
    status, lines = check(help_dir, capsys)
    assert status == 1 and lines[0] == f"{synonyms}: missing: search finds only the guides' own words"


def test_a_missing_help_directory_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, lines = check(tmp_path / "nowhere", capsys)
    assert status == 1 and "no such directory" in lines[0]
