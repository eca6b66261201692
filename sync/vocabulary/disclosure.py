"""Small counts hidden so that no combination of published figures pins them down.

Statistical agencies call this *cell suppression*; they check it with a linear-programming audit
(τ-ARGUS, sdcTable): for every hidden count, the smallest and the largest value consistent with
everything published must leave every value from 1 to k−1 possible. This module builds the
hidden set so that the audit holds by construction, and ``tests/privacy`` runs the audit.

**What is published.** The figures of one *family* — a total and its breakdown, e.g. sessions by
hour of arrival, tiles opened by démarche category and by tile — are published for every node of
three trees: places (a centre, its département, the nation), periods (a week, its month, its
quarter, its year: :mod:`sync.vocabulary.periods`) and keys (a tile, its category, the total).
The finest counts are (centre, week, tile); every published figure is a sum of them.

**What is hidden.** Every figure from 1 to k−1 (*primary* cells). For each, the suppression picks
*moves*: a move adds δ to some finest counts and takes δ from others so that every published
sum it touches either does not change or is hidden too — e.g. +δ for (centre A, week 1, tile T),
−δ for (A, week 2, T), −δ for (centre B, week 1, T), +δ for (B, week 2, T): the months and the
département do not change, the four weekly figures are hidden. Whoever reads every published
figure cannot tell the true counts from the moved ones, so a primary cell is protected when its
moves can bring it down to 0 and up to k−1 without any count going negative. Every cell a chosen
move touches is hidden (*secondary* cells), so every hidden cell can move and none is pinned.
Hiding more never spoils a move: later choices cannot undo earlier protection.

**Drawn with a secret, decided once.** Among the moves that protect a cell, the cheapest (fewest
and least useful figures hidden: a national yearly total costs more than a centre's weekly
count) is taken, ties broken by a keyed hash of the server's (or the terminal's) secret, the
family and the cell, so the choice is reproducible yet tells nothing to someone without the
secret. The decisions are taken one month at a time, for the month and its weeks; moves stay
within the month, and the quarter and year figures a move touches are hidden when those
periods are published (``forced``). A figure once published never changes.

Pure standard library: the terminal's report and the server share it.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sync.vocabulary.periods import Period

GeoNode = tuple[str, str]  # ("centre", "12"), ("departement", "69"), ("national", "")
Cell = tuple[GeoNode, str, str]  # (place, period label, key node)
Finest = tuple[str, str, str]  # (centre id, week label, leaf key)

ROOT = ""
INFINITY = 1 << 60
CANDIDATES = 3  # partners tried per dimension and leaf: enough to find cheap moves, bounded work

GEO_WEIGHT = {"centre": 1, "departement": 3, "national": 9}
TIME_WEIGHT = {"week": 1, "month": 4, "quarter": 10, "year": 25}


@dataclass(frozen=True)
class Family:
    """A total and its breakdown, as published: ``root`` is the total's (metric, key) — ``None``
    when the total is not published (the answers: their cells are independent lower bounds) —
    ``table`` the metric of its keys and ``leaves`` the metric of keys one level down (a tile
    under its category, written ``category/tile``)."""

    name: str
    root: tuple[str, str] | None
    table: str | None = None
    leaves: str | None = None

    def published(self, key: str) -> tuple[str, str] | None:
        """The (metric, key) under which a key node is published, ``None`` if it is not."""
        if key == ROOT:
            return self.root
        if "/" in key and self.leaves is not None:
            return self.leaves, key
        assert self.table is not None
        return self.table, key

    def key_parent(self, key: str) -> str | None:
        if key == ROOT:
            return None
        if "/" in key and self.leaves is not None:
            return key.split("/", 1)[0]
        return ROOT


@dataclass
class Suppression:
    """The outcome for one family and month: hidden cells of the month and its weeks, and the
    quarter and year cells that must be hidden when those periods are published."""

    values: dict[Cell, int]
    hidden: set[Cell] = field(default_factory=set)
    forced: set[Cell] = field(default_factory=set)
    primaries: int = 0


@dataclass(frozen=True)
class _Move:
    corners: tuple[tuple[Finest, int], ...]
    changed: frozenset[Cell]
    order: bytes


class Suppressor:
    """Suppression of one family over one month (its weeks, the month; quarter and year forced).

    ``geo_parent`` maps every published place to its parent (``None`` at the top); the centres
    are its leaves. ``values`` are the finest counts, keyed (centre, week label, leaf key).
    ``already_forced`` are quarter and year cells earlier months forced: hiding them again is
    free. ``published_keys`` leaves out key nodes that are not figures (an unpublished total).
    """

    def __init__(
        self,
        family: Family,
        month: Period,
        geo_parent: Mapping[GeoNode, GeoNode | None],
        values: Mapping[Finest, int],
        k: int,
        secret: bytes,
        already_forced: Iterable[Cell] = (),
    ) -> None:
        self.family = family
        self.month = month
        self.k = k
        self.salt = secret + b"\x00" + family.name.encode() + b"\x00" + month.label.encode()
        self.values = {f: v for f, v in values.items() if v > 0}
        self.weeks = {p.label for p in month.children()}
        for _, week, _ in self.values:
            if week not in self.weeks:
                raise ValueError(f"week {week} is not in {month.label}")
        self.geo_parent = dict(geo_parent)
        self.geo_up = {node: self._chain(node, self.geo_parent.get) for node in self.geo_parent}
        self.centres_under: dict[GeoNode, set[str]] = defaultdict(set)
        for node, chain in self.geo_up.items():
            if node[0] == "centre":
                for up in chain:
                    self.centres_under[up].add(node[1])
        self.time_up = {w: [p.label for p in Period.parse(w).ancestors()] for w in self.weeks}
        self.kind = {p.label: p.kind for w in self.weeks for p in Period.parse(w).ancestors()}
        self.key_up: dict[str, list[str]] = {}
        self.already = set(already_forced)
        self._weights: dict[Cell, int] = {}
        self._moves: dict[tuple[Finest, tuple[str | None, str | None, str | None]], _Move | None] = {}
        self.result = Suppression(values={})
        self._index()

    @staticmethod
    def _chain(node: GeoNode, parent: Callable[[GeoNode], GeoNode | None]) -> list[GeoNode]:
        chain = [node]
        while (up := parent(chain[-1])) is not None:
            chain.append(up)
        return chain

    def _keys(self, leaf: str) -> list[str]:
        if leaf not in self.key_up:
            chain: list[str] = []
            node: str | None = leaf
            while node is not None:
                if self.family.published(node) is not None:
                    chain.append(node)
                node = self.family.key_parent(node)
            self.key_up[leaf] = chain
        return self.key_up[leaf]

    def _ancestors(self, finest: Finest) -> Iterable[Cell]:
        centre, week, leaf = finest
        geo = self.geo_up[("centre", centre)]
        return itertools.product(geo, self.time_up[week], self._keys(leaf))

    def _index(self) -> None:
        values: dict[Cell, int] = defaultdict(int)
        self.under: dict[Cell, list[Finest]] = defaultdict(list)
        self.by_week_key: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.by_centre_key: dict[tuple[str, str], list[str]] = defaultdict(list)
        self.by_centre_week: dict[tuple[str, str], list[str]] = defaultdict(list)
        for finest, value in sorted(self.values.items()):
            centre, week, leaf = finest
            if ("centre", centre) not in self.geo_up:
                raise ValueError(f"centre {centre} has no place in the tree")
            for cell in self._ancestors(finest):
                if self.kind[cell[1]] in ("week", "month"):
                    values[cell] += value
                    self.under[cell].append(finest)
            self.by_week_key[(week, leaf)].append(centre)
            self.by_centre_key[(centre, leaf)].append(week)
            self.by_centre_week[(centre, week)].append(leaf)
        self.result.values = dict(values)

    # -- choosing moves ------------------------------------------------------------------------

    def _digest(self, *parts: object) -> bytes:
        return hashlib.sha256(self.salt + repr(parts).encode()).digest()

    def _weight(self, cell: Cell) -> int:
        weight = self._weights.get(cell)
        if weight is None:
            (level, _), period, key = cell
            depth = 3 if key == ROOT else 2 if self.family.leaves is not None and "/" not in key else 1
            weight = self._weights[cell] = GEO_WEIGHT[level] * TIME_WEIGHT[self.kind[period]] * depth
        return weight

    def _free(self, cell: Cell) -> bool:
        return cell in self.result.hidden or cell in self.result.forced or cell in self.already

    def _move(self, finest: Finest, partners: tuple[str | None, str | None, str | None]) -> _Move | None:
        key = (finest, partners)
        if key in self._moves:
            return self._moves[key]
        choices = [(0, 1) if partner is not None else (0,) for partner in partners]
        corners: dict[Finest, int] = {}
        move: _Move | None = None
        for pick in itertools.product(*choices):
            parts = [partners[i] if pick[i] else finest[i] for i in range(3)]
            corner: Finest = (str(parts[0]), str(parts[1]), str(parts[2]))
            if self.values.get(corner, 0) <= 0:
                break  # every corner must hold something to move
            corners[corner] = -1 if sum(pick) % 2 else 1
        else:
            total: dict[Cell, int] = defaultdict(int)
            for corner, sign in corners.items():
                for cell in self._ancestors(corner):
                    total[cell] += sign
            changed = frozenset(cell for cell, sign in total.items() if sign)
            move = _Move(tuple(sorted(corners.items())), changed, self._digest(finest, partners))
        self._moves[key] = move
        return move

    def _near(self, node: GeoNode, other: GeoNode) -> int:
        """How far up the common ancestor of two places is (0: siblings)."""
        mine = self.geo_up[node]
        return next((i for i, up in enumerate(mine) if up in self.geo_up[other]), len(mine))

    def _candidates(self, cell: Cell, finest: Finest) -> list[_Move]:
        geo, period, key = cell
        centre, week, leaf = finest
        inside_geo = self.centres_under[geo]
        geo_partners = [c for c in self.by_week_key[(week, leaf)] if c not in inside_geo]
        geo_partners.sort(key=lambda c: (self._near(("centre", centre), ("centre", c)), self._digest("g", c)))
        time_partners: list[str] = []
        if self.kind[period] == "week":
            time_partners = [w for w in self.by_centre_key[(centre, leaf)] if w != week]
            time_partners.sort(key=lambda w: self._digest("t", w))
        key_partners = [y for y in self.by_centre_week[(centre, week)] if key not in self._keys(y)]
        key_partners.sort(key=lambda y: (len(set(self._keys(y)) & set(self._keys(leaf))) * -1, self._digest("k", y)))
        moves = []
        for partners in itertools.product(
            [None, *geo_partners[:CANDIDATES]], [None, *time_partners[:CANDIDATES]], [None, *key_partners[:CANDIDATES]]
        ):
            move = self._move(finest, partners)
            if move is not None and cell in move.changed:
                moves.append(move)
        return moves

    def protect(self, cell: Cell) -> None:
        """Choose moves that let ``cell`` go down to 0 and up to k−1; hide what they touch."""
        value = self.result.values[cell]
        need = self.k - 1 - value
        lower_budget: dict[Finest, int] = {}
        raise_budget: dict[Finest, int] = {}
        raised = 0
        chosen: list[_Move] = []
        leaves = sorted(self.under[cell], key=lambda f: self._digest("leaf", f))
        options = {finest: self._candidates(cell, finest) for finest in leaves}

        def capacity(move: _Move) -> int:
            down = [raise_budget.get(f, self.values[f]) for f, sign in move.corners if sign < 0]
            return min(down) if down else INFINITY

        for finest in leaves:
            amount = self.values[finest]
            usable = [
                move
                for move in options[finest]
                if all(lower_budget.get(f, self.values[f]) >= amount for f in self._ups(move) if f != finest)
            ]
            move = min(
                usable,
                key=lambda m: (self._cost(m), -min(capacity(m), max(need - raised, 0)), m.order),
            )
            for f, sign in move.corners:
                if sign > 0 and f != finest:
                    lower_budget[f] = lower_budget.get(f, self.values[f]) - amount
            raised += self._take(move, raise_budget, need - raised)
            self._hide(move)
            chosen.append(move)
        while raised < need:
            extra = [m for moves in options.values() for m in moves if capacity(m) > 0]
            move = min(extra, key=lambda m: (self._cost(m) / min(capacity(m), need - raised), m.order))
            raised += self._take(move, raise_budget, need - raised)
            self._hide(move)

    @staticmethod
    def _ups(move: _Move) -> list[Finest]:
        return [f for f, sign in move.corners if sign > 0]

    def _cost(self, move: _Move) -> int:
        return sum(self._weight(cell) for cell in move.changed if not self._free(cell))

    def _take(self, move: _Move, budget: dict[Finest, int], wanted: int) -> int:
        if wanted <= 0:
            return 0
        down = [f for f, sign in move.corners if sign < 0]
        taken = min([wanted, *(budget.get(f, self.values[f]) for f in down)])
        for f in down:
            budget[f] = budget.get(f, self.values[f]) - taken
        return taken

    def _hide(self, move: _Move) -> None:
        for cell in move.changed:
            if self.kind[cell[1]] in ("week", "month"):
                self.result.hidden.add(cell)
            else:
                self.result.forced.add(cell)

    def run(self) -> Suppression:
        primaries = [cell for cell, value in self.result.values.items() if 0 < value < self.k]
        self.result.primaries = len(primaries)
        levels = {"week": 0, "month": 1}
        geo_rank = {"centre": 0, "departement": 1, "national": 2}
        primaries.sort(key=lambda c: (levels[self.kind[c[1]]], geo_rank[c[0][0]], c[2] == ROOT, self._digest(c)))
        for cell in primaries:
            self.protect(cell)
        return self.result


def suppress_month(
    family: Family,
    month: Period,
    geo_parent: Mapping[GeoNode, GeoNode | None],
    values: Mapping[Finest, int],
    k: int,
    secret: bytes,
    already_forced: Iterable[Cell] = (),
) -> Suppression:
    """Hide the small cells of one family for ``month`` and its weeks (see the module's text)."""
    return Suppressor(family, month, geo_parent, values, k, secret, already_forced).run()


def geo_tree(centres: Mapping[str, str]) -> dict[GeoNode, GeoNode | None]:
    """Places of a federation: each centre (id → département code) under its département, under
    the nation."""
    tree: dict[GeoNode, GeoNode | None] = {("national", ""): None}
    for centre, departement in centres.items():
        tree[("departement", departement)] = ("national", "")
        tree[("centre", centre)] = ("departement", departement)
    return tree
