"""Navigation policy: hostile URLs, parser differentials, look-alikes, rules."""

from __future__ import annotations

import ada_url
import pytest
from hypothesis import given, settings
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
    "https://00--0.impots.gouv.fr/",  # hyphens in 3rd and 4th place: browsers take the label as it is
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
    ("https://www.impots.gouv.fr:４４３/", BlockReason.MALFORMED),  # fullwidth digits: no browser reads them
    ("http://www.allowed.test:٨٠/", BlockReason.MALFORMED),  # Arabic-Indic digits
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


@pytest.mark.parametrize(
    "url", ["kiosk://borne/home", "KIOSK://borne/blocked?reason=x", "kiosk://borne/action/open?tile=caf"]
)
def test_kiosk_pages_are_internal(url: str) -> None:
    assert POLICY.decide(url).verdict is Verdict.INTERNAL


def test_internal_only_allows_nothing_on_the_web() -> None:
    policy = NavigationPolicy.internal_only()
    assert policy.decide("https://www.impots.gouv.fr/").reason is BlockReason.NOT_ALLOWED
    assert policy.decide("kiosk://borne/home").verdict is Verdict.INTERNAL
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
        "impots.gouv.fr:８４４３",
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

# POLICY's rules written out again for the independent check: (scheme, host, sub-domains too, port).
RULES = [
    ("https", "impots.gouv.fr", True, 443),
    ("https", "app.franceconnect.gouv.fr", False, 443),
    ("http", "allowed.test", True, 80),
    ("https", "portal.example.org", False, 8443),
]


def whatwg_destination(url: str) -> tuple[str, str, int] | None:
    """Where a WHATWG URL parser (ada, as in Node.js) sends ``url``: (scheme, host, port), or
    None when it would not go to a named host without credentials (unparsable, IP literal,
    user info, not http(s))."""
    try:
        parts = ada_url.parse_url(url)
    except ValueError:
        return None
    scheme = str(parts["protocol"]).rstrip(":")
    if scheme not in ("http", "https") or parts["username"] or parts["password"]:
        return None
    if parts["host_type"] != ada_url.HostType.DEFAULT:  # IPv4 / IPv6 literal
        return None
    host = str(parts["hostname"]).lower()
    host = host[:-1] if host.endswith(".") else host
    port = int(parts["port"]) if parts["port"] else {"http": 80, "https": 443}[scheme]
    return scheme, host, port


def whatwg_allows(url: str) -> bool:
    """The test's own answer, from the WHATWG parse and ``RULES`` (no policy code)."""
    if url_is_about_blank(url):
        return True
    destination = whatwg_destination(url)
    if destination is None:
        return False
    scheme, host, port = destination
    return any(
        scheme == r_scheme and port == r_port and (host == r_host or (subdomains and host.endswith("." + r_host)))
        for r_scheme, r_host, subdomains, r_port in RULES
    )


def url_is_about_blank(url: str) -> bool:
    try:
        href = str(ada_url.parse_url(url)["href"])
    except ValueError:
        return False
    return href == "about:blank" or href.startswith(("about:blank#", "about:blank?"))


def assert_agrees_with_whatwg(url: str) -> None:
    """Whatever the policy lets through, a WHATWG parser sends to the same allowed host."""
    decision = POLICY.decide(url)
    if decision.verdict is not Verdict.ALLOW:
        return
    assert whatwg_allows(url), f"policy allows {url!r}, WHATWG sends it to {whatwg_destination(url)}"
    destination = whatwg_destination(url)
    if destination is not None:
        assert decision.host == destination[1], (url, decision.host, destination)


@pytest.mark.parametrize("url", ALLOWED)
def test_allowed_urls_go_where_whatwg_says(url: str) -> None:
    assert whatwg_allows(url), url  # the test's own parse agrees with every "allowed" example


@pytest.mark.parametrize(("url", "reason"), BLOCKED)
def test_blocked_urls_agree_with_whatwg(url: str, reason: BlockReason) -> None:
    assert_agrees_with_whatwg(url)


