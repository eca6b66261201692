"""The help centre: every article valid and linked, the glossary complete, search that forgives."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from kiosk.core.help import HelpCentre
from kiosk.core.help.text import edit_distance, fold, phonetic, readability, syllables

pytestmark = [pytest.mark.unit, pytest.mark.help]
REPO = Path(__file__).resolve().parents[2]
HELP = REPO / "config" / "help"

# Real-sounding queries (typos, phonetic spellings, slang) and the article each should find.
QUERIES = [
    ("impot", "declarer-ses-revenus"),
    ("declarer mes revenus", "declarer-ses-revenus"),
    ("déclaration impôts en ligne", "declarer-ses-revenus"),
    ("inpots", "declarer-ses-revenus"),
    ("declaraton revenu", "declarer-ses-revenus"),
    ("attestation de paiement caf", "caf-attestation-de-paiement"),
    ("papier caf paiement", "caf-attestation-de-paiement"),
    ("rsa trimestriel", "caf-declaration-trimestrielle"),
    ("prime d'activité déclaration", "caf-declaration-trimestrielle"),
    ("declaration trimestrielle", "caf-declaration-trimestrielle"),
    ("attestation sécu", "ameli-compte-et-attestation"),
    ("compte ameli", "ameli-compte-et-attestation"),
    ("ameli", "ameli-compte-et-attestation"),
    ("carte vitale perdue", "carte-vitale"),
    ("nouvelle carte vital", "carte-vitale"),
    ("carte d'identité", "ants-carte-identite-passeport"),
    ("passeport", "ants-carte-identite-passeport"),
    ("pré-demande", "ants-carte-identite-passeport"),
    ("permis de conduire", "ants-permis-et-carte-grise"),
    ("carte grise", "ants-permis-et-carte-grise"),
    ("chomage inscription", "france-travail-inscription"),
    ("pole emploi", "france-travail-inscription"),
    ("s'inscrire france travail", "france-travail-inscription"),
    ("actualisation", "france-travail-actualisation"),
    ("actualiser pole emploi", "france-travail-actualisation"),
    ("retraite", "releve-de-carriere"),
    ("relevé de carrière", "releve-de-carriere"),
    ("faire un cv", "faire-un-cv"),
    ("curiculum vitae", "faire-un-cv"),
    ("scanner un papier", "numeriser-un-document"),
    ("numériser", "numeriser-un-document"),
    ("imprimer", "imprimer-un-document"),
    ("imprimante marche pas", "imprimer-un-document"),
    ("joindre un fichier", "joindre-un-fichier"),
    ("ajouter un document au formulaire", "joindre-un-fichier"),
    ("arnaque", "reconnaitre-un-site-officiel"),
    ("site officiel", "reconnaitre-un-site-officiel"),
    ("rendez-vous", "prendre-un-rendez-vous"),
    ("rdv", "prendre-un-rendez-vous"),
    ("parler à quelqu'un", "contacter-le-mediateur"),
    ("médiateur", "contacter-le-mediateur"),
    ("titre de séjour", "titre-de-sejour"),
    ("sejour etranger", "titre-de-sejour"),
    ("mot de passe oublié", "mot-de-passe-oublie"),
    ("mdp perdu", "mot-de-passe-oublie"),
    ("créer une adresse mail", "creer-une-adresse-email"),
    ("franceconnect", "franceconnect"),
    ("france connect", "franceconnect"),
    ("agrandir le texte", "utiliser-la-borne"),
    ("tout est effacé ?", "utiliser-la-borne"),
    ("chaumage", "france-travail-inscription"),
    ("inpo revenu", "declarer-ses-revenus"),
    ("fotocopie papier", "numeriser-un-document"),
    ("atestation secu", "ameli-compte-et-attestation"),
    ("pasport", "ants-carte-identite-passeport"),
    ("curiculome", "faire-un-cv"),
    ("j'ai perdu mon code", "mot-de-passe-oublie"),
    ("faux site arnaque colis", "reconnaitre-un-site-officiel"),
]


@pytest.fixture(scope="module")
def centre() -> HelpCentre:
    return HelpCentre.load(HELP)


def tile_ids() -> set[str]:
    data = tomllib.loads((REPO / "config" / "tiles.toml").read_text(encoding="utf-8"))
    return {tile["id"] for tile in data["tiles"]}


def test_the_content_is_complete_and_valid(centre: HelpCentre) -> None:
    assert len(centre.articles) >= 20
    assert len(centre.glossary) >= 40
    assert centre.problems(tile_ids()) == []


def test_every_article_is_written_for_the_resident(centre: HelpCentre) -> None:
    for article in centre.articles.values():
        words = len(re.findall(r"\w+", article.plain_text))
        assert 80 <= words <= 450, f"{article.slug}: {words} words"
        assert len(article.title) <= 60, article.slug
        assert "médiateur" in article.body.lower(), f"{article.slug}: ends without the mediator"
        assert re.search(r"^1\. ", article.body, re.M), f"{article.slug}: no numbered steps"


def test_glossary_terms_render_as_tappable_definitions(centre: HelpCentre) -> None:
    article = next(a for a in centre.articles.values() if "[[" in a.body)
    html = centre.render(article)
    assert 'class="term-word"' in html and 'role="note"' in html
    assert "[[" not in html


def test_markup_in_content_is_not_trusted() -> None:
    from datetime import date

    from kiosk.core.help import Article, GlossaryTerm
    from sync.vocabulary import Category

    evil = Article("x", "X", Category.AUTRE, (), date(2026, 1, 1), ("a",), "<script>alert(1)</script> [[<b>x</b>]]")
    html = HelpCentre({"x": evil}, {"x": GlossaryTerm("x", "x", "y")}).render(evil)
    assert "<script>" not in html and "<b>" not in html


def test_search_finds_the_right_article_in_the_first_three(centre: HelpCentre) -> None:
    misses = []
    for query, expected in QUERIES:
        found = [a.slug for a in centre.search(query)[:3]]
        if expected not in found:
            misses.append(f"{query!r}: expected {expected}, got {found}")
    hit_rate = 1 - len(misses) / len(QUERIES)
    print(f"\nhelp search hit@3 = {hit_rate:.0%} over {len(QUERIES)} queries")
    for miss in misses:
        print("  miss:", miss)
    assert len(QUERIES) >= 40
    assert hit_rate >= 0.9, misses


def test_search_of_nonsense_finds_nothing(centre: HelpCentre) -> None:
    assert centre.search("") == []
    assert centre.search("zzqxw") == []


@pytest.mark.parametrize(
    ("a", "b"),
    [("impot", "inpo"), ("allocation", "alocassion"), ("chomage", "chaumage"), ("photo", "foto")],
)
def test_phonetic_keys_match_what_sounds_alike(a: str, b: str) -> None:
    assert phonetic(a) == phonetic(b)


def test_edit_distance() -> None:
    assert edit_distance("declaraton", "declaration", 2) == 1
    assert edit_distance("ab", "ba", 2) == 1
    assert edit_distance("maison", "voiture", 2) == 3
    assert fold("Sécurité Sœur") == "securite soeur"


READABILITY_MIN = 60.0  # Kandel & Moles: 60–70 "plain", above 70 "easy"


def test_every_article_reads_easily(centre: HelpCentre) -> None:
    scores = {slug: readability(a.body.replace("[[", "").replace("]]", "")) for slug, a in centre.articles.items()}
    ranked = sorted(scores.items(), key=lambda item: item[1])
    print("\nreadability (Kandel & Moles):", ", ".join(f"{slug}={value:.0f}" for slug, value in ranked))
    print(f"median {sorted(scores.values())[len(scores) // 2]:.0f}, lowest {min(scores.values()):.0f}")
    hard = {slug: round(v) for slug, v in scores.items() if v < READABILITY_MIN}
    assert not hard, f"articles below {READABILITY_MIN}: {hard}"


def test_readability_tells_plain_from_administrative_french() -> None:
    plain = "Touchez le bouton. Écrivez votre nom. Touchez Valider."
    heavy = (
        "Conformément aux dispositions réglementaires applicables, l'administration fiscale procède "
        "à l'établissement de l'imposition consécutivement à la transmission dématérialisée des informations."
    )
    assert readability(plain) > 60 > 0 > readability(heavy)
    assert (syllables("administration"), syllables("touchez"), syllables("votre")) == (5, 2, 1)


def test_the_tutorial_video_and_its_subtitles_ship(centre: HelpCentre) -> None:
    with_video = [a for a in centre.articles.values() if a.video]
    assert with_video, "at least one guide has a tutorial video"
    for article in with_video:
        video = HELP / "videos" / str(article.video)
        assert video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM file
        cues = video.with_suffix(".vtt").read_text(encoding="utf-8")
        assert cues.startswith("WEBVTT") and cues.count(" --> ") >= 3
