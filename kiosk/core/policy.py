"""Navigation policy: which main-frame navigations a tile's browser may make.

Decisions are made on the parsed scheme and host, against origin rules that name an
exact host or a host with all its sub-domains. Never substrings, never regular
expressions. The URL comes from the browser and may be hostile: wherever Python's URL
parser and Chromium's could disagree (backslashes, tabs, percent-encoded hosts, several
``@``), the URL is refused rather than guessed.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

import idna
from publicsuffixlist import PSLFILE, PublicSuffixList

KIOSK_SCHEME = "kiosk"


class Verdict(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"
    INTERNAL = "internal"


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
_DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG removes ASCII tab and newlines anywhere, then strips leading/trailing C0 + space.
_TAB_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_BAD_AUTHORITY_CHARS = re.compile(r"[\\\s%\x00-\x1f\x7f<>^|\"{}`]")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    """The bundled Public Suffix List, for ASCII hosts: every host asked about is normalised to
    ASCII first (``normalise_host``), so each internationalised rule is kept in its punycode form
    only. (The library's default runs all 10,000 rules through the IDNA codec: a tenth of a
    second of the kiosk's start. A unit test checks that both readings answer alike.)"""
    with open(PSLFILE, encoding="utf-8") as source:
        lines = source.read().splitlines()
    return PublicSuffixList([x if x.isascii() else _ascii_rule(x) for x in lines], accept_encoded_idn=False)


def _ascii_rule(line: str) -> str:
    """A line of the list, its rule's non-ASCII labels punycoded (comments and ASCII as they are)."""
    rule = line.split(" ", 1)[0].strip()
    if rule.isascii() or rule.startswith("//"):
        return rule
    bang = "!" if rule.startswith("!") else ""
    labels = rule.lstrip("!").lower().split(".")
    # The list's labels are already lower-case NFC, which IDNA's mapping leaves as they are.
    return bang + ".".join(label if label.isascii() else "xn--" + label.encode("punycode").decode() for label in labels)


def registrable_domain(host: str) -> str | None:
    """eTLD+1 of an ASCII host (``cfspart.impots.gouv.fr`` → ``impots.gouv.fr``)."""
    if not host or _is_ip_literal(host):
        return None
    result = _psl().privatesuffix(host.lower().rstrip("."))
    return str(result) if result else None


def is_public_suffix(host: str) -> bool:
    return bool(_psl().is_public(host.lower().rstrip(".")))


def _is_ip_literal(host: str) -> bool:
    if host.startswith("[") or ":" in host:
        return True
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    # Chromium reads 2130706433, 0x7f.1, 0177.0.0.1, 127.1 as IPv4 too.
    labels = host.rstrip(".").split(".")
    last = labels[-1] if labels else ""
    return bool(re.fullmatch(r"(0x[0-9a-f]*|[0-9]+)", last))


def normalise_host(raw: str) -> str:
    """Lower-case ASCII (punycode) host without its trailing dot; ValueError if not a host."""
    host = raw.strip()
    if host.endswith("."):
        host = host[:-1]
    if not host or host.endswith(".") or ".." in host:
        raise ValueError("empty or malformed host")
    if _is_ip_literal(host.lower()):
        return host.lower()
    try:
        ascii_host = idna.encode(host, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise ValueError(f"invalid host: {error}") from None
    ascii_host = ascii_host.lower()
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in ascii_host.split(".")):
        raise ValueError("invalid host")
    return ascii_host


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
    if scheme not in _DEFAULT_PORTS:
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
            port = _port(after[1:])
    elif ":" in hostport:
        host, port_text = hostport.rsplit(":", 1)
        port = _port(port_text)
    else:
        host = hostport
    if not host:
        raise ValueError("empty host")
    return _ParsedUrl(scheme, host, port, has_userinfo)


def _port(text: str) -> int | None:
    if text == "":
        return None
    if not text.isdigit() or len(text) > 5 or int(text) > 65535:
        raise ValueError("bad port")
    return int(text)


@dataclass(frozen=True)
class OriginRule:
    """``impots.gouv.fr`` (exact host), ``*.impots.gouv.fr`` (host and sub-domains),
    optionally with ``https://`` / ``http://`` and ``:port``."""

    scheme: str
    host: str
    include_subdomains: bool
    port: int | None = None

    @classmethod
    def parse(cls, text: str) -> OriginRule:
        raw = text.strip()
        if not raw:
            raise ValueError("empty origin")
        scheme = "https"
        lowered = raw.lower()
        for prefix in ("https://", "http://"):
            if lowered.startswith(prefix):
                scheme = prefix[:-3]
                raw = raw[len(prefix) :]
                break
        else:
            if "://" in raw:
                raise ValueError(f"only http:// and https:// origins are possible, not {raw.split('://')[0]}://")
        if any(c in raw for c in "/?#@\\ "):
            raise ValueError("an origin is a host name only: no path, query, user or spaces")
        port: int | None = None
        if ":" in raw:
            raw, port_text = raw.rsplit(":", 1)
            try:
                port = _port(port_text)
            except ValueError:
                raise ValueError(f"bad port {port_text!r}") from None
        include = raw.startswith("*.")
        base = raw[2:] if include else raw
        if "*" in base:
            raise ValueError("a wildcard may only start the origin, as in *.example.fr")
        try:
            host = normalise_host(base)
        except ValueError as error:
            raise ValueError(f"{base!r} is not a valid host name ({error})") from None
        if _is_ip_literal(host):
            raise ValueError("IP addresses are not allowed in origins; use a host name")
        if "." not in host and not include:
            raise ValueError(f"{host!r} is not a full host name")
        if include and (is_public_suffix(host) or registrable_domain(host) is None):
            raise ValueError(f"*.{host} would allow every site under a public suffix; name the service's own domain")
        return cls(scheme, host, include, port)

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        if scheme != self.scheme:
            return False
        effective = port if port is not None else _DEFAULT_PORTS.get(scheme)
        wanted = self.port if self.port is not None else _DEFAULT_PORTS.get(self.scheme)
        if effective != wanted:
            return False
        return host == self.host or (self.include_subdomains and host.endswith("." + self.host))

    def __str__(self) -> str:
        prefix = "" if self.scheme == "https" else f"{self.scheme}://"
        port = f":{self.port}" if self.port is not None else ""
        return f"{prefix}{'*.' if self.include_subdomains else ''}{self.host}{port}"


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
        if parsed.scheme not in _DEFAULT_PORTS:
            return Decision(Verdict.BLOCK, BlockReason.EXTERNAL_PROTOCOL)
        assert parsed.host is not None
        try:
            host = normalise_host(parsed.host)
        except ValueError:
            return Decision(Verdict.BLOCK, BlockReason.MALFORMED)
        site = registrable_domain(host)
        if _is_ip_literal(host):
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
