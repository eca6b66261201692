"""The calls section: a call the shell opens reaches the console live; staff actions move it."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
import requests

from kiosk.core.mediation.calls import CallQueue, CallState
from kiosk.core.mediation_config import MediatorSettings
from kiosk.core.ports import SystemClock
from kiosk.core.store import Role, Store, open_store
from sync.vocabulary import Category
from tests.console.conftest import STAFF, ConsoleServer, form_token

pytestmark = pytest.mark.console


@pytest.fixture
def shell_queue(console_server: ConsoleServer) -> Iterator[CallQueue]:
    """The queue as the shell has it: its own connection, which never waits for a lock."""
    store: Store = open_store(console_server.db_path, Role.SHELL)
    try:
        yield CallQueue(store, MediatorSettings(), ZoneInfo("Europe/Paris"), SystemClock())
    finally:
        store.close()


def read_events(response: requests.Response, into: queue.Queue[tuple[str, dict[str, object]]]) -> None:
    event = ""
    try:
        for line in response.iter_lines(decode_unicode=True):
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                into.put((event, json.loads(line[len("data: ") :])))
    except (requests.RequestException, AttributeError, ValueError):
        pass  # the stream was closed by the test


def next_calls(events: queue.Queue[tuple[str, dict[str, object]]], until: float) -> dict[str, object] | None:
    while (left := until - time.monotonic()) > 0:
        try:
            kind, data = events.get(timeout=left)
        except queue.Empty:
            return None
        if kind == "calls":
            return data
    return None


def test_a_call_opened_by_the_shell_appears_on_the_live_stream_within_2_s(
    console_server: ConsoleServer, shell_queue: CallQueue
) -> None:
    client = console_server.login(*STAFF)
    stream = client.get(console_server.url + "/api/appels/flux", stream=True, timeout=10)
    assert stream.status_code == 200 and stream.headers["content-type"].startswith("text/event-stream")
    events: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    reader = threading.Thread(target=read_events, args=(stream, events), daemon=True)
    reader.start()
    try:
        first = next_calls(events, time.monotonic() + 5)
        assert first is not None and first["waiting"] == [] and "Personne n'attend." in str(first["html"])
        call = shell_queue.open(Category.LOGEMENT, "Amina", session="s1")
        opened = time.monotonic()
        shown = next_calls(events, opened + 2.0)
        assert shown is not None, "the new call did not reach the console within 2 s"
        html = str(shown["html"])
        assert shown["waiting"] == [call.id]
        assert "N° 1" in html and "Amina" in html and "Logement" in html and "depuis moins d&#39;une minute" in html
        assert f'action="/appels/{call.id}/prendre"' in html
        shell_queue.cancel(call.id)  # the resident gave up: the console follows too
        gone = next_calls(events, time.monotonic() + 2.0)
        assert gone is not None and gone["waiting"] == []
    finally:
        stream.close()


def test_take_and_finish_move_the_call_and_are_audited(console_server: ConsoleServer, shell_queue: CallQueue) -> None:
    call = shell_queue.open(None, "Jeanne", session="s2")
    client = console_server.login(*STAFF)
    page = client.get(console_server.url + "/appels")
    assert "Je ne sais pas" in page.text and "Jeanne" in page.text and "(1) Appel en attente" in page.text
    token = form_token(page.text)
    taken = client.post(console_server.url + f"/appels/{call.id}/prendre", data={"csrf": token})
    assert taken.status_code == 200 and "Appel pris" in taken.text
    assert shell_queue.get(call.id).state is CallState.TAKEN  # type: ignore[union-attr]
    done = client.post(console_server.url + f"/appels/{call.id}/terminer", data={"csrf": token})
    assert done.status_code == 200 and "Appel terminé." in done.text
    assert shell_queue.get(call.id).state is CallState.DONE  # type: ignore[union-attr]
    again = client.post(console_server.url + f"/appels/{call.id}/terminer", data={"csrf": token})
    assert "Cet appel a changé entre-temps" in again.text
    audit = shell_queue.store.conn.execute(
        "SELECT account, action, target FROM console_audit WHERE action LIKE 'call_%' ORDER BY id"
    ).fetchall()
    assert [(who, what) for who, what, _ in audit] == [(STAFF[0], "call_take"), (STAFF[0], "call_finish")]
    assert all(target.startswith(f"call {call.id} ") and "Jeanne" not in target for _, _, target in audit)


def test_the_presence_toggle_is_what_the_shell_reads(console_server: ConsoleServer, shell_queue: CallQueue) -> None:
    from kiosk.core.mediation.presence import staff_present

    client = console_server.login(*STAFF)
    token = form_token(client.get(console_server.url + "/appels").text)
    assert not staff_present(shell_queue.store)
    page = client.post(console_server.url + "/presence", data={"present": "oui", "csrf": token})
    assert "Vous êtes indiqué <strong>présent</strong>" in page.text and staff_present(shell_queue.store)
    assert page.text.count("indiqué") == 1  # the card says it, once
    client.post(console_server.url + "/presence", data={"present": "non", "csrf": token})
    assert not staff_present(shell_queue.store)
    targets = shell_queue.store.conn.execute(
        "SELECT target FROM console_audit WHERE action = 'presence' ORDER BY id"
    ).fetchall()
    assert targets == [("present",), ("absent",)]


def test_the_live_stream_ends_when_its_login_does(console_server: ConsoleServer) -> None:
    client = console_server.login(*STAFF)
    token = form_token(client.get(console_server.url + "/appels").text)
    stream = client.get(console_server.url + "/api/appels/flux", stream=True, timeout=10)
    events: queue.Queue[tuple[str, dict[str, object]]] = queue.Queue()
    threading.Thread(target=read_events, args=(stream, events), daemon=True).start()
    try:
        assert next_calls(events, time.monotonic() + 5) is not None
        client.post(console_server.url + "/deconnexion", data={"csrf": token})
        deadline = time.monotonic() + 2.0
        kinds = []
        while time.monotonic() < deadline and "ended" not in kinds:
            try:
                kinds.append(events.get(timeout=max(0.01, deadline - time.monotonic()))[0])
            except queue.Empty:
                break
        assert "ended" in kinds
    finally:
        stream.close()
