"""Accounts and logins in the database: hashes, not passwords; tokens, hashed; expiry; resets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.agent.console.accounts import AccountError, Accounts, StaffRole
from kiosk.agent.console.security import LoginThrottle
from kiosk.core.store import Role, Store, open_store

pytestmark = pytest.mark.console
NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    yield store
    store.close()


def test_passwords_and_tokens_are_kept_hashed_and_logins_end(store: Store) -> None:
    accounts = Accounts(store)
    assert accounts.set("Claire.D", StaffRole.ADMIN, "un mot de passe long", NOW) is True
    assert accounts.authenticate("Claire.D", "un mot de passe long") is not None
    assert accounts.authenticate("Claire.D", "un mot de passe LONG") is None
    assert accounts.authenticate("personne", "un mot de passe long") is None
    token = accounts.open_session(accounts.all()[0], NOW, timedelta(hours=12))
    dump = "\n".join(store.conn.iterdump())
    assert "un mot de passe long" not in dump and token not in dump and "$argon2id$" in dump
    login = accounts.session(token, NOW + timedelta(hours=11))
    assert login is not None and login.account.is_admin and len(login.csrf) == 64
    assert login.csrf not in dump  # the form token is not in the database either
    assert accounts.session(token, NOW + timedelta(hours=12)) is None  # expired
    # A new password ends every open login of the account.
    token = accounts.open_session(accounts.all()[0], NOW, timedelta(hours=12))
    assert accounts.set("Claire.D", StaffRole.STAFF, "un autre mot de passe", NOW) is False
    assert accounts.session(token, NOW) is None
    assert accounts.all()[0].role is StaffRole.STAFF
    assert accounts.authenticate("Claire.D", "un mot de passe long") is None


@pytest.mark.parametrize(
    ("name", "password"),
    [("", "assez long mot"), ("a b", "assez long mot"), ("x" * 41, "assez long mot"), ("ok", "court")],
)
def test_a_bad_name_or_password_is_refused_in_french_and_nothing_is_written(
    store: Store, name: str, password: str
) -> None:
    with pytest.raises(AccountError, match=r"^(Le nom|Le mot de passe)"):
        Accounts(store).set(name, StaffRole.STAFF, password, NOW)
    assert store.conn.execute("SELECT COUNT(*) FROM console_accounts").fetchone()[0] == 0


def test_the_throttle_forgets_failures_after_its_window() -> None:
    now = [1000.0]
    throttle = LoginThrottle(allowed=3, window_s=600, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.blocked_for_s("10.0.0.9") == 0
        throttle.failed("10.0.0.9")
        now[0] += 60
    assert throttle.blocked_for_s("10.0.0.9") == pytest.approx(420)  # the first failure's end
    assert throttle.minutes(throttle.blocked_for_s("10.0.0.9")) == 7
    assert throttle.blocked_for_s("10.0.0.8") == 0  # per address
    now[0] += 420
    assert throttle.blocked_for_s("10.0.0.9") == 0


def test_expired_logins_and_year_old_audit_rows_are_purged(store: Store) -> None:
    accounts = Accounts(store)
    accounts.set("karim", StaffRole.STAFF, "assez long mot", NOW)
    account = accounts.all()[0]
    kept = accounts.open_session(account, NOW, timedelta(hours=12))
    accounts.open_session(account, NOW - timedelta(days=2), timedelta(hours=12))  # long expired
    accounts.audit("karim", "login", None, NOW - timedelta(days=366))
    accounts.audit("karim", "login", None, NOW - timedelta(days=364))
    assert accounts.purge(NOW) == 2
    assert accounts.session(kept, NOW) is not None
    assert [row[0] for row in accounts.audit_log()] == [int((NOW - timedelta(days=364)).timestamp() * 1000)]
