"""``images/set_tags``: EXACT's image-set tags, kept on the image sets, with rights and filters."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server_ext.conftest import API, World, body, call

TAGS = f"{API}/images/set_tags/"


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


async def _set(jp_fetch: Any, world: World, ident: int, user: str = "ann") -> dict[str, Any]:
    answer = await call(jp_fetch, f"{API}/images/image_sets/{ident}/", headers=world.auth(user))
    assert answer.code == 200, answer.body
    result: dict[str, Any] = body(answer)
    return result


async def test_tag_life_cycle(jp_fetch: Any, world: World) -> None:
    ann, sid = world.auth("ann"), world.image_set.id
    made = await call(jp_fetch, TAGS, method="POST", headers=ann,
                      body={"name": "her2", "imagesets": [sid]})  # fmt: skip
    assert made.code == 201, made.body
    tag = body(made)
    assert tag["name"] == "her2"
    assert tag["imagesets"] == [sid]
    assert isinstance(tag["id"], int)
    assert tag["id"] > 0
    image_set = await _set(jp_fetch, world, sid)
    assert tag["id"] in image_set["set_tags"]
    assert "her2" in image_set["tags"]

    got = await call(jp_fetch, f"{TAGS}{tag['id']}/", headers=world.auth("max"))  # a member
    assert body(got) == tag
    expanded = await call(jp_fetch, f"{TAGS}{tag['id']}/", headers=ann,
                          params={"expand": "imagesets"})  # fmt: skip
    assert body(expanded)["imagesets"][0]["name"] == "Breast cases"
    listed = await call(jp_fetch, f"{API}/images/image_sets/", headers=ann,
                        params={"set_tags": str(tag["id"])})  # fmt: skip
    assert [s["id"] for s in body(listed)["results"]] == [sid]

    renamed = await call(jp_fetch, f"{TAGS}{tag['id']}/", method="PATCH", headers=ann,
                         body={"name": "HER2 positive"})  # fmt: skip
    assert renamed.code == 200, renamed.body
    new = body(renamed)
    assert new["name"] == "HER2 positive"
    assert new["id"] != tag["id"]  # ids derive from names
    assert (await call(jp_fetch, f"{TAGS}{tag['id']}/", headers=ann)).code == 404
    image_set = await _set(jp_fetch, world, sid)
    assert "HER2 positive" in image_set["tags"]
    assert "her2" not in image_set["tags"]

    gone = await call(jp_fetch, f"{TAGS}{new['id']}/", method="DELETE", headers=ann)
    assert gone.code == 204
    assert (await call(jp_fetch, f"{TAGS}{new['id']}/", headers=ann)).code == 404
    assert "HER2 positive" not in (await _set(jp_fetch, world, sid))["tags"]


async def test_filters_and_reassignment(jp_fetch: Any, world: World) -> None:
    ann = world.auth("ann")
    second = world.stores["ann"].create_image_set(world.team, "Lung cases")
    first = world.image_set.id
    for name, sets in (("lung", [second.id]), ("archive", [first, second.id])):
        made = await call(jp_fetch, TAGS, method="POST", headers=ann,
                          body={"name": name, "imagesets": sets})  # fmt: skip
        assert made.code == 201, made.body
    rows = body(await call(jp_fetch, TAGS, headers=ann))["results"]
    by_name = {r["name"]: r for r in rows}
    assert by_name["archive"]["imagesets"] == sorted([first, second.id])
    assert by_name["lung"]["imagesets"] == [second.id]
    contains = await call(jp_fetch, TAGS, headers=ann, params={"name__contains": "arch"})
    assert [r["name"] for r in body(contains)["results"]] == ["archive"]
    on_first = await call(jp_fetch, TAGS, headers=ann, params={"imagesets": str(first)})
    assert [r["name"] for r in body(on_first)["results"]] == ["archive"]
    by_ids = await call(jp_fetch, TAGS, headers=ann,
                        params={"id__in": f"{by_name['lung']['id']},{by_name['archive']['id']}"})  # fmt: skip
    assert body(by_ids)["count"] == 2
    bad_filter = await call(jp_fetch, TAGS, headers=ann, params={"colour": "red"})
    assert bad_filter.code == 400

    # move "archive" to the first set only; then tag the second set through image_sets
    moved = await call(jp_fetch, f"{TAGS}{by_name['archive']['id']}/", method="PUT", headers=ann,
                       body={"name": "archive", "imagesets": [first]})  # fmt: skip
    assert body(moved)["imagesets"] == [first]
    assert "archive" not in (await _set(jp_fetch, world, second.id))["tags"]
    patched = await call(jp_fetch, f"{API}/images/image_sets/{second.id}/", method="PATCH",
                         headers=ann, body={"set_tags": [by_name["archive"]["id"]]})  # fmt: skip
    assert patched.code == 200, patched.body
    assert body(patched)["tags"] == ["archive"]  # "lung" was replaced: set_tags is the full list
    assert body(patched)["set_tags"] == [by_name["archive"]["id"]]
    unknown = await call(jp_fetch, f"{API}/images/image_sets/{second.id}/", method="PATCH",
                         headers=ann, body={"set_tags": [12345]})  # fmt: skip
    assert unknown.code == 400
    assert body(unknown)["field"] == "set_tags"


async def test_rights_and_bad_input(jp_fetch: Any, world: World) -> None:
    ann, sid = world.auth("ann"), world.image_set.id
    made = await call(jp_fetch, TAGS, method="POST", headers=ann,
                      body={"name": "private", "imagesets": [sid]})  # fmt: skip
    tag = body(made)
    before = await _set(jp_fetch, world, sid)

    member = await call(jp_fetch, TAGS, method="POST", headers=world.auth("max"),
                        body={"name": "mine", "imagesets": [sid]})  # fmt: skip
    assert member.code == 403
    assert "admins" in body(member)["detail"]
    for method, extra in (("PATCH", {"body": {"name": "x-rated"}}), ("DELETE", {})):
        refused = await call(jp_fetch, f"{TAGS}{tag['id']}/", method=method,
                             headers=world.auth("max"), **extra)  # fmt: skip
        assert refused.code == 403
    # outsiders and the other team do not see the tag or the set
    for user in ("olga", "eve"):
        listed = body(await call(jp_fetch, TAGS, headers=world.auth(user)))["results"]
        assert "private" not in [r["name"] for r in listed]
        hidden = await call(jp_fetch, f"{TAGS}{tag['id']}/", headers=world.auth(user))
        assert hidden.code == 404
        foreign = await call(jp_fetch, TAGS, method="POST", headers=world.auth(user),
                             body={"name": "theirs", "imagesets": [sid]})  # fmt: skip
        assert foreign.code == 404
    for payload, field in (
        ({"name": "", "imagesets": [sid]}, "name"),
        ({"name": "no sets"}, "imagesets"),
        ({"name": "no sets", "imagesets": []}, "imagesets"),
        ({"name": "bad sets", "imagesets": "x"}, "imagesets"),
        ({"name": "x" * 101, "imagesets": [sid]}, "name"),
    ):
        answer = await call(jp_fetch, TAGS, method="POST", headers=ann, body=payload)
        assert answer.code == 400, (payload, answer.body)
        assert body(answer)["field"] == field
    not_object = await call(jp_fetch, TAGS, method="POST", headers=ann, body=[1, 2])
    assert not_object.code == 400
    emptied = await call(jp_fetch, f"{TAGS}{tag['id']}/", method="PATCH", headers=ann,
                         body={"imagesets": []})  # fmt: skip
    assert emptied.code == 400
    assert await _set(jp_fetch, world, sid) == before  # nothing changed by any refusal
