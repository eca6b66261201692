"""A loopback ESC/POS "printer" and a decoder of what the ticket adapter sends.

:class:`EscposCapture` listens on 127.0.0.1 like a network ticket printer (raw TCP, the
JetDirect way): it answers the real-time status requests (DLE EOT 1, 2, 4) with Epson's status
bytes for the paper it is told it has, and writes each ticket it receives to a directory, the
raw bytes (``ticket-0001.bin``) and what a person would read on the paper (``ticket-0001.txt``).
``mute=True`` makes a printer that accepts connections and never reads nor answers.

Used by the ``escpos`` tests and by ``make run`` (``python -m tests.escposkit --port 9190
--output .run/tickets``), which points the sample configuration's ticket printer at it. It is
not part of the installed kiosk.

:func:`decode` reads the commands the adapter emits and refuses anything else, so that a test
sees exactly what went out: init, code page, print modes, sizes, alignment, bold, text (in the
code page selected), line feeds, feed, the QR code's function 0x1D 0x28 0x6B, raster images,
cut, and the status requests.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

ESC, GS, DLE = 0x1B, 0x1D, 0x10
CODE_PAGES = {0: "cp437", 2: "cp850", 16: "cp1252", 19: "cp858"}
Paper = Literal["ok", "low", "out"]
PAPER_BYTES: dict[str, int] = {"ok": 0x12, "low": 0x1E, "out": 0x72}  # DLE EOT 4 (Epson)


@dataclass(frozen=True)
class Command:
    name: str  # init, codepage, mode, size, align, bold, text, feed, qr, raster, cut, status
    value: int | str | bytes = b""
    arg: int = 0  # the QR function (0x41 model … 0x50 store, 0x51 print); a raster's width


def decode(data: bytes) -> list[Command]:
    """The commands in ``data``; text runs decoded with the code page in force. Strict: an
    unknown command raises ValueError naming its offset."""
    out: list[Command] = []
    codec, i, n = "cp437", 0, len(data)

    def need(count: int) -> bytes:
        if i + count > n:
            raise ValueError(f"command at {i} cut short")
        return data[i : i + count]

    while i < n:
        byte = data[i]
        if byte == 0x0A:
            out.append(Command("text", "\n"))
            i += 1
        elif byte >= 0x20:
            end = i
            while end < n and data[end] >= 0x20:
                end += 1
            out.append(Command("text", data[i:end].decode(codec)))
            i = end
        elif byte == DLE:
            _, eot, which = need(3)
            if eot != 0x04:
                raise ValueError(f"unknown DLE command at {i}")
            out.append(Command("status", which))
            i += 3
        elif byte == ESC:
            op = need(2)[1]
            if op == ord("@"):
                out.append(Command("init"))
                i += 2
                codec = "cp437"
                continue
            value = need(3)[2]
            names = {ord("t"): "codepage", ord("!"): "mode", ord("a"): "align", ord("E"): "bold", ord("d"): "feed"}
            if op not in names:
                raise ValueError(f"unknown ESC {op:#04x} at {i}")
            if op == ord("t"):
                if value not in CODE_PAGES:
                    raise ValueError(f"code page {value} unknown to the decoder")
                codec = CODE_PAGES[value]
            out.append(Command(names[op], value))
            i += 3
        elif byte == GS:
            op = need(2)[1]
            if op == ord("!"):
                out.append(Command("size", need(3)[2]))
                i += 3
            elif op == ord("V"):
                out.append(Command("cut", need(3)[2]))
                i += 3
            elif op == ord("("):
                _, _, kind, low, high = need(5)
                if kind != ord("k"):
                    raise ValueError(f"unknown GS ( {kind:#04x} at {i}")
                body = need(5 + low + high * 256)[5:]
                if body[:1] != b"1":
                    raise ValueError(f"2D code other than QR at {i}")
                function = body[1]
                payload = body[3:] if function in (0x50, 0x51) else body[2:]  # P and Q carry m = "0"
                out.append(Command("qr", payload, function))
                i += 5 + len(body)
            elif op == ord("v"):
                _, _, _, _, xl, xh, yl, yh = need(8)
                width, height = xl + xh * 256, yl + yh * 256
                out.append(Command("raster", need(8 + width * height)[8:], width))
                i += 8 + width * height
            else:
                raise ValueError(f"unknown GS {op:#04x} at {i}")
        else:
            raise ValueError(f"unknown control byte {byte:#04x} at {i}")
    return out


def text_of(commands: list[Command]) -> str:
    """What a person reads on the ticket: the text, a mark for each QR code, image and cut."""
    parts: list[str] = []
    for command in commands:
        if command.name == "text":
            parts.append(str(command.value))
        elif command.name == "qr" and command.arg == 0x50:
            assert isinstance(command.value, bytes)
            parts.append(f"[QR code, {len(command.value)} bytes]\n{command.value.decode()}\n[end of QR code]\n")
        elif command.name == "raster":
            parts.append("[image]\n")
        elif command.name == "cut":
            parts.append("[cut]\n")
    return "".join(parts)


def status_byte(which: int, paper: Paper) -> int:
    """Epson's answer to DLE EOT ``which`` for a printer with ``paper``."""
    if which == 1:
        return 0x16 | (0x08 if paper == "out" else 0)  # offline while out of paper
    if which == 2:
        return 0x12 | (0x20 if paper == "out" else 0)  # stopped by the paper end
    if which == 4:
        return PAPER_BYTES[paper]
    return 0x12


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # `make run` again at once: the port is free
    daemon_threads = True


