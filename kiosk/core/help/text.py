"""Measures of French text for the help centre: folding, slugs, a phonetic key, edit distance,
syllables and readability. Pure functions, no state."""

from __future__ import annotations

import re
import unicodedata

WORD = re.compile(r"[\w']+", re.UNICODE)


def fold(text: str) -> str:
    """Lower case, no diacritics, ligatures opened, apostrophes kept plain."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("’", "'")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def phonetic(word: str) -> str:
    """A rough French phonetic key: words that sound alike get the same key."""
    w = fold(word)
    for pattern, repl in (
        (r"tion", "sion"),
        (r"ph", "f"),
        (r"qu", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"g(?=[eiy])", "j"),
        (r"gu", "g"),
        (r"eau|au", "o"),
        (r"ai|ei", "e"),
        (r"[ae][nm](?![aeiou])", "an"),
        (r"[aeiu]?[iy][nm](?![aeiou])", "in"),
        (r"on|om(?![aeiou])", "on"),
        (r"y", "i"),
        (r"z", "s"),
        (r"h", ""),
        (r"w", "v"),
        (r"x", "ks"),
        (r"(.)\1+", r"\1"),
        (r"[stxde]+$", ""),
    ):
        w = re.sub(pattern, repl, w)
    return w or fold(word)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein distance, stopping early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def syllables(word: str) -> int:
    """French syllables, roughly: groups of vowels, a final mute 'e' not counted."""
    w = fold(word)
    w = re.sub(r"(?<=[^aeiouy])es?$", "", w) if len(w) > 3 else w
    return max(1, len(re.findall(r"[aeiouy]+", w)))


def readability(text: str) -> float:
    """Kandel & Moles' adaptation of Flesch's reading ease to French (higher is easier; 60–70 is
    plain language, above 70 easy): 207 − 1.015 × words per sentence − 73.6 × syllables per word."""
    sentences = [s for s in re.split(r"[.!?:;]+|\n", text) if re.search(r"\w", s)]
    words = WORD.findall(text)
    if not sentences or not words:
        return 0.0
    per_sentence = len(words) / len(sentences)
    per_word = sum(syllables(w) for w in words) / len(words)
    return 207 - 1.015 * per_sentence - 73.6 * per_word
