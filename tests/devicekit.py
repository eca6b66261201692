"""A private cupsd with a cups-pdf queue, for the tests and for `make run`.

``PrivateCups.start()`` writes a ServerRoot in a fresh temporary directory, starts Debian's
``cupsd`` in the foreground on a free loopback port and waits until it answers; ``stop()`` ends
it and removes everything, and the ``private_cups`` fixture calls it even when the test fails.
Queues print through Debian's cups-pdf backend into a directory of the test's choosing.

Facts this relies on (Debian 12, CUPS 2.4, cups-pdf 3.0.1):
- cupsd refuses ``User root``: filters run as ``lp``, so every directory cupsd uses must be
  traversable by ``lp`` (pytest's own tmp_path is 0700: hence a 0755 directory under /tmp).
- cups-pdf reads its settings only from ``/etc/cups``: ``cups-pdf-<name>.conf`` for a device URI
  ``cups-pdf:/<name>`` (else built-in defaults, not ``cups-pdf.conf``). Each queue gets a file
  with a unique name there, removed by ``stop()``. cups-pdf must run as root (it is a 0700
  backend): the private cupsd is started as root.
- libcups keeps its server per thread: ``connection()`` sets it for the calling thread.

``python -m tests.devicekit --queue Borne-PDF --output DIR`` runs one until SIGTERM (tools/run.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.pdfkit import text_pdf

PPD = Path("/usr/share/ppd/cups-pdf/CUPS-PDF_opt.ppd")
CUPS_PDF_CONF_DIR = Path("/etc/cups")

CUPSD_CONF = """\
Listen 127.0.0.1:{port}
LogLevel info
Browsing No
WebInterface No
DefaultAuthType None
JobRetryInterval 5
<Location />
  Order allow,deny
  Allow 127.0.0.1
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
ServerRoot {root}/etc
ServerBin {root}/lib
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
User lp
Group lp
SystemGroup root
FileDevice No
"""

CUPS_PDF_CONF = """\
Out {output}
AnonDirName {output}
Spool {root}/cups-pdf-spool
Log {root}/log
Grp root
"""


# A printer that has run out of paper, as a CUPS backend: it says so the way real backends do
# (STATE: +media-empty-error), then waits until the test "refills" it (the file in its URI).
PAPER_OUT_BACKEND = """\
#!/bin/sh
if [ $# -eq 0 ]; then echo 'direct borne-paper-out "Unknown" "Borne test printer without paper"'; exit 0; fi
refill="${DEVICE_URI#borne-paper-out:}"
echo "STATE: +media-empty-error" >&2
echo "INFO: Out of paper" >&2
while [ ! -e "$refill" ]; do sleep 0.2; done
echo "STATE: -media-empty-error" >&2
if [ $# -ge 6 ]; then cat "$6" > /dev/null; else cat > /dev/null; fi
exit 0
"""

# A printer reporting its supplies and state as CUPS backends do (``ATTR: marker-levels=…``,
# ``STATE: +media-low-report``): at each job it writes to stderr the lines of the file in its URI,
# then takes the job. cupsd keeps what it reported as the queue's attributes.
REPORTING_BACKEND = """\
#!/bin/sh
if [ $# -eq 0 ]; then echo 'direct borne-reports "Unknown" "Borne test printer reporting its supplies"'; exit 0; fi
cat "${DEVICE_URI#borne-reports:}" >&2
if [ $# -ge 6 ]; then cat "$6" > /dev/null; else cat > /dev/null; fi
exit 0
"""

# A USB printer that can be unplugged, as CUPS's usb backend behaves: with the file in its URI
# missing ("unplugged") a job makes it report ``offline-report`` and wait for the printer to come
# back ("Waiting for printer to become available"), then print. With no job, CUPS cannot know.
USB_BACKEND = """\
#!/bin/sh
if [ $# -eq 0 ]; then echo 'direct borne-usb "Unknown" "Borne test USB printer"'; exit 0; fi
plugged="${DEVICE_URI#borne-usb:}"
if [ ! -e "$plugged" ]; then
  echo "STATE: +offline-report" >&2
  echo "INFO: Waiting for printer to become available." >&2
  while [ ! -e "$plugged" ]; do sleep 0.2; done
  echo "STATE: -offline-report" >&2
fi
if [ $# -ge 6 ]; then cat "$6" > /dev/null; else cat > /dev/null; fi
exit 0
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_count(pdf: Path) -> int:
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in out.splitlines() if line.startswith("Pages:")))


def make_pdf(pages: int, text: str = "Borne") -> bytes:
    """A small valid PDF with ``pages`` pages of text (what a site's attestation looks like)."""
    return text_pdf([[f"{text} {n + 1}"] for n in range(pages)], size=24)


@dataclass
class PrivateCups:
    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    pdf_confs: list[Path] = field(default_factory=list)

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    @classmethod
    def start(cls, port: int | None = None) -> PrivateCups:
        root = Path(tempfile.mkdtemp(prefix="borne-cups-"))
        root.chmod(0o755)
        cupsd = cls(root, port or free_port())
        try:
            cupsd._launch()
        except BaseException:
            cupsd.stop()
            raise
        return cupsd

    def _launch(self) -> None:
        for sub in ("etc", "spool/tmp", "cache", "state", "log", "cups-pdf-spool"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "etc" / "cupsd.conf").write_text(CUPSD_CONF.format(port=self.port))
        (self.root / "etc" / "cups-files.conf").write_text(CUPS_FILES_CONF.format(root=self.root))
        for path in [self.root, *self.root.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        # cupsd's programs, plus one backend of our own (see PAPER_OUT_BACKEND).
        lib = self.root / "lib"
        (lib / "backend").mkdir(parents=True)
        for system in Path("/usr/lib/cups").iterdir():
            if system.name != "backend":
                (lib / system.name).symlink_to(system)
        for backend in Path("/usr/lib/cups/backend").iterdir():
            (lib / "backend" / backend.name).symlink_to(backend)
        paper_out = lib / "backend" / "borne-paper-out"
        paper_out.write_text(PAPER_OUT_BACKEND)
        paper_out.chmod(0o755)
        for name, script in (("borne-reports", REPORTING_BACKEND), ("borne-usb", USB_BACKEND)):
            (lib / "backend" / name).write_text(script)
            (lib / "backend" / name).chmod(0o755)
        etc = self.root / "etc"
        with (self.root / "log" / "cupsd.stderr").open("wb") as stderr:
            self.process = subprocess.Popen(
                ["cupsd", "-f", "-c", str(etc / "cupsd.conf"), "-s", str(etc / "cups-files.conf")],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cupsd exited with {self.process.returncode}: {self.log_tail()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"cupsd did not listen on {self.port}: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        text = ""
        for name in ("cupsd.stderr", "error_log"):
            path = self.root / "log" / name
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def connection(self) -> Any:
        import cups

        cups.setServer("127.0.0.1")
        cups.setPort(self.port)
        return cups.Connection(host="127.0.0.1", port=self.port)

    def add_pdf_queue(self, name: str, output: Path, *, default: bool = False) -> str:
        """A cups-pdf queue whose jobs land as PDF files in ``output``."""
        output.mkdir(parents=True, exist_ok=True)
        tag = f"borne-{uuid.uuid4().hex[:12]}"
        conf = CUPS_PDF_CONF_DIR / f"cups-pdf-{tag}.conf"
        self.pdf_confs.append(conf)
        conf.write_text(CUPS_PDF_CONF.format(output=output, root=self.root))
        conn = self.connection()
        conn.addPrinter(
            name, filename=str(self._manual_copies_ppd()), device=f"cups-pdf:/{tag}", info="Borne test PDF printer"
        )
        conn.enablePrinter(name)
        conn.acceptJobs(name)
        if default:
            conn.setDefault(name)
        return name

    def _manual_copies_ppd(self) -> Path:
        """cups-pdf's PPD with ``*cupsManualCopies: True``: CUPS's filters repeat the pages of each
        copy, so the PDF a job leaves has one page per sheet a printer would give. With the PPD as
        shipped, copies are left to the "printer" (PostScript's NumCopies), which Ghostscript
        ignores: two copies of two pages came out as a two-page file."""
        ppd = self.root / "cups-pdf-manual-copies.ppd"
        if not ppd.exists():
            lines = PPD.read_text(encoding="latin-1").splitlines(keepends=True)
            at = next(n for n, line in enumerate(lines) if line.startswith("*ModelName:")) + 1
            ppd.write_text("".join([*lines[:at], "*cupsManualCopies: True\n", *lines[at:]]), encoding="latin-1")
        return ppd

    def add_paper_out_queue(self, name: str) -> Path:
        """A queue whose printer has no paper until the returned file exists."""
        refill = self.root / "state" / f"refill-{uuid.uuid4().hex[:8]}"
        conn = self.connection()
        conn.addPrinter(name, filename=str(PPD), device=f"borne-paper-out:{refill}", info="Borne test: no paper")
        conn.enablePrinter(name)
        conn.acceptJobs(name)
        return refill

    def add_reporting_queue(self, name: str) -> Path:
        """A queue whose printer reports, at each job, the ``ATTR:``/``STATE:`` lines written
        in the returned file (see REPORTING_BACKEND)."""
        report = self.root / "state" / f"report-{uuid.uuid4().hex[:8]}"
        report.write_text("")
        report.chmod(0o644)
        conn = self.connection()
        conn.addPrinter(name, filename=str(PPD), device=f"borne-reports:{report}", info="Borne test: supplies")
        conn.enablePrinter(name)
        conn.acceptJobs(name)
        return report

    def add_usb_queue(self, name: str) -> Path:
        """A queue whose printer is plugged in while the returned file exists (see USB_BACKEND)."""
        plugged = self.root / "state" / f"plugged-{uuid.uuid4().hex[:8]}"
        plugged.touch()
        conn = self.connection()
        conn.addPrinter(name, filename=str(PPD), device=f"borne-usb:{plugged}", info="Borne test: USB")
        conn.enablePrinter(name)
        conn.acceptJobs(name)
        return plugged

    def jobs(self, which: str = "all") -> dict[int, dict[str, Any]]:
        return dict(self.connection().getJobs(which_jobs=which))

    def spool_files(self) -> list[Path]:
        """Documents in cupsd's spool (``d<job>-<n>`` files): the residents' documents."""
        return sorted(p for p in (self.root / "spool").iterdir() if p.name.startswith("d"))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        for conf in self.pdf_confs:
            conf.unlink(missing_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def wait_for(predicate: Any, timeout: float = 20, interval: float = 0.1) -> Any:
    """Poll ``predicate`` until it returns something true; its value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout} s: {predicate}")
        time.sleep(interval)


@pytest.fixture(scope="session")
def private_cupsd() -> Iterator[PrivateCups]:
    """One cupsd for the whole run (starting one takes about a second); stopped at the end."""
    cupsd = PrivateCups.start()
    try:
        yield cupsd
    finally:
        cupsd.stop()


@dataclass
class PdfQueue:
    cupsd: PrivateCups
    name: str
    output: Path

    def outputs(self) -> list[Path]:
        return sorted(self.output.glob("*.pdf"))


@pytest.fixture
def pdf_queue(private_cupsd: PrivateCups) -> Iterator[PdfQueue]:
    """A fresh cups-pdf queue (the default destination) on the shared cupsd; deleted after the test
    with every job it had."""
    output = Path(tempfile.mkdtemp(prefix="borne-cups-pdf-"))
    name = f"Borne-PDF-{uuid.uuid4().hex[:8]}"
    try:
        private_cupsd.add_pdf_queue(name, output, default=True)
        yield PdfQueue(private_cupsd, name, output)
    finally:
        try:
            conn = private_cupsd.connection()
            conn.cancelAllJobs(name=name, purge_jobs=True)
            conn.deletePrinter(name)
        except Exception:  # the test may have broken the server on purpose
            pass
        shutil.rmtree(output, ignore_errors=True)


def main() -> None:
    """`make run`: a private cupsd with one cups-pdf queue until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--queue", default="Borne-PDF")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file", type=Path, help="write CUPS_SERVER here once the queue is ready")
    args = parser.parse_args()
    stopping: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: stopping.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _frame: stopping.append(signum))
    cupsd = PrivateCups.start(args.port or None)
    try:
        cupsd.add_pdf_queue(args.queue, args.output.resolve(), default=True)
        if args.ready_file:
            args.ready_file.write_text(cupsd.server)
        print(f"cupsd on {cupsd.server}: queue {args.queue}, printed PDFs in {args.output}", flush=True)
        while not stopping and cupsd.process is not None and cupsd.process.poll() is None:
            time.sleep(0.2)
    finally:
        cupsd.stop()
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)


if __name__ == "__main__":
    os.umask(0o022)
    main()