@dataclass
class EscposCapture:
    directory: Path
    port: int = 0
    paper: Paper = "ok"
    mute: bool = False  # accept, never read, never answer
    answers: bool = True  # False: read everything, never answer a status request
    tickets: list[bytes] = field(default_factory=list)
    connections: int = 0

    def __post_init__(self) -> None:
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._saved = 0

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> EscposCapture:
        capture = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                capture._serve(self.request)

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="escpos-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def wait_for_tickets(self, count: int, timeout: float = 5.0) -> list[bytes]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.tickets) >= count, timeout)
            return list(self.tickets)

    def _serve(self, conn: socket.socket) -> None:
        with self._changed:
            self.connections += 1
            self._changed.notify_all()
        if self.mute:
            self._stopping.wait()
            return
        conn.settimeout(0.2)
        received = bytearray()
        while not self._stopping.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            start = max(0, len(received) - 2)
            received += chunk
            if self.answers:
                self._answer(conn, received, start)
        data = bytes(received)
        if any(c.name != "status" for c in _lenient(data)):
            self._save(data)

    def _answer(self, conn: socket.socket, received: bytearray, start: int) -> None:
        at = received.find(b"\x10\x04", start)
        while at != -1 and at + 2 < len(received):
            which = received[at + 2]
            if which in (1, 2, 3, 4):
                conn.sendall(bytes([status_byte(which, self.paper)]))
            at = received.find(b"\x10\x04", at + 3)

    def _save(self, data: bytes) -> None:
        """Write the files, then count the ticket (a test waiting for it finds its files)."""
        with self._changed:
            self._saved += 1
            stem = self.directory / f"ticket-{self._saved:04d}"
        stem.with_suffix(".bin").write_bytes(data)
        try:
            text = text_of(decode(data))
        except ValueError as error:
            text = f"[could not decode: {error}]\n"
        stem.with_suffix(".txt").write_text(text, encoding="utf-8")
        with self._changed:
            self.tickets.append(data)
            self._changed.notify_all()


def _lenient(data: bytes) -> list[Command]:
    try:
        return decode(data)
    except ValueError:
        return [Command("unknown")]


def main() -> None:
    parser = argparse.ArgumentParser(description="A loopback ESC/POS ticket printer for `make run`.")
    parser.add_argument("--port", type=int, default=9190)
    parser.add_argument("--output", type=Path, required=True, help="directory for ticket-NNNN.bin and .txt")
    parser.add_argument("--paper", choices=["ok", "low", "out"], default="ok")
    args = parser.parse_args()
    capture = EscposCapture(args.output, port=args.port, paper=args.paper).start()
    print(f"ESC/POS capture on {capture.address[0]}:{capture.address[1]}, tickets in {args.output}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        capture.stop()


if __name__ == "__main__":
    main()