@given(
    host=HOSTS,
    prefix=st.sampled_from(["", "www.", "impots.", "gouv.", "x-"]),
    suffix=st.sampled_from(["", ".evil", ".fr", "impots.gouv.fr", ".impots.gouv.fr"]),
)
def test_property_only_rule_hosts_or_their_subdomains_are_allowed(host: str, prefix: str, suffix: str) -> None:
    candidate = f"{prefix}{host}{suffix}"
    for scheme in ("https", "http"):
        url = f"{scheme}://{candidate}/"
        decision = POLICY.decide(url)
        if decision.verdict is Verdict.ALLOW:
            assert decision.host is not None
            assert any(decision.host == r or decision.host.endswith("." + r) for r in RULE_HOSTS)
        # The generated URL itself, read by an independent parser, decides the same way.
        assert (decision.verdict is Verdict.ALLOW) == whatwg_allows(url), (url, decision)


# -- wider URLs: every part a browser parses, with the tricks parsers disagree on ---------------

SCHEMES = st.one_of(
    st.sampled_from(["http", "https", "HTTP", "hTtPs", "ftp", "ws", "wss", "file", "javascript", "data", "blob"]),
    st.lists(st.sampled_from(list("abcdefghijklmnopqrstuvwxyzHTPS0123456789+.-")), min_size=1, max_size=7).map(
        lambda chars: "h" + "".join(chars)
    ),
)
SEPARATORS = st.sampled_from(["://", "://", "://", ":/", ":", ":\\\\", ":/\\", ":///", "://\t", ": //"])
# Labels: ASCII, Unicode letters (accents, Cyrillic and Greek look-alikes, dotless i, fullwidth),
# percent-encoded bytes, and the characters some parsers treat as separators.
LABEL_PIECES = st.one_of(
    st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789-_")),
    st.sampled_from(list("éèàçøıіаеоρΑＡａ．。｡ß")),
    st.sampled_from(["%2e", "%2E", "%41", "%77", "%00", "%20", "\\", "@", ":", "\t", "\n", "\x00"]),
)
UNICODE_LABEL = st.lists(LABEL_PIECES, min_size=1, max_size=8).map("".join)
RULE_NAMES = st.sampled_from([*RULE_HOSTS, "www.impots.gouv.fr", "sub.allowed.test", "IMPOTS.GOUV.FR"])
ASCII_LABEL = st.lists(st.sampled_from(list("abcdefghijklmnopqrstuvwxyz0123456789-")), min_size=1, max_size=12).map(
    "".join
)
HOST_PARTS = st.lists(st.one_of(RULE_NAMES, UNICODE_LABEL, ASCII_LABEL), min_size=1, max_size=4)
HOSTS_WIDE = st.one_of(
    HOST_PARTS.map(".".join),
    st.tuples(HOST_PARTS.map(".".join), st.sampled_from([".", "..", "。", "%2e"])).map("".join),
    st.sampled_from(["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "[::1]", "[::ffff:7f00:1]"]),
    st.ip_addresses().map(lambda ip: f"[{ip}]" if ip.version == 6 else str(ip)),
)
USERINFO = st.one_of(
    st.just(""),
    st.tuples(st.one_of(RULE_NAMES, UNICODE_LABEL), st.sampled_from(["@", ":x@", "%40", "@@"])).map("".join),
)
PORTS = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=99_999).map(lambda n: f":{n}"),
    st.sampled_from([":", ":80", ":443", ":8443", ":0443", ":+80", ": 80", ":80a", ":８０", ":٨٠", ":８４４３", ":²"]),
)
TAILS = st.text(alphabet=st.sampled_from(list("/?#@\\.:%2eabc ")), max_size=12)


@settings(max_examples=400, deadline=None)  # a loaded machine is slow, not wrong
@given(scheme=SCHEMES, separator=SEPARATORS, userinfo=USERINFO, host=HOSTS_WIDE, port=PORTS, tail=TAILS)
def test_property_wide_urls_agree_with_an_independent_whatwg_parser(
    scheme: str, separator: str, userinfo: str, host: str, port: str, tail: str
) -> None:
    url = f"{scheme}{separator}{userinfo}{host}{port}{tail}"
    assert_agrees_with_whatwg(url)


