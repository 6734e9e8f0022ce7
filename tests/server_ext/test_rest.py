"""The EXACT-compatible REST API against the real extension, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.server_ext.conftest import API, World, body, call


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


def box(x: int, y: int, size: int = 20) -> dict[str, int]:
    return {"x1": x, "y1": y, "x2": x + size, "y2": y + size}


@pytest.fixture(scope="module")
def seeded(world: World) -> World:
    """Twelve annotations on team A's image, one on team B's."""
    ann = world.stores["ann"]
    ids = ann.add_annotations(
        [
            {"image": world.image.id, "annotation_type": world.box.id, "vector": box(10 * i, 10),
             "description": f"cell {i}"}
            for i in range(12)
        ]
    )  # fmt: skip
    world.extra["ids"] = ids
    olga = world.stores["olga"]
    olga_type = olga.create_annotation_type(
        olga.create_product(world.other_team, "P"), "t", vector_type=1
    )
    world.extra["olga_annotation"] = olga.add_annotation(world.other_image, olga_type, box(5, 5)).id
    return world


async def get(jp_fetch: Any, world: World, user: str, path: str, **params: Any) -> Any:
    response = await call(jp_fetch, f"{API}/{path}", params=params, headers=world.auth(user))
    assert response.code == 200, (path, response.code, response.body)
    return body(response)


async def test_pagination_next_urls_are_absolute_with_limit_and_offset(
    jp_fetch: Any, seeded: World
) -> None:
    first = await get(
        jp_fetch, seeded, "max", "annotations/annotations/", limit=5, image=seeded.image.id
    )
    assert first["count"] == 12
    assert len(first["results"]) == 5
    assert first["previous"] is None
    nxt = urlsplit(first["next"])
    assert nxt.scheme == "http"
    assert nxt.netloc
    query = parse_qs(nxt.query)
    assert query["limit"] == ["5"]
    assert query["offset"] == ["5"]
    assert query["image"] == [str(seeded.image.id)]
    last = await get(jp_fetch, seeded, "max", "annotations/annotations/", limit=5, offset=10,
                     image=seeded.image.id)  # fmt: skip
    assert [r["id"] for r in last["results"]] == seeded.extra["ids"][10:]
    assert last["next"] is None
    assert "offset=5" in last["previous"]


async def test_required_keys_of_every_resource(jp_fetch: Any, seeded: World) -> None:
    required = {
        "images/images/": {"name", "filename", "id", "width", "height", "mpp", "objectivePower",
                           "image_set", "image_type", "time"},
        "images/image_sets/": {"name", "team", "images", "product_set", "set_tags", "path"},
        "annotations/annotation_types/": {"name", "vector_type", "product", "color_code",
                                          "node_count", "closed", "area_hit_test"},
        "administration/products/": {"name", "team", "imagesets", "annotationtype_set"},
        "users/teams/": {"name", "members", "image_sets", "product_set", "memberships"},
        "users/team_membership/": {"team", "user", "is_admin"},
        "users/users/": {"username", "is_superuser", "is_staff", "is_active", "team_set"},
        "annotations/annotations/": {
            "annotation_type", "id", "vector", "verified_by_user", "image", "concealed",
            "blurred", "last_editor", "last_edit_time", "user", "time", "generated", "deleted",
            "description", "unique_identifier", "uploaded_media_files", "meta_data",
            "annotationversion_set"},
    }  # fmt: skip
    for path, keys in required.items():
        page = await get(jp_fetch, seeded, "ann", path)
        assert page["results"], path
        for row in page["results"]:
            missing = keys - set(row)
            assert not missing, (path, missing)
            for key in keys & {"name", "filename", "team", "user", "username"}:
                assert row[key] is not None, (path, key)


async def test_visibility_is_scoped_to_teams(jp_fetch: Any, seeded: World) -> None:
    for user, sets in (("ann", 1), ("max", 1), ("olga", 1), ("eve", 0)):
        page = await get(jp_fetch, seeded, user, "images/image_sets/")
        assert page["count"] == sets
    eve = await get(jp_fetch, seeded, "eve", "annotations/annotations/")
    assert eve["count"] == 0
    olga = await get(jp_fetch, seeded, "olga", "annotations/annotations/")
    assert [r["id"] for r in olga["results"]] == [seeded.extra["olga_annotation"]]
    for path in (f"images/images/{seeded.image.id}/", f"annotations/annotations/{seeded.extra['ids'][0]}/",
                 f"images/image_sets/{seeded.image_set.id}/", f"users/teams/{seeded.team.id}/"):  # fmt: skip
        response = await call(jp_fetch, f"{API}/{path}", headers=seeded.auth("olga"))
        assert response.code == 404, path
        assert list(body(response)) == ["detail"]


async def test_expand_fields_omit(jp_fetch: Any, seeded: World) -> None:
    ident = seeded.extra["ids"][0]
    row = await get(jp_fetch, seeded, "max", f"annotations/annotations/{ident}/",
                    expand="annotation_type,image.image_set")  # fmt: skip
    assert row["annotation_type"]["name"] == "mitotic figure"
    assert row["image"]["id"] == seeded.image.id
    assert row["image"]["image_set"]["name"] == "Breast cases"
    only = await get(
        jp_fetch, seeded, "max", "annotations/annotations/", fields="id,vector", limit=2
    )
    assert [set(r) for r in only["results"]] == [{"id", "vector"}] * 2
    images = await get(jp_fetch, seeded, "max", "images/images/", omit="annotations")
    assert "annotations" not in images["results"][0]
    assert "name" in images["results"][0]
    full = await get(jp_fetch, seeded, "max", f"images/images/{seeded.image.id}/")
    assert sorted(full["annotations"]) == sorted(seeded.extra["ids"])
    teams = await get(jp_fetch, seeded, "max", "users/teams/", expand="*")
    members = teams["results"][0]["members"]
    assert {m["username"] for m in members} == {"ann", "max"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"description": "cell 3"}, [3]),
        ({"description__contains": "cell 1"}, [1, 10, 11]),
        ({"id__in": "IDS:0,IDS:2"}, [0, 2]),
        ({"id__in": "[IDS:0, IDS:5]"}, [0, 5]),
        ({"deleted": "False"}, list(range(12))),
        ({"deleted": "false"}, list(range(12))),
        ({"deleted": "True"}, []),
        ({"vector_x_min": "95", "vector_x_max": "125"}, [8, 9, 10, 11]),
        ({"annotation_type": "POLY"}, []),
        ({"time__range": "2000-01-01T00:00:00,2999-01-01T00:00:00"}, list(range(12))),
    ],
)
async def test_annotation_filters(
    jp_fetch: Any, seeded: World, params: dict[str, str], expected: list[int]
) -> None:
    ids = seeded.extra["ids"]

    def fill(value: str) -> str:
        value = value.replace("POLY", str(seeded.polygon.id))
        for n in (5, 2, 0):
            value = value.replace(f"IDS:{n}", str(ids[n]))
        return value

    query = {k: fill(v) for k, v in params.items()}
    page = await get(jp_fetch, seeded, "max", "annotations/annotations/", limit=100,
                     image=seeded.image.id, **query)  # fmt: skip
    assert [r["id"] for r in page["results"]] == [ids[i] for i in expected]
    count = await get(jp_fetch, seeded, "max", "annotations/annotations/count/",
                      image=seeded.image.id, **query)  # fmt: skip
    assert count == {"count": len(expected)}


async def test_filters_on_other_resources(jp_fetch: Any, seeded: World) -> None:
    named = await get(
        jp_fetch, seeded, "max", "annotations/annotation_types/", name__contains="tum"
    )
    assert [r["name"] for r in named["results"]] == ["tumour"]
    ranged = await get(jp_fetch, seeded, "max", "images/images/", width__range="2000,3000")
    assert ranged["count"] == 1
    none = await get(jp_fetch, seeded, "max", "images/images/", width__range="1,10")
    assert none["count"] == 0
    sets = await get(jp_fetch, seeded, "max", "images/image_sets/", name__in="Breast cases,x")
    assert sets["count"] == 1
    admins = await get(jp_fetch, seeded, "max", "users/team_membership/", is_admin="true")
    assert [r["username"] for r in admins["results"]] == ["ann"]


async def test_annotation_writes_bulk_upsert_patch_delete(jp_fetch: Any, seeded: World) -> None:
    url = f"{API}/annotations/annotations/"
    image, kind = seeded.image.id, seeded.box.id
    items = [
        {"image": image, "annotation_type": kind, "vector": box(500 + i, 500)} for i in range(3)
    ]
    bulk = await call(jp_fetch, url, method="POST", body=items, headers=seeded.auth("max"))
    assert bulk.code == 201, bulk.body
    made = body(bulk)
    assert [r["vector"] for r in made] == [i["vector"] for i in items]
    assert {r["user"] for r in made} == {seeded.stores["max"].user.id}

    uid = str(uuid.uuid4())
    first = {
        "image": image,
        "annotation_type": kind,
        "vector": box(700, 700),
        "unique_identifier": uid,
    }
    created = await call(jp_fetch, url, method="POST", body=first, headers=seeded.auth("max"))
    assert created.code == 201
    again = await call(jp_fetch, url, method="POST", headers=seeded.auth("max"),
                       body={**first, "vector": box(710, 710), "deleted": False})  # fmt: skip
    assert again.code == 200
    assert body(again)["id"] == body(created)["id"]
    assert body(again)["vector"] == box(710, 710)

    ident = body(created)["id"]
    patched = await call(jp_fetch, f"{url}{ident}/", method="PATCH", headers=seeded.auth("ann"),
                         body={"description": "checked", "annotation_type": seeded.box.id})  # fmt: skip
    assert patched.code == 200
    assert body(patched)["description"] == "checked"
    assert body(patched)["last_editor"] == seeded.stores["ann"].user.id
    stale = await call(jp_fetch, f"{url}{ident}/", method="PATCH", headers=seeded.auth("max"),
                       body={"description": "late", "revision": 1})  # fmt: skip
    assert stale.code == 409

    gone = await call(jp_fetch, f"{url}multiple_delete/", method="DELETE",
                      params={"id__in": f"[{made[0]['id']}, {made[1]['id']}]"},
                      headers=seeded.auth("max"))  # fmt: skip
    assert body(gone) == {"annotations.Annotation": 2}
    left = await get(jp_fetch, seeded, "max", "annotations/annotations/", deleted="False",
                     id__in=",".join(str(r["id"]) for r in made))  # fmt: skip
    assert [r["id"] for r in left["results"]] == [made[2]["id"]]
    deleted = await call(
        jp_fetch, f"{url}{made[2]['id']}/", method="DELETE", headers=seeded.auth("max")
    )
    assert deleted.code == 204
    row = await get(jp_fetch, seeded, "max", f"annotations/annotations/{made[2]['id']}/")
    assert row["deleted"] is True


async def test_outsider_writes_are_refused(jp_fetch: Any, seeded: World) -> None:
    url = f"{API}/annotations/annotations/"
    item = {"image": seeded.image.id, "annotation_type": seeded.box.id, "vector": box(1, 1)}
    for user in ("eve", "olga"):
        for payload in (item, [item]):
            response = await call(
                jp_fetch, url, method="POST", body=payload, headers=seeded.auth(user)
            )
            assert response.code in {403, 404}, response.body
        ident = seeded.extra["ids"][0]
        patch = await call(jp_fetch, f"{url}{ident}/", method="PATCH", body={"description": "x"},
                           headers=seeded.auth(user))  # fmt: skip
        assert patch.code == 404
        gone = await call(jp_fetch, f"{url}multiple_delete/", method="DELETE",
                          params={"id__in": str(ident)}, headers=seeded.auth(user))  # fmt: skip
        assert gone.code in {403, 404}
    still = await get(jp_fetch, seeded, "ann", f"annotations/annotations/{seeded.extra['ids'][0]}/")
    assert still["deleted"] is False
    assert still["description"] == "cell 0"


async def test_catalog_writes(jp_fetch: Any, seeded: World) -> None:
    team = await call(jp_fetch, f"{API}/users/teams/", method="POST", body={"name": "Team C"},
                      headers=seeded.auth("eve"))  # fmt: skip
    assert team.code == 201
    team_id = body(team)["id"]
    product = await call(jp_fetch, f"{API}/administration/products/", method="POST",
                         body={"name": "Grading", "team": team_id, "annotationtype_set": []},
                         headers=seeded.auth("eve"))  # fmt: skip
    assert product.code == 201
    kind = await call(jp_fetch, f"{API}/annotations/annotation_types/", method="POST",
                      body={"name": "grade 1", "product": body(product)["id"], "vector_type": 5,
                            "closed": 1, "color_code": "#00FF00"},
                      headers=seeded.auth("eve"))  # fmt: skip
    assert kind.code == 201, kind.body
    assert body(kind)["closed"] is True
    image_set = await call(jp_fetch, f"{API}/images/image_sets/", method="POST",
                           body={"name": "Eve's set", "team": team_id, "images": [],
                                 "product_set": [body(product)["id"]], "set_tags": []},
                           headers=seeded.auth("eve"))  # fmt: skip
    assert image_set.code == 201
    set_id = body(image_set)["id"]
    patched = await call(jp_fetch, f"{API}/images/image_sets/{set_id}/", method="PATCH",
                         body={"description": "new", "public": True, "priority": 1},
                         headers=seeded.auth("eve"))  # fmt: skip
    assert body(patched)["description"] == "new"
    assert body(patched)["priority"] == 1
    member = await call(jp_fetch, f"{API}/users/team_membership/", method="POST",
                        body={"team": team_id, "user": "max"}, headers=seeded.auth("eve"))  # fmt: skip
    assert member.code == 201
    # max is now a member, not an admin: he may not create types there
    refused = await call(jp_fetch, f"{API}/annotations/annotation_types/", method="POST",
                         body={"name": "x", "product": body(product)["id"]},
                         headers=seeded.auth("max"))  # fmt: skip
    assert refused.code == 403
    assert "detail" in body(refused)


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("POST", "annotations/annotations/", "{not json"),
        ("POST", "annotations/annotations/", '"a string"'),
        ("POST", "annotations/annotations/", "[1, 2]"),
        ("POST", "annotations/annotations/", '{"image": "abc", "annotation_type": 1}'),
        ("POST", "annotations/annotations/", '{"image": IMG, "annotation_type": true}'),
        (
            "POST",
            "annotations/annotations/",
            '{"image": IMG, "annotation_type": TYPE, "vector": "x"}',
        ),
        (
            "POST",
            "annotations/annotations/",
            '{"image": IMG, "annotation_type": TYPE, "vector": {"x1": 1}}',
        ),
        ("POST", "annotations/annotations/", '{"image": 99999999999, "annotation_type": TYPE}'),
        ("POST", "annotations/annotations/", '{"image": IMG}'),
        ("POST", "images/image_sets/", '{"name": 5, "team": 1}'),
        ("POST", "images/image_sets/", '{"name": ""}'),
        (
            "POST",
            "annotations/annotation_types/",
            '{"name": "x", "product": PROD, "vector_type": 99}',
        ),
        (
            "POST",
            "annotations/annotation_types/",
            '{"name": "x", "product": PROD, "color_code": "red"}',
        ),
        ("POST", "images/images/", '{"image_set": SET, "path": "../../../../etc/passwd"}'),
        ("POST", "images/images/", '{"image_set": SET, "path": "/etc/hostname"}'),
        ("POST", "images/images/", '{"image_set": SET, "path": 12}'),
        ("POST", "images/images/", '{"image_set": "x", "path": "/tmp"}'),
        ("GET", "annotations/annotations/?limit=abc", None),
        ("GET", "annotations/annotations/?offset=-1", None),
        ("GET", "annotations/annotations/?nonsense=1", None),
        ("GET", "annotations/annotations/?deleted=maybe", None),
        ("GET", "annotations/annotations/?id__range=1", None),
        ("GET", "annotations/annotations/?time__gte=yesterday", None),
        ("GET", "images/images/?width__range=a,b", None),
        ("DELETE", "annotations/annotations/multiple_delete/?id__in=a,b", None),
        ("DELETE", "annotations/annotations/multiple_delete/", None),
        ("PATCH", "annotations/annotations/ANN/", '{"deleted": "perhaps"}'),
        ("PATCH", "annotations/annotations/ANN/", '{"revision": "one", "description": "x"}'),
        ("PATCH", "annotations/annotations/ANN/", "[]"),
        ("PUT", "images/images/IMG/", '{"image_set": 999999}'),
        ("GET", "images/images/99999999999999999/", None),
        ("PATCH", "users/teams/999999/", '{"name": "x"}'),
        ("DELETE", "images/images/IMG/", None),
    ],
)
async def test_hostile_requests_are_4xx_never_500(
    jp_fetch: Any, seeded: World, method: str, path: str, payload: str | None
) -> None:
    subs = {"IMG": seeded.image.id, "TYPE": seeded.box.id, "PROD": seeded.product.id,
            "SET": seeded.image_set.id, "ANN": seeded.extra["ids"][0]}  # fmt: skip
    for key, value in subs.items():
        path = path.replace(key, str(value))
        payload = payload.replace(key, str(value)) if payload else payload
    target, _, query = path.partition("?")
    params = dict(p.split("=", 1) for p in query.split("&")) if query else None
    response = await call(jp_fetch, f"{API}/{target}", method=method, params=params,
                          body=payload, headers=seeded.auth("ann"),
                          allow_nonstandard_methods=True)  # fmt: skip
    assert 400 <= response.code < 500, (response.code, response.body)
    assert body(response)["detail"]


async def test_openapi_lists_the_served_routes(jp_fetch: Any, seeded: World) -> None:
    doc = await get(jp_fetch, seeded, "max", "openapi")
    assert doc["openapi"].startswith("3.")
    assert doc["servers"][0]["url"].endswith("/exact")
    paths = doc["paths"]
    for name in ("annotations/annotations", "images/images", "images/image_sets", "users/teams",
                 "administration/products", "annotations/annotation_types"):  # fmt: skip
        assert f"/api/v1/{name}/" in paths
        assert {"get", "post"} <= set(paths[f"/api/v1/{name}/"])
    listed = [p for p, item in paths.items() if p.startswith("/api/v1/") and "{" not in p
              and "get" in item and "multiple_delete" not in p]  # fmt: skip
    assert len(listed) >= 13
    for path in listed:  # every documented list route answers
        params = {"annotation": seeded.extra["ids"][0]} if "media_files" in path else {}
        page = await call(jp_fetch, f"exact{path}", params=params, headers=seeded.auth("max"))
        assert page.code == 200, (path, page.body)
    filters = {p["name"] for p in paths["/api/v1/annotations/annotations/"]["get"]["parameters"]}
    assert {"limit", "offset", "expand", "image", "id__in", "vector_x_min", "deleted"} <= filters


async def test_paging_cache_sees_changes_from_outside_the_server(
    jp_fetch: Any, seeded: World
) -> None:
    first = await get(
        jp_fetch, seeded, "max", "annotations/annotations/", image=seeded.image.id, limit=2
    )
    before = first["count"]
    ann = seeded.stores["ann"]
    made = ann.add_annotation(seeded.image, seeded.box, box(900, 900))  # not through the server
    ann.wait_for_feed()  # type: ignore[attr-defined] - the change feed has delivered it
    after = await get(jp_fetch, seeded, "max", "annotations/annotations/", image=seeded.image.id,
                      limit=2, offset=before)  # fmt: skip
    assert after["count"] == before + 1
    assert [r["id"] for r in after["results"]] == [made.id]
    ann.delete_annotation(made)
    ann.wait_for_feed()  # type: ignore[attr-defined]
    live = await get(jp_fetch, seeded, "max", "annotations/annotations/", image=seeded.image.id,
                     deleted="False")  # fmt: skip
    assert made.id not in [r["id"] for r in live["results"]]
