"""Native Arrow endpoints and the events websocket, with permission checks."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pyarrow as pa
import pytest
from tornado.httpclient import HTTPClientError

from tests.server_ext.conftest import World, body, call

NATIVE = "exact/api/native"
WAIT = 30  # seconds a websocket read may take before the test gives up (not an assertion)


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


def arrow(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


def stream(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


@pytest.fixture(scope="module")
def boxes(world: World) -> list[int]:
    rows = [
        {"image": world.image.id, "annotation_type": world.box.id,
         "vector": {"x1": 100 * i, "y1": 100, "x2": 100 * i + 50, "y2": 150}}
        for i in range(10)
    ]  # fmt: skip
    return world.stores["ann"].add_annotations(rows)


async def test_arrow_read_with_bbox_types_and_version(
    jp_fetch: Any, world: World, boxes: list[int]
) -> None:
    url = f"{NATIVE}/images/{world.image.id}/annotations"
    full = await call(jp_fetch, url, headers=world.auth("max"))
    assert full.code == 200
    assert full.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    table = arrow(full.body)
    assert set(boxes) <= set(table.column("id").to_pylist())
    assert json.loads(table.column("vector")[0].as_py())["y2"] == 150
    window = arrow((await call(jp_fetch, url, params={"bbox": "120,0,360,400"},
                               headers=world.auth("max"))).body)  # fmt: skip
    assert sorted(window.column("id").to_pylist()) == boxes[1:4]
    none = arrow((await call(jp_fetch, url, params={"types": str(world.polygon.id)},
                             headers=world.auth("max"))).body)  # fmt: skip
    assert none.num_rows == 0
    version = world.stores["ann"].create_version(world.image_set, f"v-{len(boxes)}")
    extra = world.stores["ann"].add_annotation(
        world.image, world.box, {"x1": 1, "y1": 1, "x2": 9, "y2": 9}
    )
    then = arrow((await call(jp_fetch, url, params={"version": str(version.id)},
                             headers=world.auth("max"))).body)  # fmt: skip
    assert extra.id not in then.column("id").to_pylist()
    diff = await call(jp_fetch, f"{NATIVE}/versions/{version.id}/diff", headers=world.auth("max"))
    changes = arrow(diff.body).to_pydict()
    assert dict(zip(changes["id"], changes["change"], strict=True))[extra.id] == "added"


@pytest.mark.parametrize("user", ["eve", "olga"])
async def test_arrow_outsiders_get_no_rows(jp_fetch: Any, world: World, user: str) -> None:
    response = await call(jp_fetch, f"{NATIVE}/images/{world.image.id}/annotations",
                          headers=world.auth(user))  # fmt: skip
    assert response.code == 404
    assert list(body(response)) == ["detail"]
    table = pa.table({"image": [world.image.id], "annotation_type": [world.box.id],
                      "vector": ['{"x1": 1, "y1": 1, "x2": 5, "y2": 5}']})  # fmt: skip
    write = await call(jp_fetch, f"{NATIVE}/annotations", method="POST", body=stream(table),
                       headers=world.auth(user))  # fmt: skip
    assert write.code in {403, 404}


async def test_arrow_bulk_write(jp_fetch: Any, world: World) -> None:
    n = 500
    table = pa.table({
        "image": [world.image.id] * n,
        "annotation_type": [world.box.id] * n,
        "x_min": [float(i) for i in range(n)], "y_min": [10.0] * n,
        "x_max": [float(i + 5) for i in range(n)], "y_max": [20.0] * n,
    })  # fmt: skip
    response = await call(jp_fetch, f"{NATIVE}/annotations", method="POST", body=stream(table),
                          headers=world.auth("max"))  # fmt: skip
    assert response.code == 201, response.body
    ids = body(response)["ids"]
    assert len(ids) == n
    assert len(set(ids)) == n
    stored = world.stores["ann"].annotation(ids[7])
    assert (stored.x_min, stored.x_max) == (7.0, 12.0)
    for bad in (b"not arrow", stream(pa.table({"image": [world.image.id]}))):
        refused = await call(jp_fetch, f"{NATIVE}/annotations", method="POST", body=bad,
                             headers=world.auth("max"))  # fmt: skip
        assert refused.code == 400, refused.body


async def _next(ws: Any) -> dict[str, Any]:
    message = await asyncio.wait_for(ws.read_message(), WAIT)
    assert message is not None, "the websocket closed"
    result: dict[str, Any] = json.loads(message)
    return result


async def test_events_reach_members_and_nobody_else(jp_ws_fetch: Any, world: World) -> None:
    member = await jp_ws_fetch("exact", "api", "events", params={"image_set": world.image_set.id},
                               headers=world.auth("max"))  # fmt: skip
    outsider = await jp_ws_fetch("exact", "api", "events", headers=world.auth("eve"))
    made = world.stores["ann"].add_annotation(
        world.image, world.box, {"x1": 3, "y1": 3, "x2": 8, "y2": 8}
    )
    change = await _next(member)
    assert change["kind"] == "annotation"
    assert change["action"] == "created"
    assert change["image"] == world.image.id
    assert made.id in change["ids"]
    own = world.stores["eve"].create_team(f"Eve's team {made.id}")
    first = await _next(outsider)  # ann's change must not have reached eve
    assert first["team"] == own.id
    member.close()
    outsider.close()


async def test_events_refuse_invisible_sets_and_strangers(jp_ws_fetch: Any, world: World) -> None:
    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("exact", "api", "events", params={"image_set": world.image_set.id},
                          headers=world.auth("eve"))  # fmt: skip
    assert err.value.code == 404
    with pytest.raises(HTTPClientError) as err:
        await jp_ws_fetch("exact", "api", "events", headers={"Authorization": "Bearer pat_x.y"})
    assert err.value.code == 403


# only PostgreSQL delivers changes across processes (LISTEN/NOTIFY); SQLite's feed is in-process
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_events_from_another_process_on_postgresql(
    jp_ws_fetch: Any, world: World, store_url: str
) -> None:
    ws = await jp_ws_fetch("exact", "api", "events", params={"image_set": world.image_set.id},
                           headers=world.auth("max"))  # fmt: skip
    script = (
        "import sys; from exact_lab.store import connect\n"
        "s = connect(sys.argv[1], user='ann')\n"
        "a = s.add_annotation(int(sys.argv[2]), int(sys.argv[3]), {'x1': 4, 'y1': 4, 'x2': 6, 'y2': 6},"
        " description='from elsewhere')\n"
        "print(a.id)\n"
    )
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, store_url, str(world.image.id), str(world.box.id),
        stdout=subprocess.PIPE,
    )  # fmt: skip
    out, _ = await done.communicate()
    assert done.returncode == 0
    change = await _next(ws)
    assert change["kind"] == "annotation"
    assert int(out.decode().strip()) in change["ids"]
    ws.close()
