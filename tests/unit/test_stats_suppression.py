"""Small-cell suppression, attacked by someone who knows the algorithm and every published figure."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kiosk.core.stats.aggregate import NO_ANSWER, QUESTIONS
from kiosk.core.stats.suppression import MIN_K, suppress_answers, suppress_table

pytestmark = [pytest.mark.unit, pytest.mark.stats]


def compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    """Every way of writing ``total`` as ``parts`` ordered non-negative counts."""
    for bars in itertools.combinations(range(total + parts - 1), parts - 1):
        previous, counts = -1, []
        for bar in (*bars, total + parts - 1):
            counts.append(bar - previous - 1)
            previous = bar
        yield tuple(counts)


def could_publish(table: dict[str, int], published: dict[str, int | None], k: int) -> bool:
    """Whether some draw of the secondary cell publishes ``table`` as ``published``.

    The draw is keyed by a secret the attacker does not have, so every draw is possible: the
    hidden set is the small cells, plus any one visible cell when they are fewer than two or
    hold fewer than k together (or every cell, when none is big)."""
    hidden = {key for key, value in published.items() if value is None}
    small = {key for key, value in table.items() if value < k}
    if any(published[key] not in (None, table[key]) for key in table):
        return False
    if not small:
        return not hidden
    if len(small) >= 2 and sum(table[key] for key in small) >= k:
        return hidden == small
    extra = hidden - small
    big = set(table) - small
    return (len(extra) == 1 and small < hidden) if big else hidden == small


def attack(published: dict[str, int | None], total: int, k: int) -> dict[str, set[int]]:
    """All values each hidden cell can take, for an attacker who knows the total (it is
    published as the number of sessions asked), every visible cell and the algorithm: every
    table of that total that the algorithm could publish exactly so."""
    keys = list(published)
    hidden = [key for key in keys if published[key] is None]
    remaining = total - sum(v for v in published.values() if v is not None)
    possible: dict[str, set[int]] = {key: set() for key in hidden}
    for values in compositions(remaining, len(hidden)) if hidden else ():
        candidate = {key: published[key] or 0 for key in keys}
        candidate.update(dict(zip(hidden, values, strict=True)))
        if could_publish(candidate, published, k):
            for key, value in zip(hidden, values, strict=True):
                possible[key].add(value)
    return possible


tables = st.integers(min_value=3, max_value=5).flatmap(
    lambda n: st.lists(st.integers(min_value=0, max_value=14), min_size=n, max_size=n)
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(counts=tables, k=st.integers(min_value=MIN_K, max_value=7), salt=st.binary(max_size=8))
@example(counts=[2, 7, 9, 20], k=5, salt=b"")
@example(counts=[4, 5, 5], k=5, salt=b"")
@example(counts=[0, 5, 20], k=5, salt=b"")
@example(counts=[1, 0, 0, 0], k=5, salt=b"")
@example(counts=[24, 0, 0, 0], k=5, salt=b"")
@example(counts=[4, 4, 5], k=5, salt=b"")
@example(counts=[0, 7, 5], k=5, salt=b"")
@example(counts=[0, 5, 5, 9], k=5, salt=b"")
def test_no_hidden_value_can_be_recovered(counts: list[int], k: int, salt: bytes) -> None:
    table = {f"c{i}": value for i, value in enumerate(counts)}
    published = suppress_table(table, k, salt)
    assert could_publish(table, published, k), "the attack's model of the algorithm is wrong"
    total = sum(counts)
    # What is shown is true, and whatever is small is hidden.
    for key, value in published.items():
        assert value is None or (value == table[key] and value >= k)
    hidden = [key for key, value in published.items() if value is None]
    assert len(hidden) != 1, "a single hidden cell is the total minus the others"
    possible = attack(published, total, k)
    for key in hidden:
        assert table[key] in possible[key]  # the attack is sound: the truth is among its answers
        if table[key] > 0:
            assert len(possible[key]) >= 2, f"{key}={table[key]} recovered from {published} (total {total}, k={k})"


def test_the_threshold_cannot_go_below_five() -> None:
    with pytest.raises(ValueError, match="at least 5"):
        suppress_table({"a": 1, "b": 2}, k=2)


def test_big_cells_are_published_as_they_are() -> None:
    assert suppress_table({"oui": 12, "en_partie": 7, "non": 5}, k=5) == {"oui": 12, "en_partie": 7, "non": 5}


def test_one_small_cell_takes_one_other_with_it_drawn_by_the_secret() -> None:
    table = {"oui": 30, "en_partie": 9, "non": 2, NO_ANSWER: 11}
    drawn = set()
    for secret in range(40):
        published = suppress_table(table, k=5, salt=bytes([secret]))
        hidden = {key for key, value in published.items() if value is None}
        assert len(hidden) == 2 and "non" in hidden
        drawn |= hidden - {"non"}
        assert published == suppress_table(table, k=5, salt=bytes([secret]))  # same secret, same batch
    assert drawn == {"oui", "en_partie", NO_ANSWER}  # any of them can be the second one


def test_small_cells_that_add_up_to_less_than_k_take_one_more_with_them() -> None:
    published = suppress_table({"a": 1, "b": 1, "c": 6, "d": 40}, k=5, salt=b"x")
    assert published["a"] is None and published["b"] is None
    assert [published["c"], published["d"]].count(None) == 1


def test_small_cells_that_add_up_to_k_are_enough_on_their_own() -> None:
    assert suppress_table({"a": 2, "b": 3, "c": 6, "d": 40}, k=5) == {"a": None, "b": None, "c": 6, "d": 40}


def test_everyone_giving_the_same_answer_is_not_published() -> None:
    # "All 24 residents asked were happy" tells the happiness of anyone known to have answered.
    published = suppress_table({"content": 24, "moyen": 0, "mecontent": 0, NO_ANSWER: 0}, k=5)
    assert set(published.values()) == {None}


def test_suppress_answers_covers_every_question() -> None:
    answers = {q: dict.fromkeys((*options, NO_ANSWER), 1) for q, options in QUESTIONS.items()}
    published = suppress_answers(answers, k=5)
    assert published.keys() == answers.keys()
    assert all(value is None for table in published.values() for value in table.values())
