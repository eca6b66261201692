"""Device calls off the GUI thread (kiosk/shell/operations.py) and the print tracker on top of it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject, QThread, QTimer

from kiosk.core.devices import DeviceFailure, JobState, PrintOptions
from kiosk.devices.fakes import FakePrinter
from kiosk.shell import operations
from kiosk.shell.operations import Operation
from kiosk.shell.printing import PrintTracker

pytestmark = [pytest.mark.shell, pytest.mark.devices]


def test_the_call_runs_in_a_worker_and_the_answer_on_the_gui_thread(qtbot, qapp) -> None:  # type: ignore[no-untyped-def]
    receiver = QObject()
    seen: dict[str, object] = {}

    def call() -> int:
        seen["worker"] = QThread.currentThread()
        return 42

    def answer(value: int) -> None:
        seen["value"], seen["answer_thread"] = value, QThread.currentThread()

    op = Operation(receiver, call).success(answer).run()
    assert "value" not in seen  # never inside run(): always later, from the event loop
    qtbot.waitUntil(lambda: op.done)
    assert seen["value"] == 42
    assert seen["answer_thread"] is qapp.thread() and seen["worker"] is not qapp.thread()
    assert operations.pending() == 0


def test_an_exception_in_the_worker_is_delivered_as_a_failure(qtbot) -> None:  # type: ignore[no-untyped-def]
    receiver = QObject()
    failures: list[Exception] = []
    successes: list[object] = []

    def broken() -> None:
        raise OSError("printer cable pulled")

    op = Operation(receiver, broken).success(successes.append).failure(failures.append).run()
    qtbot.waitUntil(lambda: op.done)
    assert successes == [] and len(failures) == 1
    assert isinstance(failures[0], OSError) and str(failures[0]) == "printer cable pulled"


def test_a_failure_without_a_handler_is_logged_not_raised(qtbot, caplog) -> None:  # type: ignore[no-untyped-def]
    receiver = QObject()
    with caplog.at_level(logging.WARNING, logger="kiosk.shell.operations"):
        op = Operation(receiver, lambda: 1 / 0, name="divide").run()
        qtbot.waitUntil(lambda: op.done)
    [record] = [r for r in caplog.records if r.getMessage() == "operation.failed"]
    assert record.operation == "divide" and record.exc_info[0] is ZeroDivisionError  # type: ignore[attr-defined]


def test_an_answer_for_a_destroyed_receiver_is_dropped(qtbot) -> None:  # type: ignore[no-untyped-def]
    receiver = QObject()
    release = threading.Event()
    answers: list[object] = []

    def slow() -> str:
        release.wait(10)
        return "job 12"

    op = Operation(receiver, slow).success(answers.append).failure(answers.append).run()
    shiboken6.delete(receiver)  # the session ended: its widgets are gone
    assert not shiboken6.isValid(receiver)
    release.set()
    qtbot.waitUntil(lambda: op.done)
    qtbot.wait(20)
    assert answers == []


def test_a_callback_that_raises_does_not_break_the_next_answers(qtbot, caplog) -> None:  # type: ignore[no-untyped-def]
    receiver = QObject()
    answers: list[int] = []

    def bad(_value: int) -> None:
        raise RuntimeError("bug in a callback")

    with caplog.at_level(logging.ERROR, logger="kiosk.shell.operations"):
        first = Operation(receiver, lambda: 1).success(bad).run()
        second = Operation(receiver, lambda: 2).success(answers.append).run()
        qtbot.waitUntil(lambda: first.done and second.done)
    assert answers == [2]
    assert any(r.getMessage() == "operation.callback_failed" for r in caplog.records)


def test_the_gui_keeps_running_while_a_device_call_blocks(qtbot) -> None:  # type: ignore[no-untyped-def]
    receiver = QObject()
    release = threading.Event()
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    op = Operation(receiver, lambda: release.wait(10)).run()
    qtbot.waitUntil(lambda: len(ticks) >= 5)  # the event loop turns while the worker waits
    assert not op.done
    release.set()
    qtbot.waitUntil(lambda: op.done)
    timer.stop()


def test_operations_start_only_from_the_gui_thread(qapp) -> None:  # type: ignore[no-untyped-def]
    receiver = QObject()
    errors: list[Exception] = []

    def elsewhere() -> None:
        try:
            Operation(receiver, lambda: None).run()
        except RuntimeError as error:
            errors.append(error)

    thread = threading.Thread(target=elsewhere)
    thread.start()
    thread.join()
    assert len(errors) == 1 and "GUI thread" in str(errors[0])


# -- the print tracker, on the fake printer ----------------------------------------------------


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"%PDF-1.4 test")
    return path


def record(tracker: PrintTracker) -> list[tuple[str, ...]]:
    seen: list[tuple[str, ...]] = []
    tracker.printed.connect(lambda job, pages: seen.append(("printed", job, str(pages))))
    tracker.held.connect(lambda job, pages: seen.append(("held", job, str(pages))))
    tracker.problem.connect(lambda job, reason: seen.append(("problem", job, reason)))
    tracker.progress.connect(lambda job, state, reason: seen.append(("progress", job, state, reason)))
    return seen


def test_printed_only_once_the_printer_says_done(qtbot, document) -> None:  # type: ignore[no-untyped-def]
    printer = FakePrinter(finish_at_once=False)
    tracker = PrintTracker(printer, poll_ms=20)
    seen = record(tracker)
    tracker.submit(document, 2)
    qtbot.waitUntil(lambda: bool(printer.jobs))
    [job] = printer.jobs
    printer.wait_on(job, DeviceFailure.PAPER_OUT)
    qtbot.waitUntil(lambda: ("problem", job, "paper_out") in seen)
    qtbot.wait(100)  # several polls while it waits: the problem is reported once
    assert [s for s in seen if s[0] == "problem"] == [("problem", job, "paper_out")]
    assert not [s for s in seen if s[0] == "printed"] and tracker.busy
    printer.finish(job)
    qtbot.waitUntil(lambda: ("printed", job, "2") in seen)
    assert ("progress", job, "done", "") in seen and not tracker.busy


def test_a_refused_job_is_a_problem_and_no_printer_is_only_shown(qtbot, document) -> None:  # type: ignore[no-untyped-def]
    printer = FakePrinter(unavailable=DeviceFailure.OFFLINE)
    tracker = PrintTracker(printer, poll_ms=20)
    seen = record(tracker)
    tracker.submit(document, 1)
    qtbot.waitUntil(lambda: not tracker.busy)
    assert seen == [("problem", "", "offline"), ("progress", "", "failed", "offline")]
    seen.clear()
    printer.unavailable = DeviceFailure.ABSENT
    tracker.submit(document, 1)
    qtbot.waitUntil(lambda: not tracker.busy)
    assert seen == [("progress", "", "failed", "absent")]  # a fact about the terminal, not a device error


def test_held_jobs_and_jobs_that_never_finish(qtbot, document) -> None:  # type: ignore[no-untyped-def]
    printer = FakePrinter(finish_at_once=False)
    tracker = PrintTracker(printer, poll_ms=10, max_polls=3)
    seen = record(tracker)
    tracker.submit(document, 4, options=PrintOptions(hold=True))
    qtbot.waitUntil(lambda: any(s[0] == "held" for s in seen))
    tracker.submit(document, 1)
    qtbot.waitUntil(lambda: any(s[2:3] == ("timed_out",) for s in seen if s[0] == "progress"))
    assert any(s[0] == "problem" and s[2] == "timed_out" for s in seen)
    assert not tracker.busy


def test_cancel_all_purges_every_job_of_the_session_even_late_ones(qtbot, document) -> None:  # type: ignore[no-untyped-def]
    printer = FakePrinter(finish_at_once=False)
    tracker = PrintTracker(printer, poll_ms=20)
    seen = record(tracker)
    tracker.submit(document, 1)
    qtbot.waitUntil(lambda: len(printer.jobs) == 1)
    [first] = printer.jobs
    printer.finish(first)
    qtbot.waitUntil(lambda: ("printed", first, "1") in seen)
    tracker.submit(document, 1)
    qtbot.waitUntil(lambda: len(printer.jobs) == 2 and tracker.busy)
    tracker.submit(document, 1)  # its answer arrives after the wipe
    tracker.cancel_all()
    qtbot.waitUntil(lambda: len(printer.purged) == 3)
    assert printer.jobs == {} and first in printer.purged
    assert not tracker.busy
    count = len(seen)
    qtbot.wait(100)
    assert len(seen) == count  # nothing more is said about the last session's jobs
    assert all(s[2] != JobState.DONE for s in seen[count:])
