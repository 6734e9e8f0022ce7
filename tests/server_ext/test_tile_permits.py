"""Tile permission grants: reused while valid, dropped by the change feed when access changes.

The server here keeps grants for 10 minutes, so only the change feed can explain a refusal that
follows a membership change within seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from exact_lab.server_ext._state import get_state
from tests.server_ext.conftest import API, World, call

PROMPT = 5.0  # seconds a change may take to reach the server's grants (a wait, not a timing)


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    exact_server_config["ExactLabApp"]["permission_ttl"] = 600.0
    return exact_server_config


def tile_url(world: World, suffix: str = "11/1_1.jpeg") -> str:
    return f"{API}/images/images/{world.image.id}/1/1/tile_files/{suffix}"


async def _refused_within(jp_fetch: Any, world: World, user: str, limit: float) -> int:
    """Poll the tile as ``user`` until it is refused; return the refusal's status."""
    deadline = time.monotonic() + limit
    while True:
        response = await call(jp_fetch, tile_url(world), headers=world.auth(user))
        if response.code != 200 or time.monotonic() > deadline:
            return response.code
        await asyncio.sleep(0.05)


async def test_removed_member_is_refused_promptly(
    jp_fetch: Any, jp_serverapp: Any, world: World
) -> None:
    state = get_state(jp_serverapp.web_app.settings)
    ann = world.stores["ann"]
    outsider = await call(jp_fetch, tile_url(world), headers=world.auth("eve"))
    assert outsider.code == 404
    first = await call(jp_fetch, tile_url(world), headers=world.auth("max"))
    assert first.code == 200
    assert state.permits.get("max", world.image.id) is not None  # the grant is kept
    again = await call(jp_fetch, tile_url(world), headers=world.auth("max"))
    assert (again.code, again.body, again.headers["ETag"]) == (
        200,
        first.body,
        first.headers["ETag"],
    )

    ann.remove_member(world.team, "max")
    try:
        status = await _refused_within(jp_fetch, world, "max", PROMPT)
        assert status == outsider.code  # refused like any outsider, long before the TTL
        assert state.permits.get("max", world.image.id) is None
        for suffix in ("11/0_0.jpeg", "10/0_0.png"):
            refused = await call(jp_fetch, tile_url(world, suffix), headers=world.auth("max"))
            assert refused.code == outsider.code
            assert b"\xff\xd8" not in refused.body
    finally:
        ann.add_member(world.team, "max")
    back = await call(jp_fetch, tile_url(world), headers=world.auth("max"))
    assert back.code == 200  # refusals are never kept: a member again sees tiles at once
    assert back.body == first.body


async def test_removal_in_this_process_is_refused_before_the_feed_delivers(
    jp_fetch: Any, jp_serverapp: Any, world: World
) -> None:
    """The feed's dispatcher thread is held up; the very next tile is refused all the same."""
    ann = world.stores["ann"]
    assert (await call(jp_fetch, tile_url(world), headers=world.auth("max"))).code == 200
    held, release = threading.Event(), threading.Event()

    def hold_the_dispatcher(_change: Any) -> None:
        if not held.is_set():
            held.set()
            release.wait(30)

    subscription = ann.subscribe_unfiltered(hold_the_dispatcher)
    try:
        # a change that keeps grants; the dispatcher stalls on it
        world.stores["max"].add_annotation(
            world.image, world.box, {"x1": 1, "y1": 1, "x2": 5, "y2": 5}
        )
        assert held.wait(10)
        kept = await call(jp_fetch, tile_url(world), headers=world.auth("max"))
        assert kept.code == 200
        ann.remove_member(world.team, "max")  # its change now waits in the feed's queue
        refused = await call(jp_fetch, tile_url(world), headers=world.auth("max"))
        assert refused.code == 404
    finally:
        release.set()
        subscription.close()
        ann.add_member(world.team, "max")
    assert (await call(jp_fetch, tile_url(world), headers=world.auth("max"))).code == 200


async def test_annotation_changes_keep_grants(
    jp_fetch: Any, jp_serverapp: Any, world: World
) -> None:
    state = get_state(jp_serverapp.web_app.settings)
    assert (await call(jp_fetch, tile_url(world), headers=world.auth("max"))).code == 200
    generation = state.permits.generation
    world.stores["max"].add_annotation(world.image, world.box, {"x1": 1, "y1": 1, "x2": 5, "y2": 5})
    world.stores["max"].wait_for_feed()
    assert state.permits.generation == generation
    assert state.permits.get("max", world.image.id) is not None


async def test_tiles_are_counted_in_jupyter_metrics(jp_fetch: Any, world: World) -> None:
    """Tile successes skip the access log line but still count in the request metric."""
    from prometheus_client import REGISTRY

    def count(status: int) -> float:
        labels = {"method": "GET", "handler": "exact_lab.server_ext._tiles.TileHandler",
                  "status_code": str(status)}  # fmt: skip
        return REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) or 0.0

    before_ok, before_refused = count(200), count(404)
    for suffix in ("11/0_0.jpeg", "11/1_0.jpeg", "11/2_0.jpeg"):
        assert (
            await call(jp_fetch, tile_url(world, suffix), headers=world.auth("max"))
        ).code == 200
    assert (await call(jp_fetch, tile_url(world), headers=world.auth("eve"))).code == 404
    assert count(200) == before_ok + 3
    assert count(404) == before_refused + 1
