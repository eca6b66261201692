"""Secrets of the federation server: device and read tokens, enrolment codes, passwords.

Tokens and codes are random; only their SHA-256 is stored (they carry 256 bits of entropy, a
slow hash adds nothing). Passwords are hashed with scrypt and a per-user salt, with OWASP's
parameters (Password Storage Cheat Sheet: N=2^17, r=8, p=1, 128 MiB); a hash made with older
parameters is replaced at the next successful login (:func:`needs_rehash`).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**17, 8, 1
SCRYPT_MAXMEM = 2**28  # 256 MiB: room for N=2^17, r=8 (128 MiB)
# Each verification holds 128 MiB for about a second: a burst of logins waits here instead of
# taking all the memory of the machine.
_VERIFICATIONS = threading.BoundedSemaphore(2)


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def new_code() -> str:
    """An enrolment code a technician can type: 4 groups of 4 letters and digits."""
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    raw = "".join(secrets.choice(alphabet) for _ in range(16))
    return "-".join(raw[i : i + 4] for i in range(0, 16, 4))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


def code_hash(code: str) -> str:
    return token_hash(code.strip().upper())


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    with _VERIFICATIONS:
        digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=SCRYPT_MAXMEM)


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def check_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``. For an unknown user (``stored`` None) the same
    work is done against a dummy hash, so the answer takes as long whether the account exists."""
    target = stored or _dummy_hash()
    try:
        scheme, n, r, p, salt, digest = target.split("$")
        if scheme != "scrypt":
            return False
        with _VERIFICATIONS:
            computed = _scrypt(password, bytes.fromhex(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest) and stored is not None


def needs_rehash(stored: str) -> bool:
    """Whether ``stored`` was made with other parameters than today's."""
    return not stored.startswith(f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}$")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A CSV cell that no spreadsheet runs as a formula: text starting with = + - @, a tab or a
    carriage return gets a leading apostrophe (OWASP's CSV injection advice)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
