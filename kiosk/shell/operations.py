"""Slow calls (printers, scanners, disk) off the GUI thread, their results back on it.

One way, every time: ``Operation(receiver, call).success(...).failure(...).run()``. ``call``
runs in a worker thread of the device pool; ``success(result)`` or ``failure(exception)`` then
runs on the GUI thread, in the event loop, never inside ``run()``. The receiver is the widget
the answer is for: if it is destroyed before the answer comes (the session ended), the answer
is dropped, so no callback ever touches a deleted widget.

    Operation(self, lambda: printer.submit(path, title="Borne")).success(self._follow).failure(self._failed).run()

Workers never touch Qt widgets; a call gets only plain values and returns plain values.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QThreadPool, Signal

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_WORKERS = 4  # a slow printer must not hold up the scanner (or the next poll)


class _Relay(QObject):
    """Lives on the GUI thread; workers emit on it, Qt queues the delivery to that thread."""

    finished = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def _deliver(self, operation: object) -> None:
        if isinstance(operation, Operation):
            operation._deliver()


_relay: _Relay | None = None
_pool: QThreadPool | None = None
_running: set[Operation[Any]] = set()  # kept alive until delivered


def _setup() -> tuple[_Relay, QThreadPool]:
    global _relay, _pool
    app = QCoreApplication.instance()
    if app is None or QThread.currentThread() is not app.thread():
        raise RuntimeError("operations are started from the GUI thread of a running QApplication")
    if _relay is None or _pool is None:
        _relay = _Relay()
        _relay.moveToThread(app.thread())
        _pool = QThreadPool()
        _pool.setMaxThreadCount(MAX_WORKERS)
    return _relay, _pool


class Operation(Generic[T]):
    """One call off the GUI thread, answered on it (see the module's docstring)."""

    def __init__(self, receiver: QObject, call: Callable[[], T], *, name: str = "") -> None:
        self.receiver = receiver
        self.name = name or getattr(call, "__qualname__", "operation")
        self._call = call
        self._on_success: Callable[[T], None] | None = None
        self._on_failure: Callable[[Exception], None] | None = None
        self._result: T | None = None
        self._error: Exception | None = None
        self._discarded = False
        self.started = False
        self.done = False  # the answer was delivered (or dropped)

    def success(self, callback: Callable[[T], None]) -> Operation[T]:
        self._on_success = callback
        return self

    def failure(self, callback: Callable[[Exception], None]) -> Operation[T]:
        """Without one, a failure is logged (with its traceback) and nothing else happens."""
        self._on_failure = callback
        return self

    def run(self) -> Operation[T]:
        if self.started:
            raise RuntimeError(f"{self.name} was already run")
        relay, pool = _setup()
        self.started = True
        _running.add(self)

        def work() -> None:
            try:
                self._result = self._call()
            except Exception as error:  # delivered as a failure, never lost in the worker
                self._error = error
            relay.finished.emit(self)

        pool.start(work)
        return self

    def discard(self) -> None:
        """Drop the answer when it comes (the call itself still runs to its end)."""
        self._discarded = True

    def _deliver(self) -> None:
        _running.discard(self)
        self.done = True
        if self._discarded or not shiboken6.isValid(self.receiver):
            log.debug("operation.dropped", extra={"operation": self.name})
            return
        try:
            if self._error is not None:
                if self._on_failure is None:
                    log.warning("operation.failed", extra={"operation": self.name}, exc_info=self._error)
                else:
                    self._on_failure(self._error)
            elif self._on_success is not None:
                self._on_success(self._result)  # type: ignore[arg-type]
        except Exception:
            # A bug in a callback must not take the event loop down with it.
            log.exception("operation.callback_failed", extra={"operation": self.name})


def pending() -> int:
    """Operations started and not yet answered."""
    return len(_running)


def wait_for_workers(timeout_ms: int) -> bool:
    """Let running calls finish (at shutdown: a cancel on its way to the printer); True if all did."""
    return True if _pool is None else bool(_pool.waitForDone(timeout_ms))
