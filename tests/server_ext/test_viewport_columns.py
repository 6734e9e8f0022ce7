"""The viewport's column pick over HTTP: the native Arrow route and the store call."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from exact_lab.store import frames
from tests.server_ext.conftest import World, body, call

NATIVE = "exact/api/native"


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


def arrow(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(pa.py_buffer(data)).read_all()


@pytest.fixture(scope="module")
def placed(world: World) -> list[int]:
    rows = [
        {"image": world.image.id, "annotation_type": world.box.id,
         "vector": {"x1": 1500 + 40 * i, "y1": 1000, "x2": 1520 + 40 * i, "y2": 1030}}
        for i in range(8)
    ]  # fmt: skip
    return world.stores["ann"].add_annotations(rows)


async def test_native_route_sends_only_the_picked_columns(
    jp_fetch: Any, world: World, placed: list[int]
) -> None:
    url = f"{NATIVE}/images/{world.image.id}/annotations"
    window = {"bbox": "1500,990,1670,1040"}
    full = arrow((await call(jp_fetch, url, params=window, headers=world.auth("max"))).body)
    assert sorted(full.column("id").to_pylist()) == placed[:5]
    picked = await call(jp_fetch, url, params={**window, "columns": "vector,id"},
                        headers=world.auth("max"))  # fmt: skip
    assert picked.code == 200, picked.body
    table = arrow(picked.body)
    assert table.schema.equals(frames.arrow_schema(names=["vector", "id"]))
    assert table.column("id").to_pylist() == full.column("id").to_pylist()
    assert table.column("vector").to_pylist() == full.column("vector").to_pylist()
    assert json.loads(table.column("vector")[0].as_py())["y2"] == 1030
    for params, says in (
        ({**window, "columns": "id,area"}, "unknown column 'area'"),
        ({**window, "columns": "id,id"}, "named twice"),
        ({"columns": "id"}, "give bbox too"),
    ):
        refused = await call(jp_fetch, url, params=params, headers=world.auth("max"))
        assert refused.code == 400, refused.body
        assert says in body(refused)["detail"]
        assert body(refused)["field"] == "columns"
    hidden = await call(jp_fetch, url, params={**window, "columns": "id"},
                        headers=world.auth("eve"))  # fmt: skip
    assert hidden.code == 404


async def test_store_call_checks_the_pick_on_the_server(
    jp_fetch: Any, world: World, placed: list[int]
) -> None:
    rpc = f"{NATIVE}/store/annotations_in"
    args = [world.image.id, [1500, 990, 1670, 1040]]
    ok = await call(jp_fetch, rpc, method="POST", headers=world.auth("max"),
                    body={"args": args, "kwargs": {"columns": ["user", "revision"]}})  # fmt: skip
    assert ok.code == 200, ok.body
    table = arrow(ok.body)
    assert table.schema.names == ["user", "revision"]
    assert table.column("user").to_pylist() == [world.stores["ann"].user.id] * 5
    bad = await call(jp_fetch, rpc, method="POST", headers=world.auth("max"),
                     body={"args": args, "kwargs": {"columns": ["id", "colour"]}})  # fmt: skip
    assert bad.code == 400
    assert "valid columns: id, image" in body(bad)["detail"]
    assert body(bad)["field"] == "columns"
