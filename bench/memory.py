"""Memory of the shell and its Chromium processes, and a per-session trace of what grows.

``BENCH_TRACE=FILE python -m bench --only shell`` makes the soak write one JSON line per
session to FILE: the RSS of each kind of process of the shell's tree (by Chromium process type,
with their number), and every ``PYTHON_EVERY`` sessions the Python heap (tracemalloc) and the
live Python objects of each type that grew since the first traced session, so that a leak
shows which process and which objects grow.
"""

from __future__ import annotations

import collections
import gc
import json
import os
import tracemalloc
from pathlib import Path
from typing import TextIO


def _tree(pid: int) -> dict[int, int]:
    """Each process of the tree under ``pid`` (itself included) → its parent."""
    found, todo = {pid: 0}, [pid]
    while todo:
        current = todo.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    for child in children.read().split():
                        found[int(child)] = current
                        todo.append(int(child))
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


def _type(pid: int) -> str:
    """Chromium's ``--type=`` of a process (zygote, renderer, gpu-process, utility…)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = handle.read().split(b"\0")
    except OSError:
        return "gone"
    for arg in args:
        if arg.startswith(b"--type="):
            return arg[len(b"--type=") :].decode(errors="replace")
    return Path(args[0].decode(errors="replace")).name if args and args[0] else "?"


def _kind(pid: int, parent: int, root: int, names: dict[int, str]) -> str:
    """``shell`` for the Python process; a zygote's child is a renderer (it keeps its cmdline),
    named after the page it renders when ``names`` knows it (``renderer:lobby``)."""
    if pid == root:
        return "shell"
    kind = _type(pid)
    if kind == "zygote" and _type(parent) == "zygote":
        return f"renderer:{names.get(pid, 'other')}"
    return kind


def rss_mib(pid: int) -> float:
    """RSS of a process and all its descendants (the QtWebEngine helpers), in MiB."""
    return sum(_rss_kib(p) for p in _tree(pid)) / 1024


def rss_by_kind(pid: int, names: dict[int, str] | None = None) -> dict[str, float]:
    """MiB per kind of process in the tree (several renderers add up under ``renderer:other``)."""
    totals: dict[str, float] = collections.defaultdict(float)
    counts: dict[str, int] = collections.Counter()
    for process, parent in _tree(pid).items():
        kind = _kind(process, parent, pid, names or {})
        totals[kind] += _rss_kib(process) / 1024
        counts[kind] += 1
    return {f"{kind}×{counts[kind]}": round(mib, 1) for kind, mib in sorted(totals.items())}


PYTHON_EVERY = 20


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

    def session(self, n: int, names: dict[int, str] | None = None) -> None:
        """After session ``n``; ``names``: renderer pids → what they render (the lobby…)."""
        line: dict[str, object] = {"session": n, "rss_mib": rss_by_kind(os.getpid(), names)}
        if n % PYTHON_EVERY == 0:
            line.update(self._python())
        self._out.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._out.flush()

    def _python(self) -> dict[str, object]:
        gc.collect()
        types = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
        current, _peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        line: dict[str, object] = {"python_heap_kib": round(current / 1024, 1)}
        if self._types is None or self._snapshot is None:
            self._types, self._snapshot = types, snapshot
        else:
            grown = {k: v - self._types.get(k, 0) for k, v in types.items() if v > self._types.get(k, 0)}
            line["objects_grown"] = dict(sorted(grown.items(), key=lambda kv: -kv[1])[:15])
            top = snapshot.compare_to(self._snapshot, "lineno")[:5]
            line["heap_grown"] = [f"{s.size_diff // 1024:+} KiB {s.traceback[0]}" for s in top if s.size_diff > 0]
        return line
