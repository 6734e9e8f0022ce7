"""Hostile requests to set tags, media files, passwords and Basic: 4xx with a detail, never 500."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.server_ext.conftest import API, World, body, call


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


async def test_no_500_on_hostile_requests(jp_fetch: Any, world: World) -> None:
    sid = world.image_set.id
    made = await call(jp_fetch, f"{API}/images/set_tags/", method="POST",
                      headers=world.auth("ann"), body={"name": "hostile", "imagesets": [sid]})  # fmt: skip
    tag = body(made)["id"]
    rpc = "exact/api/native/store/set_password"
    media = f"{API}/annotations/annotation_media_files/"
    json_requests: list[tuple[str, str, Any]] = [
        ("PATCH", f"{API}/images/set_tags/{tag}/", "not json at all"),
        ("PATCH", f"{API}/images/set_tags/{tag}/", [1, 2]),
        ("PATCH", f"{API}/images/set_tags/{tag}/", {"name": 5}),
        ("PATCH", f"{API}/images/set_tags/{tag}/", {"name": None}),
        ("PATCH", f"{API}/images/set_tags/{tag}/", {"imagesets": [10**20]}),
        ("PATCH", f"{API}/images/set_tags/{tag}/", {"imagesets": [-1]}),
        ("PATCH", f"{API}/images/set_tags/{tag}/", {"imagesets": {"a": 1}}),
        ("PATCH", f"{API}/images/set_tags/{tag}/", {"imagesets": [True]}),
        ("POST", f"{API}/images/set_tags/", {"name": "\x00", "imagesets": [sid]}),
        ("POST", f"{API}/images/set_tags/", {"name": ["x"], "imagesets": [sid]}),
        ("GET", f"{API}/images/set_tags/?imagesets=abc", None),
        ("GET", f"{API}/images/set_tags/?id__in=1,x", None),
        ("GET", f"{API}/images/set_tags/99999999999999/", None),
        ("PATCH", f"{API}/images/image_sets/{sid}/", {"set_tags": "x"}),
        ("PATCH", f"{API}/images/image_sets/{sid}/", {"set_tags": [None]}),
        ("PATCH", f"{API}/images/image_sets/{sid}/", {"tags": ["nul\x00"]}),
        ("POST", rpc, {"args": ["ann"]}),
        ("POST", rpc, {"args": ["ann", 12345678]}),
        ("POST", rpc, {"args": ["ann", None]}),
        ("POST", rpc, {"args": [None, "long enough pw"]}),
        ("POST", rpc, {"args": ["ann", "long enough pw", "extra"]}),
        ("POST", rpc, {"kwargs": {"user": "ann", "password": "x" * 2000}}),
        ("POST", rpc, {"args": "ann"}),
        ("POST", media, {"annotation": "x", "name": "n", "file": "https://e.org/f"}),
        ("POST", media, {"annotation": 1, "name": "", "file": "https://e.org/f"}),
        (
            "POST",
            media,
            {"annotation": 1, "name": "n", "file": "https://e.org/f", "media_file_type": "video"},
        ),
        ("GET", f"{media}?annotation=abc", None),
        ("POST", f"{API}/users/users/", {"username": "nul\x00byte"}),
        (
            "POST",
            f"{API}/annotations/annotations/",
            {
                "image": world.image.id,
                "annotation_type": world.box.id,
                "meta_data": {"k": "a\x00"},
                "vector": {"x1": 1, "y1": 1, "x2": 5, "y2": 5},
            },
        ),
        ("POST", f"{API}/users/teams/", {"name": "team\x00nul"}),
        ("POST", f"{API}/images/image_sets/", {"name": "set\x00nul", "team": world.team.id}),
        ("GET", f"{media}99999999/download/", None),
        ("DELETE", f"{media}99999999/", None),
    ]
    for method, target, payload in json_requests:
        kwargs: dict[str, Any] = {"method": method, "headers": world.auth("ann")}
        if payload is not None:
            kwargs["body"] = payload
        path, _, query = target.partition("?")
        if query:
            kwargs["params"] = dict([query.split("=", 1)])
        answer = await call(jp_fetch, path, **kwargs)
        assert 400 <= answer.code < 500, (method, path, payload, answer.code, answer.body)
        assert answer.headers["Content-Type"] == "application/json", (method, path, answer.code)
        assert body(answer)["detail"], (method, path)
    broken_multipart = [
        b'--b\r\nContent-Disposition: form-data; name="annotation"\r\n\r\n1\r\n',  # no end
        b"garbage",
        b'--b\r\nContent-Disposition: form-data; name="file"; filename=""\r\n\r\nx\r\n--b--\r\n',
    ]
    for payload in broken_multipart:
        headers = {**world.auth("ann"), "Content-Type": "multipart/form-data; boundary=b"}
        answer = await call(jp_fetch, media, method="POST", body=payload, headers=headers)
        assert 400 <= answer.code < 500, (payload, answer.code, answer.body)
    for raw in (b"ann:" + b"\xff" * 10, b"\x00:\x00", b"ann:" + b"p" * 10_000):
        header = {"Authorization": "Basic " + base64.b64encode(raw).decode()}
        answer = await call(jp_fetch, f"{API}/users/users/", headers=header)
        assert answer.code == 403, (raw[:20], answer.code)
