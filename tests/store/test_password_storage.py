"""How passwords are stored in the database: scrypt, a random salt each time, never plain."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from exact_lab.errors import PermissionDenied
from exact_lab.store import connect

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)

STORED = re.compile(r"^scrypt\$16384\$8\$1\$[0-9a-f]{32}\$[0-9a-f]{64}$")


def _hash_of(url: str, username: str) -> str | None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = sa.text("SELECT password_hash FROM users WHERE username = :u")
            value: str | None = conn.execute(query, {"u": username}).scalar_one()
            return value
    finally:
        engine.dispose()


def test_hashes_are_salted_scrypt(backend) -> None:
    _, url, opener = backend
    first, second = opener("hash_one"), opener("hash_two")
    assert _hash_of(url, "hash_one") is None  # no password until one is set
    first.set_password("hash_one", "the same password")
    second.set_password("hash_two", "the same password")
    one, two = _hash_of(url, "hash_one"), _hash_of(url, "hash_two")
    assert one is not None
    assert STORED.match(one)
    assert two is not None
    assert STORED.match(two)
    assert one != two  # different salts
    assert "the same password" not in one
    first.set_password("hash_one", "the same password")
    assert _hash_of(url, "hash_one") != one  # a new salt on every change
    first.close()
    second.close()


def test_a_tampered_hash_refuses_instead_of_failing(backend) -> None:
    _, url, opener = backend
    store = opener("tampered")
    store.set_password("tampered", "original password")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE users SET password_hash = 'md5$abc' WHERE username = 'tampered'")
        )
    with connect(url, user="checker") as checker:
        with pytest.raises(PermissionDenied, match="Invalid username/password"):
            checker.authenticate_password("tampered", "original password")
        with engine.begin() as conn:  # a scrypt hash with unreadable parameters
            conn.execute(
                sa.text(
                    "UPDATE users SET password_hash = 'scrypt$zz$8$1$00$00' "
                    "WHERE username = 'tampered'"
                )
            )
        with pytest.raises(PermissionDenied, match="Invalid username/password"):
            checker.authenticate_password("tampered", "original password")
    engine.dispose()
    store.close()