# Near the allowed origins, where a disagreement would let a resident out: a rule's host with
# look-alike spellings (fullwidth letters and dots, soft hyphen, zero-width characters,
# percent-encoding, case, trailing dots), any port spelling, user info now and then.
SPELLINGS = st.one_of(
    st.just(""),  # half the time: the plain spelling
    st.sampled_from([".", "．", "%2e", "\u00ad", "\u200b", "\u200d", "ａ", "Ａ", "ı", "\t", "\\"]),
)


@st.composite
def near_allowed_urls(draw: st.DrawFn) -> str:
    scheme, host, _subdomains, _port = draw(st.sampled_from(RULES))
    labels = host.split(".")
    where = draw(st.integers(min_value=0, max_value=len(labels)))
    labels.insert(where, draw(SPELLINGS) + draw(st.sampled_from(["", "www", "a"])))
    name = ".".join(label for label in labels if label) + draw(SPELLINGS)
    if draw(st.booleans()):
        name = name.upper()
    scheme = draw(st.sampled_from([scheme, scheme.upper(), "http", "https"]))
    port, tail = draw(st.one_of(st.just(""), PORTS)), draw(TAILS)
    layout = draw(st.sampled_from(["plain", "plain", "user", "allowed_as_user", "allowed_as_user"]))
    if layout == "user":  # credentials in front of an allowed host
        return f"{scheme}://{draw(st.sampled_from(['user', 'a:b', 'evil.test']))}@{name}{port}{tail}"
    if layout == "allowed_as_user":  # the allowed name is only the user info: the host is elsewhere
        joint = draw(st.sampled_from(["@", ":x@", "\\@", "%40", "@@", "#@", "?@"]))
        return f"{scheme}://{name}{port}{joint}evil.example{tail}"
    return f"{scheme}://{name}{port}{tail}"


@settings(max_examples=400, deadline=None)  # a loaded machine is slow, not wrong
@given(url=near_allowed_urls())
def test_property_near_allowed_urls_agree_with_an_independent_whatwg_parser(url: str) -> None:
    assert_agrees_with_whatwg(url)


@settings(max_examples=300, deadline=None)  # a loaded machine is slow, not wrong
@given(
    rule=st.sampled_from(RULES),
    # IDNA forbids "--" in a label's third and fourth places (as in "xn--"): not a plain name.
    sub=st.lists(HOST_LABEL.filter(lambda label: label[2:4] != "--"), max_size=2).map(
        lambda labels: "".join(f"{label}." for label in labels)
    ),
    path=st.text(alphabet=st.sampled_from(list("abc/=&?#%20-_")), max_size=20),
)
def test_property_plain_urls_of_the_rules_are_allowed(rule: tuple[str, str, bool, int], sub: str, path: str) -> None:
    """The control for the property above: plain URLs on the rules' origins are allowed, by the
    policy and by the independent parser alike (so "allowed" is not an empty set)."""
    scheme, host, subdomains, port = rule
    name = f"{sub}{host}" if subdomains else host
    default = {"http": 80, "https": 443}[scheme]
    url = f"{scheme}://{name}{'' if port == default else f':{port}'}/{path}"
    assert POLICY.decide(url).verdict is Verdict.ALLOW, url
    assert whatwg_allows(url), url


@given(st.text(max_size=200))
def test_property_decide_never_raises(url: str) -> None:
    decision = POLICY.decide(url)
    assert decision.verdict in (Verdict.ALLOW, Verdict.BLOCK, Verdict.INTERNAL)
    if decision.verdict is Verdict.ALLOW and decision.host:
        assert any(decision.host == r or decision.host.endswith("." + r) for r in RULE_HOSTS)
    assert_agrees_with_whatwg(url)


def test_an_origin_named_again_is_parsed_once_and_a_bad_one_refused_each_time() -> None:
    assert OriginRule.parse("*.caf.fr") is OriginRule.parse("*.caf.fr")
    for _ in range(2):
        with pytest.raises(ValueError, match="public suffix"):
            OriginRule.parse("*.gouv.fr")
