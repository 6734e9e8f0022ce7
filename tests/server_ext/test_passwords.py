"""HTTP Basic with real passwords against the extension, and ``exact-lab user set-password``."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest

from exact_lab.cli import main
from exact_lab.store import connect
from tests.server_ext.conftest import API, World, body, call


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


async def test_basic_with_a_password(jp_fetch: Any, world: World) -> None:
    world.stores["max"].set_password("max", "max's passphrase")
    ok = await call(jp_fetch, f"{API}/images/image_sets/", headers=basic("max", "max's passphrase"))
    assert ok.code == 200
    assert [s["name"] for s in body(ok)["results"]] == ["Breast cases"]
    again = await call(jp_fetch, f"{API}/users/users/", headers=basic("max", "max's passphrase"),
                       params={"username": "max"})  # fmt: skip
    assert body(again)["results"][0]["username"] == "max"
    for headers in (
        basic("max", "max's passphras"),  # wrong password
        basic("ann", "max's passphrase"),  # someone else's password
        basic("nobody", "max's passphrase"),  # unknown user
        basic("olga", "anything at all"),  # olga has no password
        basic("max", ""),
    ):
        refused = await call(jp_fetch, f"{API}/images/image_sets/", headers=headers)
        assert refused.code == 403
        assert body(refused) == {"detail": "Invalid username/password."}
    # writes with Basic need no XSRF cookie (no browser session involved)
    vector = {"x1": 1, "y1": 2, "x2": 30, "y2": 40}
    made = await call(jp_fetch, f"{API}/annotations/annotations/", method="POST",
                      headers=basic("max", "max's passphrase"),
                      body={"annotation_type": world.box.id, "image": world.image.id,
                            "vector": vector})  # fmt: skip
    assert made.code == 201, made.body


async def test_a_token_still_works_as_the_basic_password(jp_fetch: Any, world: World) -> None:
    ok = await call(jp_fetch, f"{API}/images/image_sets/", headers=world.auth("olga", basic=True))
    assert [s["name"] for s in body(ok)["results"]] == ["Private cases"]
    raw = base64.b64encode(f"ann:{world.tokens['olga']}".encode()).decode()  # olga's token
    refused = await call(jp_fetch, f"{API}/images/image_sets/",
                         headers={"Authorization": f"Basic {raw}"})  # fmt: skip
    assert refused.code == 403
    assert body(refused)["detail"] == "Invalid username/password."


async def test_a_new_password_over_the_api_replaces_the_old_at_once(
    jp_fetch: Any, world: World
) -> None:
    world.stores["eve"].set_password("eve", "first of many")
    old = basic("eve", "first of many")
    assert (await call(jp_fetch, f"{API}/users/users/", headers=old)).code == 200  # remembered
    changed = await call(jp_fetch, "exact/api/native/store/set_password", method="POST",
                         headers=old, body={"args": ["eve", "second of many"]})  # fmt: skip
    assert changed.code == 200, changed.body
    assert (await call(jp_fetch, f"{API}/users/users/", headers=old)).code == 403
    new = basic("eve", "second of many")
    assert (await call(jp_fetch, f"{API}/users/users/", headers=new)).code == 200
    hijack = await call(jp_fetch, "exact/api/native/store/set_password", method="POST",
                        headers=new, body={"args": ["ann", "eve owns ann now"]})  # fmt: skip
    assert hijack.code == 403
    assert "set-password" in body(hijack)["detail"]
    short = await call(jp_fetch, "exact/api/native/store/set_password", method="POST",
                       headers=new, body={"args": ["eve", "short"]})  # fmt: skip
    assert short.code == 400
    assert body(short)["field"] == "password"
    probe = await call(jp_fetch, "exact/api/native/store/authenticate_password", method="POST",
                       headers=new, body={"args": ["ann", "guess"]})  # fmt: skip
    assert probe.code == 404  # not callable over the RPC: Basic is the only way to try one


async def test_malformed_basic_headers_are_403(jp_fetch: Any, world: World) -> None:
    del world
    for header in ("Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                   "Basic " + base64.b64encode(b":pw-without-user").decode(),
                   "Basic " + base64.b64encode(b"\xff\xfe:x").decode()):  # fmt: skip
        answer = await call(jp_fetch, f"{API}/users/users/", headers={"Authorization": header})
        assert answer.code == 403
        assert "detail" in body(answer)


def test_cli_set_password(store_url: str, world: World, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    del world
    monkeypatch.setattr("sys.stdin", io.StringIO("set by the admin\n"))
    assert main(["user", "set-password", "olga", "--database-url", store_url,
                 "--password-stdin"]) == 0  # fmt: skip
    assert "olga" in capsys.readouterr().out
    with connect(store_url, user="checker") as store:
        assert store.authenticate_password("olga", "set by the admin").username == "olga"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "set-password", "olga", "--database-url", store_url,
                 "--password-stdin"]) == 1  # fmt: skip
    assert "at least 8 characters" in capsys.readouterr().err
    with connect(store_url, user="checker") as store:  # the old password still works
        assert store.authenticate_password("olga", "set by the admin").username == "olga"
    prompts = iter(["typed twice", "typed twice"])
    monkeypatch.setattr("getpass.getpass", lambda _prompt: next(prompts))
    assert main(["user", "set-password", "newcomer", "--database-url", store_url]) == 0
    with connect(store_url, user="checker") as store:
        assert store.authenticate_password("newcomer", "typed twice").username == "newcomer"
    prompts = iter(["typed twice", "typed thrice"])
    assert main(["user", "set-password", "newcomer", "--database-url", store_url]) == 1
    assert "differ" in capsys.readouterr().err
    assert main(["user", "set-password", "x", "--database-url", "http://h/exact",
                 "--password-stdin"]) == 1  # fmt: skip
    assert "needs the database itself" in capsys.readouterr().err
