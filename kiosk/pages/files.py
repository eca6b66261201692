"""The pages' files and what rendering gives back, without Jinja2: what the shell needs to
serve its first screen before anything else is imported (``kiosk.shell.first_screen``)."""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

_CONTENT_TYPES = {
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".webm": "video/webm",
    ".vtt": "text/vtt",
}


class PageNotFound(Exception):
    """No such page or static file (or a path that tries to leave the static folder)."""


@dataclass(frozen=True)
class RenderedPage:
    body: bytes
    content_type: str


def _safe_relative(path: str) -> PurePosixPath:
    if not path or "\x00" in path or "\\" in path or "%" in path or path.startswith("/"):
        raise PageNotFound(path)
    relative = PurePosixPath(path)
    if any(part in ("..", ".", "") for part in relative.parts):
        raise PageNotFound(path)
    return relative


def static_file(path: str, roots: dict[str, Path] | None = None) -> RenderedPage:
    """The static file at ``path`` (``kiosk.css``, ``actions/home.svg``…); ``roots`` maps a first
    folder (``icons``, ``help-videos``) to a directory of its own, one level deep."""
    relative = _safe_relative(path)
    own = (roots or {}).get(relative.parts[0])
    if own is not None and len(relative.parts) == 2:
        base, target = own, own / relative.parts[1]
    else:
        base, target = STATIC, STATIC.joinpath(*relative.parts)
    try:
        resolved = target.resolve(strict=True)
    except OSError:
        raise PageNotFound(path) from None
    if not resolved.is_relative_to(base.resolve()) or not resolved.is_file():
        raise PageNotFound(path)
    content_type = _CONTENT_TYPES.get(resolved.suffix) or mimetypes.guess_type(resolved.name)[0]
    if content_type is None:
        raise PageNotFound(path)
    return RenderedPage(resolved.read_bytes(), content_type)
