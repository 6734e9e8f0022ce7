"""Optimistic concurrency under real parallel writers, and the change feed."""

from __future__ import annotations

import threading

import pytest

from exact_lab.entities import Change
from exact_lab.errors import Conflict
from tests.store.conftest import World, box

WAIT = 60  # seconds to wait for a notification before declaring it lost


def test_stale_update_is_conflict_and_never_overwrites(world: World) -> None:
    a = world.member.add_annotation(world.image, world.box, box(1, 1))
    world.admin.update_annotation(a, base_revision=1, description="admin was first")
    with pytest.raises(Conflict, match="revision 2, not 1"):
        world.member.update_annotation(a, base_revision=1, description="member too late")
    assert world.member.annotation(a.id).description == "admin was first"
    assert len(world.member.history(a)) == 2


def test_bulk_writes_are_atomic(world: World) -> None:
    world.member.upsert_annotation(world.image, f"taken-{world.suffix}", world.box, box(1, 1))
    before = len(world.member.annotations(image=world.image))
    rows = [
        {
            "image": world.image.id,
            "annotation_type": world.box.id,
            "vector": box(i, i),
            "unique_identifier": f"new-{i}-{world.suffix}",
        }
        for i in range(20)
    ]
    rows.append(
        {
            "image": world.image.id,
            "annotation_type": world.box.id,
            "vector": box(1, 1),
            "unique_identifier": f"taken-{world.suffix}",
        }
    )
    with pytest.raises(Conflict):
        world.member.add_annotations(rows)
    assert len(world.member.annotations(image=world.image)) == before
    a, b = (world.member.add_annotation(world.image, world.box, box(i, i)) for i in (1, 2))
    assert world.member.delete_annotations([a, b.id]) == 2
    assert len(world.member.annotations(image=world.image)) == before


def test_change_feed_in_process(world: World) -> None:
    got: list[Change] = []
    arrived = threading.Event()

    def on_change(change: Change) -> None:
        got.append(change)
        if change.kind == "annotation":
            arrived.set()

    with world.admin.subscribe(on_change, image_set=world.image_set):
        a = world.member.add_annotation(world.image, world.box, box(1, 1))
        assert arrived.wait(WAIT)
    change = next(c for c in got if c.kind == "annotation")
    assert (change.action, change.ids, change.image, change.user) == (
        "created",
        (a.id,),
        world.image.id,
        world.member.user.id,
    )


def test_feed_hides_other_teams_and_blind_annotations(world: World) -> None:
    got: list[Change] = []
    done = threading.Event()

    def on_change(change: Change) -> None:
        got.append(change)
        if change.kind == "annotation" and change.image_set == world.image_set.id:
            done.set()

    with world.member.subscribe(on_change):
        world.other_admin.add_annotation(
            world.other_image,
            world.other_admin.annotation_types(image_set=world.other_set)[0],
            box(1, 1),
        )
        world.admin.add_annotation(world.blind_image, world.box, box(1, 1))
        world.admin.add_annotation(world.image, world.box, box(1, 1))  # the marker: visible
        assert done.wait(WAIT)
    sets = {c.image_set for c in got if c.kind == "annotation"}
    assert sets == {world.image_set.id}
