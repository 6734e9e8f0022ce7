"""Password hashing for HTTP Basic: scrypt with a random salt, stored as one string.

The stored form is ``scrypt$<n>$<r>$<p>$<salt hex>$<hash hex>``, so the cost parameters can be
raised later without invalidating existing hashes (each hash is checked with its own).

Examples
--------
>>> stored = hash_password("correct horse")
>>> stored.split("$")[:4]
['scrypt', '16384', '8', '1']
>>> verify_password("correct horse", stored), verify_password("wrong horse", stored)
(True, False)
>>> check_password("short")
Traceback (most recent call last):
...
exact_lab.errors.BadInput: password: at least 8 characters are needed (got 5); choose a longer one
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from exact_lab.errors import BadInput

__all__ = ["MIN_LENGTH", "check_password", "dummy_verify", "hash_password", "verify_password"]

MIN_LENGTH = 8
MAX_LENGTH = 1024  # scrypt's cost grows with the input; nobody types more
N, R, P = 2**14, 8, 1  # ~16 MiB and some tens of ms per check: slow for guessing, fine for logins
SALT_BYTES = 16
HASH_BYTES = 32
_MAXMEM = 64 * 1024 * 1024
_SCHEME = "scrypt"


def check_password(password: object) -> str:
    """Return ``password`` if it is an acceptable new password, else raise BadInput."""
    if not isinstance(password, str):
        raise BadInput(
            f"password: expected a string, got {type(password).__name__}", field="password"
        )
    if len(password) < MIN_LENGTH:
        raise BadInput(
            f"password: at least {MIN_LENGTH} characters are needed (got {len(password)}); "
            "choose a longer one",
            field="password",
        )
    if len(password) > MAX_LENGTH:
        raise BadInput(
            f"password: at most {MAX_LENGTH} characters are allowed; choose a shorter one",
            field="password",
        )
    return password


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=HASH_BYTES
    )


def hash_password(password: str) -> str:
    """Hash a (checked) password with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(check_password(password), salt, N, R, P)
    return f"{_SCHEME}${N}${R}${P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    """Tell whether ``password`` matches ``stored`` (False for no hash or a malformed one)."""
    if not stored or not isinstance(password, str) or len(password) > MAX_LENGTH:
        return False
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != _SCHEME:  # noqa: PLR2004 - the six fields of the format
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
        actual = _scrypt(password, salt, n, r, p)
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def dummy_verify(password: str) -> None:
    """Spend the time of one check, so an unknown user answers as slowly as a wrong password."""
    text = password[:MAX_LENGTH] if isinstance(password, str) else ""
    _scrypt(text, b"\0" * SALT_BYTES, N, R, P)
