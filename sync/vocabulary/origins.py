"""Host names and origin rules: which hosts a tile's browser may reach, as ``tiles.toml`` and the
national catalogue write them (``*.impots.gouv.fr``, ``app.franceconnect.gouv.fr``,
``http://portal.example.org:8443``).

Part of the vocabulary both sides share: the federation server refuses a catalogue origin
that a terminal would refuse (a wildcard over a public suffix, an IP address, a path), and the
terminal's navigation policy (``kiosk.core.policy``) matches hosts with the same rules. Pure, but
it needs idna (IDNA 2008 with UTS #46, as browsers) and the public suffix list.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList

# idna and publicsuffixlist are imported where they are first needed: the kiosk's first screen
# imports this module (its lobby's policy) but asks about no host before it is painted.

DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    """The bundled Public Suffix List, for ASCII hosts: every host asked about is normalised to
    ASCII first (``normalise_host``), so each internationalised rule is kept in its punycode form
    only. (The library's default runs all 10,000 rules through the IDNA codec: a tenth of a
    second of the kiosk's start. A unit test checks that both readings answer alike.)"""
    from publicsuffixlist import PSLFILE, PublicSuffixList

    with open(PSLFILE, encoding="utf-8") as source:
        text = source.read()
    # Comments and blank lines (a third of the file) never reach the library's own slower loop.
    rules = [x if x.isascii() else _ascii_rule(x) for x in text.splitlines() if x and not x.startswith("//")]
    return PublicSuffixList(rules, accept_encoded_idn=False)


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
    if not host or is_ip_literal(host):
        return None
    result = _psl().privatesuffix(host.lower().rstrip("."))
    return str(result) if result else None


def is_public_suffix(host: str) -> bool:
    return bool(_psl().is_public(host.lower().rstrip(".")))


def is_ip_literal(host: str) -> bool:
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
    if is_ip_literal(host.lower()):
        return host.lower()
    import idna

    try:
        mapped = idna.uts46_remap(host, std3_rules=True, transitional=False)
        if mapped.isascii() and not any(label.startswith("xn--") for label in mapped.split(".")):
            # Plain ASCII labels need no IDNA: browsers (UTS #46 with CheckHyphens off) take
            # "ab--c" as it is, where IDNA 2008 alone refuses hyphens in 3rd and 4th position.
            ascii_host = mapped
        else:
            ascii_host = idna.encode(host, uts46=True, std3_rules=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as error:
        raise ValueError(f"invalid host: {error}") from None
    ascii_host = ascii_host.lower()
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(label) for label in ascii_host.split(".")):
        raise ValueError("invalid host")
    return ascii_host


def parse_port(text: str) -> int | None:
    if text == "":
        return None
    # ASCII digits only: str.isdigit() also takes "８０" or "٨٠", which Python's int() reads as 80
    # but no browser does (the URL is invalid there).
    if not (text.isascii() and text.isdigit()) or len(text) > 5 or int(text) > 65535:
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
    @lru_cache(maxsize=1024)
    def parse(cls, text: str) -> OriginRule:
        """The rule ``text`` names; ValueError saying why if it names none. Kept for the next
        call with the same text (a configuration names the same origins many times: the national
        catalogue's, each tile's); only configuration text comes here, never a resident's URL."""
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
                port = parse_port(port_text)
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
        if is_ip_literal(host):
            raise ValueError("IP addresses are not allowed in origins; use a host name")
        if "." not in host and not include:
            raise ValueError(f"{host!r} is not a full host name")
        if include and (is_public_suffix(host) or registrable_domain(host) is None):
            raise ValueError(f"*.{host} would allow every site under a public suffix; name the service's own domain")
        return cls(scheme, host, include, port)

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        if scheme != self.scheme:
            return False
        effective = port if port is not None else DEFAULT_PORTS.get(scheme)
        wanted = self.port if self.port is not None else DEFAULT_PORTS.get(self.scheme)
        if effective != wanted:
            return False
        return host == self.host or (self.include_subdomains and host.endswith("." + self.host))

    def __str__(self) -> str:
        prefix = "" if self.scheme == "https" else f"{self.scheme}://"
        port = f":{self.port}" if self.port is not None else ""
        return f"{prefix}{'*.' if self.include_subdomains else ''}{self.host}{port}"


def check_origin(text: str) -> str:
    """``text`` if it is an origin rule, else ValueError saying why (for pydantic models)."""
    OriginRule.parse(text)
    return text
