"""Navigation policy: hostile URLs, parser differentials, look-alikes, rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.core.policy import (
    BlockReason,
    NavigationPolicy,
    OriginRule,
    Verdict,
    host_for_log,
    registrable_domain,
)

pytestmark = pytest.mark.unit

POLICY = NavigationPolicy.from_strings(
    ["*.impots.gouv.fr", "app.franceconnect.gouv.fr", "http://*.allowed.test", "https://portal.example.org:8443"]
)

ALLOWED = [
    "https://impots.gouv.fr/",
    "https://www.impots.gouv.fr/accueil",
    "https://cfspart.impots.gouv.fr/LoginAccess?op=c&url=x",
    "HTTPS://WWW.IMPOTS.GOUV.FR/",
    "https://www.impots.gouv.fr./",
    "https://www.impots.gouv.fr:443/",
    "https://app.franceconnect.gouv.fr/api/v1/authorize",
    "http://www.allowed.test/",
    "http://deep.sub.allowed.test/page?x=1#y",
    "http://allowed.test:80/",
    "https://portal.example.org:8443/login",
    "about:blank",
    "about:blank#frag",
    "https://www.impots.gouv.fr/#@evil.example",
    "https://www.impots.gouv.fr/?next=https://evil.example",
    "https://www.impots.gouv.fr/evil.example",
]

BLOCKED = [
    ("https://impots.gouv.fr.evil.example/", BlockReason.NOT_ALLOWED),
    ("https://evil.example/impots.gouv.fr", BlockReason.NOT_ALLOWED),
    ("https://impots.gouv.fr@evil.example", BlockReason.CREDENTIALS),
    ("https://impots.gouv.fr:secret@evil.example/", BlockReason.CREDENTIALS),
    ("https://user:pw@www.impots.gouv.fr/", BlockReason.CREDENTIALS),
    ("https://evil.example#@impots.gouv.fr", BlockReason.NOT_ALLOWED),
    ("https://evil.example?.impots.gouv.fr", BlockReason.NOT_ALLOWED),
    ("https://evil.example\\@impots.gouv.fr/", BlockReason.MALFORMED),
    ("https://evil.example\\.impots.gouv.fr/", BlockReason.MALFORMED),
    ("https://a@b@www.impots.gouv.fr/", BlockReason.MALFORMED),
    ("https://www.impots.gouv.fr%2e.evil.example/", BlockReason.MALFORMED),
    ("https://%77ww.impots.gouv.fr/", BlockReason.MALFORMED),
    ("https://evilimpots.gouv.fr/", BlockReason.NOT_ALLOWED),
    ("https://impots.gouv.fr-evil.example/", BlockReason.NOT_ALLOWED),
    ("https://xn--impts-xua.gouv.fr/", BlockReason.NOT_ALLOWED),
    ("https://impøts.gouv.fr/", BlockReason.NOT_ALLOWED),
    ("https://ımpots.gouv.fr/", BlockReason.NOT_ALLOWED),
    ("https://іmpots.gouv.fr/", BlockReason.NOT_ALLOWED),  # Cyrillic і
    ("https://www.impots.gouv.fr../", BlockReason.MALFORMED),
    ("https://www.impots.gouv.fr:8443/", BlockReason.BAD_PORT),
    ("https://www.impots.gouv.fr:0/", BlockReason.BAD_PORT),
    ("https://www.impots.gouv.fr:99999/", BlockReason.MALFORMED),
    ("https://portal.example.org/login", BlockReason.BAD_PORT),
    ("http://www.impots.gouv.fr/", BlockReason.INSECURE),
    ("http://app.franceconnect.gouv.fr/", BlockReason.INSECURE),
    ("https://www.app.franceconnect.gouv.fr/", BlockReason.NOT_ALLOWED),
    ("https://franceconnect.gouv.fr/", BlockReason.NOT_ALLOWED),
    ("https://www.allowed.test/", BlockReason.NOT_ALLOWED),
    ("http://127.0.0.1/", BlockReason.IP_LITERAL),
    ("http://2130706433/", BlockReason.IP_LITERAL),
    ("http://0x7f.1/", BlockReason.IP_LITERAL),
    ("http://0177.0.0.1/", BlockReason.IP_LITERAL),
    ("http://127.1/", BlockReason.IP_LITERAL),
    ("https://[::1]/", BlockReason.IP_LITERAL),
    ("https://[::ffff:127.0.0.1]:443/", BlockReason.IP_LITERAL),
    ("https://192.168.1.1/admin", BlockReason.IP_LITERAL),
    ("javascript:alert(1)", BlockReason.FORBIDDEN_SCHEME),
    ("JavaScript:alert(1)", BlockReason.FORBIDDEN_SCHEME),
    (" javascript:alert(1)", BlockReason.FORBIDDEN_SCHEME),
    ("\x01javascript:alert(1)", BlockReason.FORBIDDEN_SCHEME),
    ("java\tscript:alert(1)", BlockReason.FORBIDDEN_SCHEME),
    ("java\nscript:alert(1)", BlockReason.FORBIDDEN_SCHEME),
    ("data:text/html,<script>alert(1)</script>", BlockReason.FORBIDDEN_SCHEME),
    ("DATA:text/html;base64,PHNjcmlwdD4=", BlockReason.FORBIDDEN_SCHEME),
    ("blob:https://www.impots.gouv.fr/1234-5678", BlockReason.FORBIDDEN_SCHEME),
    ("filesystem:https://www.impots.gouv.fr/temporary/x", BlockReason.FORBIDDEN_SCHEME),
    ("file:///etc/passwd", BlockReason.FORBIDDEN_SCHEME),
    ("FILE:///home/", BlockReason.FORBIDDEN_SCHEME),
    ("chrome://settings", BlockReason.FORBIDDEN_SCHEME),
    ("chrome://gpu", BlockReason.FORBIDDEN_SCHEME),
    ("chrome-error://chromewebdata/", BlockReason.FORBIDDEN_SCHEME),
    ("devtools://devtools/bundled/inspector.html", BlockReason.FORBIDDEN_SCHEME),
    ("view-source:https://www.impots.gouv.fr/", BlockReason.FORBIDDEN_SCHEME),
    ("about:config", BlockReason.FORBIDDEN_SCHEME),
    ("about:blankx", BlockReason.FORBIDDEN_SCHEME),
    ("qrc:/kiosk/keyboard.qml", BlockReason.FORBIDDEN_SCHEME),
    ("ftp://www.impots.gouv.fr/", BlockReason.FORBIDDEN_SCHEME),
    ("wss://www.impots.gouv.fr/socket", BlockReason.FORBIDDEN_SCHEME),
    ("mailto:someone@example.org", BlockReason.EXTERNAL_PROTOCOL),
    ("tel:+33100000000", BlockReason.EXTERNAL_PROTOCOL),
    ("sms:+33600000000", BlockReason.EXTERNAL_PROTOCOL),
    ("intent://scan/#Intent;scheme=zxing;end", BlockReason.EXTERNAL_PROTOCOL),
    ("market://details?id=x", BlockReason.EXTERNAL_PROTOCOL),
    ("whatsapp://send?text=x", BlockReason.EXTERNAL_PROTOCOL),
    ("ms-settings:display", BlockReason.EXTERNAL_PROTOCOL),
    ("", BlockReason.MALFORMED),
    ("www.impots.gouv.fr", BlockReason.MALFORMED),
    ("//www.impots.gouv.fr/", BlockReason.MALFORMED),
    ("https:www.impots.gouv.fr", BlockReason.MALFORMED),
    ("https:///www.impots.gouv.fr", BlockReason.MALFORMED),
    ("https://", BlockReason.MALFORMED),
    ("https://www.impots .gouv.fr/", BlockReason.MALFORMED),
    ("https://www.impots.gouv.fr\x00.evil.example/", BlockReason.MALFORMED),
    ("https://-bad-.example/", BlockReason.MALFORMED),
]


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed(url: str) -> None:
    decision = POLICY.decide(url)
    assert decision.verdict is Verdict.ALLOW, decision


@pytest.mark.parametrize(("url", "reason"), BLOCKED)
def test_blocked(url: str, reason: BlockReason) -> None:
    decision = POLICY.decide(url)
    assert decision.verdict is Verdict.BLOCK
    assert decision.reason is reason, decision


@pytest.mark.parametrize("url", ["kiosk://home/", "KIOSK://blocked/?reason=x", "kiosk://action/open?tile=caf"])
def test_kiosk_pages_are_internal(url: str) -> None:
    assert POLICY.decide(url).verdict is Verdict.INTERNAL


def test_internal_only_allows_nothing_on_the_web() -> None:
    policy = NavigationPolicy.internal_only()
    assert policy.decide("https://www.impots.gouv.fr/").reason is BlockReason.NOT_ALLOWED
    assert policy.decide("kiosk://home/").verdict is Verdict.INTERNAL
    assert policy.decide("about:blank").verdict is Verdict.ALLOW


def test_decision_names_host_and_site_for_stats() -> None:
    decision = POLICY.decide("https://login.evil.example.co.uk/path?secret=1")
    assert decision.host == "login.evil.example.co.uk"
    assert decision.site == "example.co.uk"
    assert "secret" not in repr(decision)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("impots.gouv.fr", OriginRule("https", "impots.gouv.fr", False, None)),
        ("*.impots.gouv.fr", OriginRule("https", "impots.gouv.fr", True, None)),
        ("https://*.caf.fr", OriginRule("https", "caf.fr", True, None)),
        ("http://*.allowed.test", OriginRule("http", "allowed.test", True, None)),
        ("Portal.Example.ORG:8443", OriginRule("https", "portal.example.org", False, 8443)),
        ("bücher.example", OriginRule("https", "xn--bcher-kva.example", False, None)),
    ],
)
def test_rule_parsing(text: str, expected: OriginRule) -> None:
    assert OriginRule.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "*.gouv.fr",
        "*.fr",
        "*.com",
        "*.co.uk",
        "impots.gouv.fr/path",
        "impots.gouv.fr?x",
        "user@impots.gouv.fr",
        "imp*ts.gouv.fr",
        "*.*.gouv.fr",
        "1.2.3.4",
        "[::1]",
        "ftp://impots.gouv.fr",
        "impots.gouv.fr:99999",
        "impots.gouv.fr:abc",
        "localhost",
        "bad_host!.fr",
    ],
)
def test_rule_errors(text: str) -> None:
    with pytest.raises(ValueError):
        OriginRule.parse(text)


def test_host_for_log_never_leaks_path_query_or_user() -> None:
    assert host_for_log("https://user:pw@www.impots.gouv.fr/secret?nir=1#x") == "www.impots.gouv.fr"
    assert host_for_log("mailto:someone@example.org") == "mailto:"
    assert host_for_log("https://evil\\@x") == "<malformed>"


def test_registrable_domain() -> None:
    assert registrable_domain("cfspart.impots.gouv.fr") == "impots.gouv.fr"
    assert registrable_domain("www.caf.fr") == "caf.fr"
    assert registrable_domain("127.0.0.1") is None


HOST_LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
HOSTS = st.lists(HOST_LABEL, min_size=1, max_size=4).map(".".join)
RULE_HOSTS = ["impots.gouv.fr", "app.franceconnect.gouv.fr", "allowed.test", "portal.example.org"]


@given(
    host=HOSTS,
    prefix=st.sampled_from(["", "www.", "impots.", "gouv.", "x-"]),
    suffix=st.sampled_from(["", ".evil", ".fr", "impots.gouv.fr", ".impots.gouv.fr"]),
)
def test_property_only_rule_hosts_or_their_subdomains_are_allowed(host: str, prefix: str, suffix: str) -> None:
    candidate = f"{prefix}{host}{suffix}"
    for scheme in ("https", "http"):
        decision = POLICY.decide(f"{scheme}://{candidate}/")
        if decision.verdict is Verdict.ALLOW:
            assert decision.host is not None
            assert any(decision.host == r or decision.host.endswith("." + r) for r in RULE_HOSTS)


@given(st.text(max_size=200))
def test_property_decide_never_raises(url: str) -> None:
    decision = POLICY.decide(url)
    assert decision.verdict in (Verdict.ALLOW, Verdict.BLOCK, Verdict.INTERNAL)
    if decision.verdict is Verdict.ALLOW and decision.host:
        assert any(decision.host == r or decision.host.endswith("." + r) for r in RULE_HOSTS)
