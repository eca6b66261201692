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
from itertools import compress
from typing import Any

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


class _Move:
    """Corners (finest counts) with their signs, and the published cells the move changes, as
    numbers (:meth:`Suppressor._number`), so that costing a move is cheap."""

    __slots__ = ("downs", "fits", "ids", "key", "order", "ups")

    def __init__(self, key: Any, ups: tuple[Finest, ...], downs: tuple[Finest, ...], ids: list[int]) -> None:
        self.key = key  # (finest, partners): what the secret's order of this move is drawn from
        self.order: bytes | None = None  # drawn when a tie needs it
        self.ups = ups  # corners that go up (+δ), the finest count itself among them
        self.downs = downs  # corners that go down (−δ)
        self.ids = ids
        self.fits = True  # every other up corner holds at least the finest count (set by the maker)


def _signs(*sizes: int) -> tuple[tuple[bool, ...], tuple[bool, ...]]:
    """Which corners of a move go up, which down (in the order of itertools.product)."""
    up = tuple(sum(corner) % 2 == 0 for corner in itertools.product(*(range(n) for n in sizes)))
    return up, tuple(not u for u in up)


_SIGNS = {sizes: _signs(*sizes) for sizes in itertools.product((1, 2), repeat=3)}


class Suppressor:
    """Suppression of one family over one month (its weeks, the month; quarter and year forced).

    ``geo_parent`` maps every published place to its parent (``None`` at the top); the centres
    are its leaves. ``values`` are the finest counts, keyed (centre, week label, leaf key).
    ``already_forced`` are quarter and year cells earlier months forced: hiding them again is
    free. ``published_keys`` leaves out key nodes that are not figures (an unpublished total).

    Cells a move may change are numbered (place, period, key → one integer) and "not hidden
    yet" is a byte per number, so that the cost of a move is a sum over a few integers: the
    choices are the same as when cells were compared as tuples, a great deal faster.
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
        self._moves: dict[Finest, dict[tuple[str | None, str | None, str | None], _Move]] = {}
        self._tags: dict[tuple[str, str], bytes] = {}
        self._pools: dict[tuple[str, str, GeoNode], list[str]] = {}
        self._shared: dict[tuple[str, str], int] = {}
        self._partners: dict[tuple[Any, ...], list[str]] = {}
        self._dims: dict[tuple[str, str, str | None], tuple[int, ...]] = {}
        self._place_times: dict[tuple[str, str | None, str, str | None], list[int]] = {}
        self.all_centres = {node[1] for node in self.geo_parent if node[0] == "centre"}
        self.result = Suppression(values={})
        self._index()
        self._number()

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

    def _number(self) -> None:
        """Number every cell a move can change, and mark those free to hide (already forced)."""
        self.geo_nodes = list(self.geo_parent)
        self.periods = list(self.kind)
        self.key_nodes = sorted({key for _, _, leaf in self.values for key in self._keys(leaf)})
        geo_index = {node: n for n, node in enumerate(self.geo_nodes)}
        period_index = {label: n for n, label in enumerate(self.periods)}
        key_index = {key: n for n, key in enumerate(self.key_nodes)}
        stride = len(self.periods) * len(self.key_nodes)
        self._geo_offset = {node: n * stride for node, n in geo_index.items()}
        self._period_offset = {label: n * len(self.key_nodes) for label, n in period_index.items()}
        self._key_offset = key_index
        # A cell's weight while it is shown, 0 once hidden (hiding it again costs nothing): the
        # product of its place's, period's and key's (a national yearly total costs the most).
        self.open_weight = [
            GEO_WEIGHT[geo[0]] * TIME_WEIGHT[self.kind[period]] * self._key_depth(key)
            for geo in self.geo_nodes
            for period in self.periods
            for key in self.key_nodes
        ]
        for geo, period, key in self.already:
            if geo in geo_index and period in period_index and key in key_index:
                self.open_weight[self._geo_offset[geo] + self._period_offset[period] + key_index[key]] = 0
        self._touched: set[int] = set()

    def _cell(self, number: int) -> Cell:
        geo, rest = divmod(number, len(self.periods) * len(self.key_nodes))
        period, key = divmod(rest, len(self.key_nodes))
        return self.geo_nodes[geo], self.periods[period], self.key_nodes[key]

    # -- choosing moves ------------------------------------------------------------------------

    def _digest(self, *parts: object) -> bytes:
        return hashlib.sha256(self.salt + repr(parts).encode()).digest()

    def _key_depth(self, key: str) -> int:
        return 3 if key == ROOT else 2 if self.family.leaves is not None and "/" not in key else 1

    def _dim(self, kind: str, mine: str, partner: str | None) -> tuple[int, ...]:
        """One dimension of a move's changed cells (as offsets of their numbers): the nodes
        above ``mine`` and not above ``partner``, and the other way round."""
        found = self._dims.get((kind, mine, partner))
        if found is None:
            up: Callable[[str], list[Any]]
            offset: Callable[[Any], int]
            if kind == "g":
                up, offset = (lambda c: self.geo_up[("centre", c)]), self._geo_offset.__getitem__
            elif kind == "t":
                up, offset = self.time_up.__getitem__, self._period_offset.__getitem__
            else:
                up, offset = self._keys, self._key_offset.__getitem__
            found = self._dims[(kind, mine, partner)] = tuple(map(offset, self._differ(up(mine), partner, up)))
        return found

    def _place_time(self, centre: str, geo_partner: str | None, week: str, time_partner: str | None) -> list[int]:
        """The place and period parts of a move's changed cells (their numbers without the key)."""
        found = self._place_times.get((centre, geo_partner, week, time_partner))
        if found is None:
            times = self._dim("t", week, time_partner)
            found = [g + t for g in self._dim("g", centre, geo_partner) for t in times]
            self._place_times[(centre, geo_partner, week, time_partner)] = found
        return found

    def _move(self, finest: Finest, partners: tuple[str | None, str | None, str | None]) -> _Move:
        """The move of ``finest`` with these partners; :meth:`_candidates` has checked that
        every corner holds something to move."""
        centre, week, leaf = finest
        geo_partner, time_partner, key_partner = partners
        places = (centre,) if geo_partner is None else (centre, geo_partner)
        weeks = (week,) if time_partner is None else (week, time_partner)
        leaves = (leaf,) if key_partner is None else (leaf, key_partner)
        corners = [(g, t, y) for g in places for t in weeks for y in leaves]
        up, down = _SIGNS[(len(places), len(weeks), len(leaves))]
        # A published sum changes by the product, over the three dimensions, of (covers the
        # cell's coordinate) − (covers the partner's): the cells that cover exactly one of the
        # two in every dimension that has a partner.
        keys = self._dim("k", leaf, key_partner)
        ids = [gt + y for gt in self._place_time(centre, geo_partner, week, time_partner) for y in keys]
        move = _Move((finest, partners), tuple(compress(corners, up)), tuple(compress(corners, down)), ids)
        amount = self.values[finest]
        move.fits = all(self.values[f] >= amount for f in move.ups if f != finest)
        return move

    @staticmethod
    def _differ(mine: list[Any], partner: str | None, up: Callable[[str], list[Any]]) -> list[Any]:
        """The nodes above one coordinate and not above its partner's, and the other way round."""
        if partner is None:
            return mine
        theirs = up(partner)
        return [node for node in mine if node not in theirs] + [node for node in theirs if node not in mine]

    def _tag(self, kind: str, name: str) -> bytes:
        """The secret's order of a partner (cached: the same for every cell of the month)."""
        found = self._tags.get((kind, name))
        if found is None:
            found = self._tags[(kind, name)] = self._digest(kind, name)
        return found

    def _pool(self, week: str, leaf: str, node: GeoNode) -> list[str]:
        """The centres under ``node`` holding (week, leaf), in the secret's order."""
        found = self._pools.get((week, leaf, node))
        if found is None:
            under = self.centres_under[node]
            found = sorted((c for c in self.by_week_key[(week, leaf)] if c in under), key=lambda c: self._tag("g", c))
            self._pools[(week, leaf, node)] = found
        return found

    def _geo_partners(self, centre: str, week: str, leaf: str, inside: set[str]) -> list[str]:
        """The first partners outside ``inside``, nearest places first (siblings, then cousins),
        in the secret's order within each: as sorting them all by how far up their common
        ancestor is, then by tag."""
        mine = self.geo_up[("centre", centre)]
        out: list[str] = []
        for i in range(1, len(mine)):
            closer = self.centres_under[mine[i - 1]]
            for c in self._pool(week, leaf, mine[i]):
                if c not in closer and c not in inside:
                    out.append(c)
                    if len(out) == CANDIDATES:
                        return out
        if len(self.centres_under[mine[-1]]) < len(self.all_centres):  # a forest: no common ancestor
            top = self.centres_under[mine[-1]]
            rest = [c for c in self.by_week_key[(week, leaf)] if c not in top and c not in inside]
            out += sorted(rest, key=lambda c: self._tag("g", c))
        return out[:CANDIDATES]

    def _shared_keys(self, one: str, other: str) -> int:
        found = self._shared.get((one, other))
        if found is None:
            found = self._shared[(one, other)] = len(set(self._keys(one)) & set(self._keys(other)))
        return found

    def _time_partners(self, centre: str, week: str, leaf: str) -> list[str]:
        found = self._partners.get(("t", centre, week, leaf))
        if found is None:
            found = [w for w in self.by_centre_key[(centre, leaf)] if w != week]
            found.sort(key=lambda w: self._tag("t", w))
            found = self._partners[("t", centre, week, leaf)] = found[:CANDIDATES]
        return found

    def _key_partners(self, centre: str, week: str, leaf: str, key: str) -> list[str]:
        found = self._partners.get(("k", centre, week, leaf, key))
        if found is None:
            found = [y for y in self.by_centre_week[(centre, week)] if key not in self._keys(y)]
            found.sort(key=lambda y: (-self._shared_keys(y, leaf), self._tag("k", y)))
            found = self._partners[("k", centre, week, leaf, key)] = found[:CANDIDATES]
        return found

    def _candidates(self, cell: Cell, finest: Finest) -> list[_Move]:
        """The moves of ``finest`` that change ``cell``: every partner is chosen so that the
        move changes it (a centre outside the cell's place, another week, a key outside the
        cell's key), and the move without partners changes every cell above ``finest``."""
        geo, period, key = cell
        centre, week, leaf = finest
        geo_partners = self._geo_partners(centre, week, leaf, self.centres_under[geo])
        time_partners = self._time_partners(centre, week, leaf) if self.kind[period] == "week" else []
        key_partners = self._key_partners(centre, week, leaf, key)
        # Every corner of a move must hold something to move. Each partner's own corner does (it
        # was chosen so); a combination whose other corners do not is skipped (in the order of
        # itertools.product over the three lists).
        values = self.values
        known = self._moves.get(finest)
        if known is None:
            known = self._moves[finest] = {}
        moves = []
        for geo_partner in (None, *geo_partners):
            for time_partner in (None, *time_partners):
                both = geo_partner is not None and time_partner is not None
                if both and (geo_partner, time_partner, leaf) not in values:
                    continue
                for key_partner in (None, *key_partners):
                    if key_partner is not None and (
                        (geo_partner is not None and (geo_partner, week, key_partner) not in values)
                        or (time_partner is not None and (centre, time_partner, key_partner) not in values)
                        or (both and (geo_partner, time_partner, key_partner) not in values)
                    ):
                        continue
                    partners = (geo_partner, time_partner, key_partner)
                    move = known.get(partners)
                    if move is None:
                        move = known[partners] = self._move(finest, partners)
                    moves.append(move)
        return moves

    def _first(self, moves: list[_Move], scores: list[Any]) -> _Move:
        """The move of lowest score, ties broken by the secret's order (drawn only for them)."""
        best = min(scores)
        tied = [move for move, score in zip(moves, scores, strict=True) if score == best]
        if len(tied) == 1:
            return tied[0]
        for move in tied:
            if move.order is None:
                move.order = self._digest(*move.key)
        return min(tied, key=lambda move: move.order or b"")

    def protect(self, cell: Cell) -> None:
        """Choose moves that let ``cell`` go down to 0 and up to k−1; hide what they touch."""
        value = self.result.values[cell]
        need = self.k - 1 - value
        values = self.values
        lower_budget: dict[Finest, int] = {}
        raise_budget: dict[Finest, int] = {}
        raised = 0
        leaves = sorted(self.under[cell], key=lambda f: self._digest("leaf", f))
        options = {finest: self._candidates(cell, finest) for finest in leaves}

        def capacity(move: _Move) -> int:
            return min([raise_budget.get(f, values[f]) for f in move.downs]) if move.downs else INFINITY

        for finest in leaves:
            amount = values[finest]
            if lower_budget:
                usable = [
                    move
                    for move in options[finest]
                    if all(lower_budget.get(f, values[f]) >= amount for f in move.ups if f != finest)
                ]
            else:  # nothing lowered yet: whether each move fits was known when it was made
                usable = [move for move in options[finest] if move.fits]
            # The cheapest move, then the one raising the cell most, then the secret's order.
            weight = self.open_weight.__getitem__
            costs = [sum(map(weight, m.ids)) for m in usable]
            cheapest = min(costs)
            tied = [m for m, cost in zip(usable, costs, strict=True) if cost == cheapest]
            room = max(need - raised, 0)
            move = tied[0] if len(tied) == 1 else self._first(tied, [-min(capacity(m), room) for m in tied])
            for f in move.ups:
                if f != finest:
                    lower_budget[f] = lower_budget.get(f, values[f]) - amount
            raised += self._take(move, raise_budget, need - raised)
            self._hide(move)
        while raised < need:
            extra = [m for moves in options.values() for m in moves if capacity(m) > 0]
            wanted = need - raised
            move = self._first(extra, [self._cost(m) / min(capacity(m), wanted) for m in extra])
            raised += self._take(move, raise_budget, need - raised)
            self._hide(move)

    def _cost(self, move: _Move) -> int:
        """The weight of the cells the move would newly hide."""
        return sum(map(self.open_weight.__getitem__, move.ids))

    def _take(self, move: _Move, budget: dict[Finest, int], wanted: int) -> int:
        if wanted <= 0:
            return 0
        taken = min([wanted, *(budget.get(f, self.values[f]) for f in move.downs)])
        for f in move.downs:
            budget[f] = budget.get(f, self.values[f]) - taken
        return taken

    def _hide(self, move: _Move) -> None:
        open_weight = self.open_weight
        for number in move.ids:
            open_weight[number] = 0
        self._touched.update(move.ids)

    def run(self) -> Suppression:
        primaries = [cell for cell, value in self.result.values.items() if 0 < value < self.k]
        self.result.primaries = len(primaries)
        levels = {"week": 0, "month": 1}
        geo_rank = {"centre": 0, "departement": 1, "national": 2}
        primaries.sort(key=lambda c: (levels[self.kind[c[1]]], geo_rank[c[0][0]], c[2] == ROOT, self._digest(c)))
        for cell in primaries:
            self.protect(cell)
        for number in self._touched:
            cell = self._cell(number)
            (self.result.hidden if self.kind[cell[1]] in ("week", "month") else self.result.forced).add(cell)
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
