"""The linear-programming audit of published figures (as τ-ARGUS and sdcTable do it).

Unknowns: the true finest counts (≥ 0, relaxed to reals). Equalities: every published figure,
zeros included. For each hidden figure, the smallest and the largest value the unknowns allow:
the protection interval. A hidden figure is *pinned* when both are equal; a small one (1..k−1)
is *protected* when the interval covers 1..k−1.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix

EPS = 1e-6


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def intervals(
    members: Mapping[Hashable, Iterable[int]], published: Mapping[Hashable, int | None], unknowns: int
) -> dict[Hashable, Interval]:
    """``members[cell]``: indexes of the finest unknowns a published cell sums; ``published[cell]``:
    its value, ``None`` when hidden. Returns the protection interval of every hidden cell."""
    rows, cols, rhs = [], [], []
    hidden = []
    for cell, value in published.items():
        if value is None:
            hidden.append(cell)
            continue
        row = len(rhs)
        for index in members[cell]:
            rows.append(row)
            cols.append(index)
        rhs.append(float(value))
    a_eq = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(rhs), unknowns)) if rhs else None
    b_eq = np.array(rhs) if rhs else None
    out: dict[Hashable, Interval] = {}
    for cell in hidden:
        objective = np.zeros(unknowns)
        for index in members[cell]:
            objective[index] = 1.0
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0, f"the published figures are inconsistent: {low.message}"
        upper = float("inf") if high.status == 3 else -high.fun
        assert high.status in (0, 3), high.message
        out[cell] = Interval(low.fun, upper)
    return out
