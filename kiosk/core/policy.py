"""Navigation policy: which main-frame navigations a tile's browser may make.

Decisions are made on the parsed scheme and host, against origin rules that name an
exact host or a host with all its sub-domains. Never substrings, never regular
expressions. The URL comes from the browser and may be hostile: wherever Python's URL
parser and Chromium's could disagree (backslashes, tabs, percent-encoded hosts, several
``@``), the URL is refused rather than guessed. Origin rules and host names are the vocabulary
the terminal shares with the federation server (:mod:`sync.vocabulary.origins`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from sync.vocabulary.origins import (
    DEFAULT_PORTS,
    OriginRule,
    is_ip_literal,
    normalise_host,
    parse_port,
    registrable_domain,
)

KIOSK_SCHEME = "kiosk"


class Verdict(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"
    INTERNAL = "internal"


class Permission(StrEnum):
    """What a tile's sites may ask the resident for (``permissions`` in ``tiles.toml``)."""

    CAMERA = "camera"
    MICROPHONE = "microphone"
    GEOLOCATION = "geolocation"
    NOTIFICATIONS = "notifications"
    CLIPBOARD_READ = "clipboard_read"
    SCREEN_CAPTURE = "screen_capture"


class BlockReason(StrEnum):
    NOT_ALLOWED = "not_allowed"
    FORBIDDEN_SCHEME = "forbidden_scheme"
    EXTERNAL_PROTOCOL = "external_protocol"
    INSECURE = "insecure"
    CREDENTIALS = "credentials"
    IP_LITERAL = "ip_literal"
    BAD_PORT = "bad_port"
    MALFORMED = "malformed"
    CERTIFICATE = "certificate"  # the site's certificate was refused (decided by Chromium, not by the policy)


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    reason: BlockReason | None = None
    host: str | None = None  # normalised ASCII host: safe to log
    site: str | None = None  # registrable domain (eTLD+1): for statistics and the blocked page

    @property
    def allowed(self) -> bool:
        return self.verdict is not Verdict.BLOCK


# Schemes a resident's page must never navigate to at the top level.
_FORBIDDEN_SCHEMES = frozenset(
    {
        "file",
        "chrome",
        "chrome-extension",
        "chrome-error",
        "chrome-untrusted",
        "chrome-search",
        "devtools",
        "view-source",
        "javascript",
        "data",
        "blob",
        "filesystem",
        "qrc",
        "ftp",
        "ws",
        "wss",
        "about",
        "jar",
        "resource",
        "gopher",
    }
)
# WHATWG removes ASCII tab and newlines anywhere, then strips leading/trailing C0 + space.
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_BAD_AUTHORITY_CHARS = re.compile(r"[\\\s%\x00-\x1f\x7f<>^|\"{}`]")


@dataclass(frozen=True)
class _ParsedUrl:
    scheme: str
    host: str | None
    port: int | None
    has_userinfo: bool


def _parse(url: str) -> _ParsedUrl:
    """Parse like a browser would for the parts we decide on; ValueError when ambiguous."""
    text = _TAB_NEWLINE.sub("", url).strip(
        "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f"
        "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f "
    )
    match = _SCHEME.match(text)
    if not match:
        raise ValueError("no scheme")
    scheme = match.group(1).lower()
    rest = text[match.end() :]
    if scheme not in DEFAULT_PORTS:
        return _ParsedUrl(scheme, None, None, False)
    # Special schemes: any number of slashes or backslashes start the authority.
    if rest[:2] not in ("//",):
        raise ValueError("special scheme without //")
    rest = rest[2:]
    end = len(rest)
    for stop in "/?#":
        position = rest.find(stop)
        if position != -1:
            end = min(end, position)
    authority = rest[:end]
    if "\\" in rest[: end + 1] or _BAD_AUTHORITY_CHARS.search(authority):
        raise ValueError("ambiguous authority")
    if authority.count("@") > 1:
        raise ValueError("several @ in authority")
    has_userinfo = "@" in authority
    hostport = authority.rsplit("@", 1)[-1]
    port: int | None = None
    if hostport.startswith("["):
        close = hostport.find("]")
        if close == -1:
            raise ValueError("unclosed IPv6 literal")
        host, after = hostport[: close + 1], hostport[close + 1 :]
        if after:
            if not after.startswith(":"):
                raise ValueError("garbage after IPv6 literal")
            port = parse_port(after[1:])
    elif ":" in hostport:
        host, port_text = hostport.rsplit(":", 1)
        port = parse_port(port_text)
    else:
        host = hostport
    if not host:
        raise ValueError("empty host")
    return _ParsedUrl(scheme, host, port, has_userinfo)


class NavigationPolicy:
    """Decides main-frame navigations for one tile (or for the kiosk's own pages)."""

    def __init__(self, rules: Iterable[OriginRule]) -> None:
        self._rules = tuple(rules)

    @classmethod
    def from_strings(cls, origins: Iterable[str]) -> NavigationPolicy:
        return cls(OriginRule.parse(o) for o in origins)

    @classmethod
    def internal_only(cls) -> NavigationPolicy:
        return _INTERNAL_ONLY

    @property
    def rules(self) -> tuple[OriginRule, ...]:
        return self._rules

    def decide(self, url: str) -> Decision:
        try:
            parsed = _parse(url)
        except ValueError:
            return Decision(Verdict.BLOCK, BlockReason.MALFORMED)
        if parsed.scheme == KIOSK_SCHEME:
            return Decision(Verdict.INTERNAL)
        if parsed.scheme == "about":
            rest = _TAB_NEWLINE.sub("", url).strip().split(":", 1)[1].lower()
            if rest == "blank" or rest.startswith("blank#") or rest.startswith("blank?"):
                return Decision(Verdict.ALLOW)
        if parsed.scheme in _FORBIDDEN_SCHEMES:
            return Decision(Verdict.BLOCK, BlockReason.FORBIDDEN_SCHEME)
        if parsed.scheme not in DEFAULT_PORTS:
            return Decision(Verdict.BLOCK, BlockReason.EXTERNAL_PROTOCOL)
        assert parsed.host is not None
        try:
            host = normalise_host(parsed.host)
        except ValueError:
            return Decision(Verdict.BLOCK, BlockReason.MALFORMED)
        site = registrable_domain(host)
        if is_ip_literal(host):
            return Decision(Verdict.BLOCK, BlockReason.IP_LITERAL, host, None)
        if parsed.has_userinfo:
            return Decision(Verdict.BLOCK, BlockReason.CREDENTIALS, host, site)
        for rule in self._rules:
            if rule.matches(parsed.scheme, host, parsed.port):
                return Decision(Verdict.ALLOW, None, host, site)
        # Explain the refusal as precisely as possible.
        for rule in self._rules:
            if rule.matches(rule.scheme, host, parsed.port) and rule.scheme == "https":
                return Decision(Verdict.BLOCK, BlockReason.INSECURE, host, site)
            if rule.matches(parsed.scheme, host, None if rule.port is None else rule.port):
                return Decision(Verdict.BLOCK, BlockReason.BAD_PORT, host, site)
        return Decision(Verdict.BLOCK, BlockReason.NOT_ALLOWED, host, site)


_INTERNAL_ONLY = NavigationPolicy(())


def host_for_log(url: str) -> str:
    """Only the normalised host (or ``scheme:`` for hostless URLs): never path, query or user."""
    try:
        parsed = _parse(url)
    except ValueError:
        return "<malformed>"
    if parsed.host is None:
        return f"{parsed.scheme}:"
    try:
        return normalise_host(parsed.host)
    except ValueError:
        return "<malformed>"
