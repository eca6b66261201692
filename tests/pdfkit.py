"""Small valid PDFs with text, written by hand (no PDF library in the kiosk): what a site's
attestation or a tax notice looks like to the PDF viewer, CUPS and the bench."""

from __future__ import annotations

from collections.abc import Sequence


def text_pdf(pages: Sequence[Sequence[str]], size: int = 11) -> bytes:
    """A PDF 1.4 of A4 pages, each with its lines of Helvetica at ``size`` points from the top."""
    objects: list[bytes] = [b"<</Type/Catalog/Pages 2 0 R>>", b"", b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    kids = []
    for lines in pages:
        step = round(size * 1.45)
        text = "".join(
            f"BT /F1 {size} Tf 60 {780 - size - step * i} Td ({_escaped(line)}) Tj ET\n" for i, line in enumerate(lines)
        )
        stream = text.encode("latin-1")
        objects.append(b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents %d 0 R/Resources<</Font<</F1 3 0 R>>>>>>"
            % len(objects)
        )
        kids.append(len(objects))
    objects[1] = b"<</Type/Pages/Kids[%s]/Count %d>>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer<</Size %d/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _escaped(line: str) -> str:
    return line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
