"""Small valid PDFs with text, written by hand (no PDF library in the kiosk): what a site's
attestation or a tax notice looks like to the PDF viewer, CUPS and the bench."""

from __future__ import annotations

from collections.abc import Sequence

from kiosk.core.trialpage import pdf_file, pdf_string


def text_pdf(pages: Sequence[Sequence[str]], size: int = 11) -> bytes:
    """A PDF 1.4 of A4 pages, each with its lines of Helvetica at ``size`` points from the top."""
    objects: list[bytes] = [b"<</Type/Catalog/Pages 2 0 R>>", b"", b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>"]
    kids = []
    for lines in pages:
        step = round(size * 1.45)
        text = "".join(
            f"BT /F1 {size} Tf 60 {780 - size - step * i} Td ({pdf_string(line)}) Tj ET\n"
            for i, line in enumerate(lines)
        )
        stream = text.encode("latin-1")
        objects.append(b"<</Length %d>>stream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents %d 0 R/Resources<</Font<</F1 3 0 R>>>>>>"
            % len(objects)
        )
        kids.append(len(objects))
    objects[1] = b"<</Type/Pages/Kids[%s]/Count %d>>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    return pdf_file(objects)
