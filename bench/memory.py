"""Memory of the shell and its Chromium processes, and a per-session trace of what grows.

``BENCH_TRACE=FILE python -m bench --only shell`` makes the soak write one JSON line per
session to FILE: the RSS of each process of the shell's tree (by Chromium process type), the
Python heap (tracemalloc) and the number of live Python objects of each type that grew since the
first traced session, so that a leak shows which process and which objects grow.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import tracemalloc
from pathlib import Path
from typing import TextIO


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except OSError:
            continue
    return found


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _kind(pid: int, root: int) -> str:
    """``shell`` for the Python process, else Chromium's ``--type=`` (renderer, gpu-process, zygote…)."""
    if pid == root:
        return "shell"
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
    except OSError:
        return "gone"
    for arg in args:
        if arg.startswith(b"--type="):
            return arg[len(b"--type=") :].decode(errors="replace")
    return Path(args[0].decode(errors="replace")).name if args and args[0] else "?"


def rss_mib(pid: int) -> float:
    """RSS of a process and all its descendants (the QtWebEngine helpers), in MiB."""
    return sum(_rss_kib(p) for p in _descendants(pid)) / 1024


def rss_by_kind(pid: int) -> dict[str, float]:
    """MiB per kind of process in the tree (several renderers add up under ``renderer``)."""
    totals: dict[str, float] = collections.defaultdict(float)
    counts: dict[str, int] = collections.Counter()
    for process in _descendants(pid):
        kind = _kind(process, pid)
        totals[kind] += _rss_kib(process) / 1024
        counts[kind] += 1
    return {f"{kind}×{counts[kind]}": round(mib, 1) for kind, mib in sorted(totals.items())}


class SoakTrace:
    """One JSON line per soak session: RSS per process kind, Python heap, object types that grew."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._types: collections.Counter[str] | None = None
        tracemalloc.start(10)
        self._snapshot: tracemalloc.Snapshot | None = None

    @classmethod
    def from_environment(cls) -> SoakTrace | None:
        target = os.environ.get("BENCH_TRACE")
        return cls(open(target, "w", encoding="utf-8")) if target else None

    def session(self, n: int) -> None:
        gc.collect()
        types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        current, _peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        line: dict[str, object] = {
            "session": n,
            "rss_mib": rss_by_kind(os.getpid()),
            "python_heap_kib": round(current / 1024, 1),
        }
        if self._types is None or self._snapshot is None:
            self._types, self._snapshot = types, snapshot
        else:
            grown = {k: v - self._types.get(k, 0) for k, v in types.items() if v > self._types.get(k, 0)}
            line["objects_grown"] = dict(sorted(grown.items(), key=lambda kv: -kv[1])[:15])
            top = snapshot.compare_to(self._snapshot, "lineno")[:5]
            line["heap_grown"] = [f"{s.size_diff // 1024:+} KiB {s.traceback[0]}" for s in top if s.size_diff > 0]
        self._out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._out.flush()
