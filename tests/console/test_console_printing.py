"""The console's Impressions page against a real cupsd with cups-pdf: cancel a held job, staff
print a PDF and a PNG, a file that is not what its name says, a dead CUPS."""

from __future__ import annotations

import io
import json
import socket
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

from tests.agentkit import log_in
from tests.axekit import serious_violations
from tests.console.conftest import ADMIN, STAFF, ConsoleServer, audit_rows, form_token
from tests.devicekit import PdfQueue, free_port, make_pdf, page_count, wait_for

pytestmark = [pytest.mark.console, pytest.mark.cups, pytest.mark.devices]
SCREENSHOT = Path(__file__).resolve().parents[2] / "build" / "screenshots" / "console-printing.png"


def staff_page(server: ConsoleServer) -> tuple[object, str]:
    staff = server.login(*STAFF)
    return staff, staff.get(server.url + "/impressions").text


def leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("borne-staff-print-*")}


def test_the_page_needs_a_login_and_a_form_token(console_server: ConsoleServer) -> None:
    anonymous = console_server.client()
    answer = anonymous.get(console_server.url + "/impressions", allow_redirects=False)
    assert (answer.status_code, answer.headers.get("location")) == (303, "/connexion")
    console_server.console.context.cups_server = f"127.0.0.1:{free_port()}"
    staff, page = staff_page(console_server)
    assert ">Impressions</a>" in page
    refused = staff.post(console_server.url + "/impressions/1/annuler", data={})  # type: ignore[attr-defined]
    assert refused.status_code == 403


def test_a_dead_cups_is_said_in_french_not_an_error(console_server: ConsoleServer) -> None:
    console_server.console.context.cups_server = f"127.0.0.1:{free_port()}"
    staff, page = staff_page(console_server)
    assert "Le serveur d&#39;impression (CUPS) ne répond pas" in page
    assert "Aucune imprimante disponible pour l'instant." in page
    answer = staff.post(  # type: ignore[attr-defined]
        console_server.url + "/impressions/7/liberer", data={"csrf": form_token(page)}
    )
    assert answer.status_code == 503 and "ne répond pas" in answer.text


def test_a_hung_cups_does_not_hold_the_page(console_server: ConsoleServer) -> None:
    """A server that takes the connection and never answers: the page says so after the
    timeout, and the next view does not start a second call behind the hung one."""
    listener = socket.create_server(("127.0.0.1", 0))
    console_server.console.context.cups_server = f"127.0.0.1:{listener.getsockname()[1]}"
    views: list[tuple[str, float]] = []
    try:
        staff = console_server.login(*STAFF)
        for _ in range(2):
            started = time.monotonic()
            answer = staff.get(console_server.url + "/impressions", timeout=30)
            assert answer.status_code == 200
            views.append((answer.text, time.monotonic() - started))
    finally:
        listener.close()
    (first, took), (second, took_again) = views
    assert "ne répond pas (rien après 4 s)" in first and took < 8
    assert "la demande précédente attend encore" in second and took_again < 2


