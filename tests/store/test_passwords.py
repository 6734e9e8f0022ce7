"""Passwords for HTTP Basic, on every backend: set your own, check, deactivate.

Every refusal of ``authenticate_password`` carries the same message, so a caller cannot tell an
unknown user from a wrong password, a user without a password or a deactivated one.
"""

from __future__ import annotations

import pytest

from exact_lab.errors import BadInput, PermissionDenied
from tests.store.conftest import World

BAD = "Invalid username/password."


def _refused(store, username: str, password: str) -> str:
    with pytest.raises(PermissionDenied) as caught:
        store.authenticate_password(username, password)
    return str(caught.value)


def test_set_own_password_and_log_in(world: World) -> None:
    member = world.member
    name = member.user.username
    member.set_password(name, "correct horse battery")
    assert world.admin.authenticate_password(name, "correct horse battery").id == member.user.id
    assert member.authenticate_password(name, "correct horse battery").username == name
    member.set_password(member.user, "a second passphrase")  # the entity works too
    assert _refused(world.admin, name, "correct horse battery") == BAD
    assert world.outsider.authenticate_password(name, "a second passphrase").username == name


def test_every_refusal_reads_the_same(world: World) -> None:
    world.admin.set_password(world.admin.user.username, "admin's passphrase")
    admin_name = world.admin.user.username
    messages = {
        _refused(world.outsider, admin_name, "admin's passphras"),  # wrong password
        _refused(world.outsider, admin_name, ""),  # empty password
        _refused(world.outsider, f"nobody-{world.suffix}", "admin's passphrase"),  # unknown user
        _refused(world.outsider, world.member.user.username, "whatever it is"),  # no password set
        _refused(world.outsider, admin_name.upper(), "admin's passphrase"),  # names are exact
        _refused(world.outsider, "nul\x00byte", "admin's passphrase"),  # PostgreSQL refuses NUL
        _refused(world.outsider, "x" * 5000, "admin's passphrase"),
    }
    assert messages == {BAD}


def test_nobody_sets_another_users_password(world: World) -> None:
    target = world.member.user.username
    for other in (world.admin, world.other_admin, world.outsider):  # a team admin neither
        with pytest.raises(PermissionDenied, match="set-password"):
            other.set_password(target, "hijacked password")
    assert _refused(world.admin, target, "hijacked password") == BAD


def test_short_or_wrong_passwords_are_bad_input(world: World) -> None:
    me = world.outsider.user.username
    with pytest.raises(BadInput, match="at least 8 characters") as caught:
        world.outsider.set_password(me, "1234567")
    assert caught.value.field == "password"
    with pytest.raises(BadInput, match="expected a string"):
        world.outsider.set_password(me, 12345678)  # type: ignore[arg-type]
    with pytest.raises(BadInput, match="at most"):
        world.outsider.set_password(me, "x" * 5000)
    assert _refused(world.admin, me, "1234567") == BAD  # nothing was stored
    world.outsider.set_password(me, "12345678")  # exactly the minimum is fine
    assert world.admin.authenticate_password(me, "12345678").username == me


def test_deactivation_clears_the_password(world: World, store_factory) -> None:
    leaver = store_factory(f"leaver_{world.suffix}")
    name = leaver.user.username
    leaver.set_password(name, "goodbye everyone")
    assert world.admin.authenticate_password(name, "goodbye everyone").username == name
    gone = leaver.deactivate_user(name)
    assert _refused(world.admin, name, "goodbye everyone") == BAD
    assert _refused(world.admin, gone.username, "goodbye everyone") == BAD
