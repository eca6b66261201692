"""The policy's reading of the Public Suffix List (punycode rules only, for a quick start)
answers exactly as the library's own reading does, for every rule of the bundled list."""

from __future__ import annotations

import pytest
from publicsuffixlist import PSLFILE, PublicSuffixList, encode_idn

from sync.vocabulary.origins import is_public_suffix, registrable_domain

pytestmark = pytest.mark.unit


def _hosts() -> list[str]:
    """For each rule: the suffix itself and two hosts under it, in ASCII (punycode)."""
    hosts = []
    with open(PSLFILE, encoding="utf-8") as source:
        for line in source:
            rule = line.split(" ", 1)[0].strip()
            if not rule or rule.startswith("//"):
                continue
            suffix = encode_idn(rule.lstrip("!").replace("*", "wild"))
            hosts += [suffix, f"service.{suffix}", f"www.service.{suffix}"]
    return hosts


def test_every_rule_of_the_list_reads_as_the_library_reads_it() -> None:
    reference = PublicSuffixList()  # every rule also IDNA-encoded by the library
    hosts = _hosts()
    assert len(hosts) > 20_000 and any(h.startswith("xn--") or ".xn--" in h for h in hosts)
    for host in hosts:
        assert is_public_suffix(host) == bool(reference.is_public(host)), host
        assert registrable_domain(host) == reference.privatesuffix(host), host