def test_staff_cancel_a_held_job(console_server: ConsoleServer, pdf_queue: PdfQueue, tmp_path: Path) -> None:
    cupsd = pdf_queue.cupsd
    console_server.console.context.cups_server = cupsd.server
    pdf = pdf_queue.output.parent / f"{pdf_queue.name}-held.pdf"
    pdf.write_bytes(make_pdf(2))
    try:
        hold = {"job-hold-until": "indefinite"}
        number = cupsd.connection().printFile(pdf_queue.name, str(pdf), "CV de Mme Martin", hold)
    finally:
        pdf.unlink()
    staff, page = staff_page(console_server)
    assert "Retenu pour l&#39;accueil" in page and "CV de Mme Martin" not in page
    answer = staff.post(  # type: ignore[attr-defined]
        f"{console_server.url}/impressions/{number}/annuler", data={"csrf": form_token(page)}, allow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/impressions?avis=annulee")
    assert number not in cupsd.jobs("all")  # cancelled and purged with its document
    assert pdf_queue.outputs() == []
    assert audit_rows(console_server, "print_cancel") == [(STAFF[0], f"job {number}")]


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (600, 400), "navy").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "mime", "pages"),
    [("attestation.pdf", make_pdf(2), "application/pdf", 2), ("photo.png", png(), "image/png", 1)],
)
def test_staff_print_a_pdf_or_an_image(
    console_server: ConsoleServer, pdf_queue: PdfQueue, name: str, content: bytes, mime: str, pages: int
) -> None:
    cupsd = pdf_queue.cupsd
    console_server.console.context.cups_server = cupsd.server
    staff, page = staff_page(console_server)
    assert f'<option value="{pdf_queue.name}"' in page
    before = leftovers()
    answer = staff.post(  # type: ignore[attr-defined]
        console_server.url + "/impressions/imprimer",
        data={"csrf": form_token(page), "queue": pdf_queue.name, "copies": "1"},
        files={"document": (name, content, mime)},
        allow_redirects=False,
    )
    assert (answer.status_code, answer.headers.get("location")) == (303, "/impressions?avis=envoyee"), answer.text
    assert leftovers() == before  # the uploaded file is gone from the terminal
    wait_for(lambda: cupsd.jobs("all") and not cupsd.jobs("not-completed"))
    [paper] = pdf_queue.outputs()
    assert page_count(paper) == pages
    with console_server.console.context.db() as store:
        [(data,)] = store.conn.execute("SELECT data FROM events WHERE kind = 'staff_print'").fetchall()
    assert json.loads(data) == {"pages": pages}
    [(who, target)] = audit_rows(console_server, "print_staff")
    assert who == STAFF[0] and name not in target
    listed = staff.get(console_server.url + "/impressions").text  # type: ignore[attr-defined]
    assert "Impression de l&#39;accueil" in listed and name not in listed
    assert f"l'accueil a imprimé {pages} page" in listed


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"Bonjour, ceci est un texte.\n" * 10, "ni un PDF, ni une image PNG ou JPEG"),
        (b"%PDF-1.7\nnot really a pdf", "Ce PDF est abîmé ou illisible"),
    ],
)
def test_a_file_that_is_not_what_its_name_says_is_refused_in_french(
    console_server: ConsoleServer, pdf_queue: PdfQueue, content: bytes, words: str
) -> None:
    cupsd = pdf_queue.cupsd
    console_server.console.context.cups_server = cupsd.server
    staff, page = staff_page(console_server)
    before = leftovers()
    answer = staff.post(  # type: ignore[attr-defined]
        console_server.url + "/impressions/imprimer",
        data={"csrf": form_token(page), "queue": pdf_queue.name, "copies": "1"},
        files={"document": ("lettre.pdf", content, "application/pdf")},
    )
    assert answer.status_code == 400 and words in answer.text.replace("&#39;", "'")
    assert cupsd.jobs("all") == {} and leftovers() == before


@pytest.mark.a11y
@pytest.mark.browser
def test_the_page_with_jobs_reads_well(console_server: ConsoleServer, pdf_queue: PdfQueue, browser) -> None:  # type: ignore[no-untyped-def]
    """axe-core on the page with a held, a printed and a refused job, logged in; a screenshot."""
    cupsd = pdf_queue.cupsd
    console_server.console.context.cups_server = cupsd.server
    pdf = pdf_queue.output.parent / f"{pdf_queue.name}-shot.pdf"
    pdf.write_bytes(make_pdf(2))
    try:
        conn = cupsd.connection()
        conn.printFile(pdf_queue.name, str(pdf), "Borne", {})
        wait_for(lambda: not cupsd.jobs("not-completed"))
        conn.printFile(pdf_queue.name, str(pdf), "Borne", {"job-hold-until": "indefinite"})
        conn.printFile(pdf_queue.name, str(pdf), "Borne", {"job-hold-until": "indefinite", "copies": "2"})
    finally:
        pdf.unlink()
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 820, "height": 1180}, locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    log_in(page, console_server.url, *ADMIN)
    page.goto(console_server.url + "/impressions")
    assert page.locator("tr.held").count() == 2
    violations = serious_violations(page)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    context.close()
    assert violations == [] and errors == []
