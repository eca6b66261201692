"""What a help centre's editor must fix after editing a guide.

:func:`content_problems` finds what would show wrong on the terminal: a glossary link to no term,
a guide for a tile that does not exist, a missing section or video, a translation older than the
French or with glossary links. :func:`editorial_problems` adds what makes a guide hard to read
for the residents it is written for: its length, its title, readability below 60 on Kandel &
Moles' French scale, steps not numbered, no way to the mediator. Both say which file and, where
it can be found, which line.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from pathlib import Path

from kiosk.core.help.content import TERM, Article, Problem, key_line, text_line
from kiosk.core.help.markup import Markup
from kiosk.core.help.text import readability

READABILITY_MIN = 60.0  # Kandel & Moles: 60–70 "plain", above 70 "easy"
WORDS = (80, 450)
TITLE_MAX = 60
SECTIONS = ("## Étapes", "## Si ça ne marche pas")


class _Source:
    """A guide's file, read once when a line is wanted (``None`` for a centre built in memory)."""

    def __init__(self, directory: Path | None, article: Article) -> None:
        self.path = article.path
        self._file = directory / article.path if directory is not None else None
        self._text: str | None = None

    def problem(self, message: str, *, key: str | None = None, text: str | None = None) -> Problem:
        if self._text is None and self._file is not None:
            try:
                self._text = self._file.read_text(encoding="utf-8")
            except OSError:
                self._text = ""
        source = self._text or ""
        line = key_line(source, key) if key else text_line(source, text) if text else None
        return Problem(self.path, message, line)


def content_problems(
    articles: Mapping[str, Article],
    translations: Mapping[str, Mapping[str, Article]],
    markup: Markup,
    directory: Path | None = None,
    tile_ids: Collection[str] | None = None,
) -> list[Problem]:
    """Unknown glossary links and tiles, missing sections, videos and what to prepare, and
    translations older than their French guide or with glossary links."""
    found: list[Problem] = []
    for _language, translated in sorted(translations.items()):
        for slug, article in sorted(translated.items()):
            source = _Source(directory, article)
            if article.updated < articles[slug].updated:
                message = f"older than {slug}.md (the French is shown until it is updated)"
                found.append(source.problem(message, key="updated"))
            if TERM.search(article.body):
                found.append(source.problem("[[glossary]] links are for French articles only", text="[["))
    for article in articles.values():
        source = _Source(directory, article)
        for written in TERM.findall(article.body):
            if markup.term(written) is None:
                found.append(source.problem(f"[[{written}]] is not in glossary.toml", text=f"[[{written}]]"))
        if tile_ids is not None and article.tile is not None and article.tile not in tile_ids:
            found.append(source.problem(f"tile {article.tile!r} is not in tiles.toml", key="tile"))
        if SECTIONS[0] not in article.body:
            found.append(source.problem(f"no '{SECTIONS[0]}' section"))
        if not article.prepare:
            found.append(source.problem("say what to prepare beforehand (prepare = [...])"))
        if article.video and directory is not None:
            video = directory / "videos" / article.video
            if not video.is_file() or not video.with_suffix(".vtt").is_file():
                message = f"video {article.video} or its .vtt subtitles are missing"
                found.append(source.problem(message, key="video"))
    return found


def editorial_problems(articles: Mapping[str, Article], directory: Path | None = None) -> list[Problem]:
    """What makes a French guide hard to read or to act on (see FORMAT.md)."""
    found: list[Problem] = []
    for article in articles.values():
        source = _Source(directory, article)
        words = len(re.findall(r"\w+", article.plain_text))
        if not WORDS[0] <= words <= WORDS[1]:
            found.append(source.problem(f"{words} words: write between {WORDS[0]} and {WORDS[1]}"))
        if len(article.title) > TITLE_MAX:
            found.append(
                source.problem(f"the title has {len(article.title)} characters (at most {TITLE_MAX})", key="title")
            )
        score = readability(article.body.replace("[[", "").replace("]]", ""))
        if score < READABILITY_MIN:
            message = (
                f"hard to read: {score:.0f} on Kandel & Moles' scale (at least {READABILITY_MIN:.0f});"
                " write shorter sentences and words"
            )
            found.append(source.problem(message))
        if SECTIONS[1] not in article.body:
            found.append(source.problem(f"no '{SECTIONS[1]}' section"))
        if not re.search(r"^1\. ", article.body, re.M):
            found.append(source.problem("the steps are not a numbered list (1. 2. 3.)", text=SECTIONS[0]))
        if "médiateur" not in article.body.lower():
            found.append(source.problem("end with the mediator: « Touchez **Contacter le médiateur** … »"))
    return found
