"""The kept whole-image density count (SQLite, migration 0007): served while current, never stale.

Each check first plants a bogus count under the current counter, so that a kept count served
after a change would show the bogus one: an answer equal to a numpy recount of what the store
holds proves the change was seen. Changes come from another store (its own engine and
connections), from another process and through every annotation write path.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from exact_lab.store import Store, connect
from exact_lab.store.density import DENSITY_COLUMNS
from exact_lab.store.sql import densitycache
from exact_lab.store.sql.engine import make_engine
from tests.store.conftest import World, box
from tests.store.test_density import _recount, _same, random_boxes

# PostgreSQL keeps no counts (migration 0007): its density tests are in test_density.py
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

CELL = 50.0
BOGUS = pd.DataFrame({c: np.array([7, 7], dtype=np.int64) for c in DENSITY_COLUMNS})


@pytest.fixture
def url(backend) -> str:
    return str(backend[1])


@pytest.fixture
def engine(url):
    made = make_engine(url)
    yield made
    made.dispose()


def _epoch(engine: sa.Engine, image: int) -> int:
    with engine.connect() as conn:
        found = conn.execute(
            sa.text("SELECT epoch FROM density_epochs WHERE image_id = :i"), {"i": image}
        ).scalar()
    return int(found or 0)


def _plant(engine: sa.Engine, image: int) -> None:
    """Keep the bogus count for the whole image (frame 0, everyone) under the current counter."""
    densitycache.write(engine, (image, 0, CELL, 0), _epoch(engine, image), BOGUS)


def _live_boxes(store: Store, image: int) -> pd.DataFrame:
    """The image's live annotations with a box, read back as rows (not counted by the store)."""
    rows = store.annotations(image=image, with_vector=False)
    return rows.dropna(subset=["x_min"])[["annotation_type", "x_min", "y_min", "x_max", "y_max"]]


def _check(store: Store, image: int) -> None:
    _same(store.annotation_density(image, CELL), _recount(_live_boxes(store, image), CELL))


def test_a_kept_count_is_served_while_nothing_changed(world: World, engine) -> None:
    world.member.add_annotations(random_boxes(world, world.image.id, 500, seed=11))
    first = world.member.annotation_density(world.image, CELL)
    _same(first, _recount(_live_boxes(world.member, world.image.id), CELL))
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text("SELECT epoch, counts FROM density_cache WHERE image_id = :i AND cell = :c"),
            {"i": world.image.id, "c": CELL},
        ).one()
    assert kept.epoch == _epoch(engine, world.image.id) > 0
    assert densitycache.unpack(bytes(kept.counts)).equals(first)
    # served from the cache: the planted count comes back, for any user of the set
    _plant(engine, world.image.id)
    assert world.admin.annotation_density(world.image, CELL).equals(BOGUS)
    # other questions are never answered from it
    assert not world.member.annotation_density(world.image, CELL, deleted=None).equals(BOGUS)
    assert not world.member.annotation_density(world.image, CELL, bbox=(0, 0, 999, 999)).equals(
        BOGUS
    )
    assert not world.member.annotation_density(world.image, CELL, frame=1).equals(BOGUS)
    assert not world.member.annotation_density(world.image, CELL + 1).equals(BOGUS)


def test_every_write_path_of_another_store_makes_it_count_again(world: World, url, engine) -> None:
    ids = world.member.add_annotations(random_boxes(world, world.image.id, 300, seed=12))
    other = connect(url, user=world.member.user.username)  # its own engine and connections
    try:
        one = other.annotation(ids[0])
        writes = [
            lambda: other.add_annotation(world.image, world.box, box(500, 500)),
            lambda: other.add_annotations(random_boxes(world, world.image.id, 50, seed=13)),
            lambda: other.update_annotation(
                one, base_revision=1, vector=box(900, 10, 30, 30)
            ),  # moved to another cell
            lambda: other.update_annotation(
                ids[1], base_revision=1, annotation_type=world.point.id
            ),
            lambda: other.delete_annotation(ids[2]),
            lambda: other.update_annotation(ids[2], base_revision=2, deleted=False),  # restore
            lambda: other.delete_annotations(ids[3:40]),
            lambda: other.upsert_annotation(world.image, "u-1", world.box, box(10, 690)),
            lambda: other.upsert_annotation(world.image, "u-1", world.box, box(600, 100)),
        ]
        for write in writes:
            world.member.annotation_density(world.image, CELL)  # keep a count
            _plant(engine, world.image.id)
            write()
            _check(world.member, world.image.id)
    finally:
        other.close()


def test_a_write_from_another_process_makes_it_count_again(world: World, url, engine) -> None:
    world.member.add_annotations(random_boxes(world, world.image.id, 200, seed=14))
    world.member.annotation_density(world.image, CELL)
    _plant(engine, world.image.id)
    script = textwrap.dedent(
        f"""
        from exact_lab.store import connect
        store = connect({url!r}, user={world.member.user.username!r})
        store.add_annotation({world.image.id}, {world.box.id}, {box(123, 456)!r})
        store.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    _check(world.member, world.image.id)


def test_plain_sql_writes_count_too(world: World, engine) -> None:
    """The counter is the database's: a write that bypasses the store still raises it."""
    world.member.add_annotations(random_boxes(world, world.image.id, 100, seed=15))
    world.member.annotation_density(world.image, CELL)
    _plant(engine, world.image.id)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE annotations SET x_min = x_min + 400, x_max = x_max + 400 WHERE id = ("
                    "SELECT min(id) FROM annotations WHERE image_id = :i)"),
            {"i": world.image.id},
        )  # fmt: skip
    _check(world.member, world.image.id)
    world.member.annotation_density(world.image, CELL)
    _plant(engine, world.image.id)
    with engine.begin() as conn:
        conn.execute(
            sa.text("DELETE FROM annotations WHERE id = ("
                    "SELECT max(id) FROM annotations WHERE image_id = :i)"),
            {"i": world.image.id},
        )  # fmt: skip
    _check(world.member, world.image.id)


def test_a_change_committed_while_counting_is_never_served_stale(
    world: World, url, monkeypatch
) -> None:
    """A write that commits after the counter was read and before the count ran."""
    world.member.add_annotations(random_boxes(world, world.image.id, 100, seed=16))
    other = connect(url, user=world.member.user.username)
    read_epoch = densitycache.epoch

    def epoch_then_write(raw, image):
        seen = read_epoch(raw, image)
        other.add_annotation(world.image, world.box, box(700, 600))  # commits at once
        return seen

    try:
        monkeypatch.setattr(densitycache, "epoch", epoch_then_write)
        world.member.annotation_density(world.image, CELL)  # counted with or without it
        monkeypatch.setattr(densitycache, "epoch", read_epoch)
        _check(world.member, world.image.id)
    finally:
        other.close()


def test_blind_users_keep_their_own_counts(world: World, store_factory) -> None:
    second = store_factory(f"second_cache_{world.suffix}")
    world.admin.add_member(world.team, second.user.username)
    mine = [{"image": world.blind_image.id, "annotation_type": world.box.id, "vector": box(x, 10)}
            for x in (10, 30, 600)]  # fmt: skip
    world.member.add_annotations(mine)
    second.add_annotation(world.blind_image, world.box, box(700, 10))
    for _ in range(2):  # the second round comes from the cache
        assert world.member.annotation_density(world.blind_image, 500)["count"].sum() == 3
        assert second.annotation_density(world.blind_image, 500)["count"].sum() == 1
        assert world.admin.annotation_density(world.blind_image, 500)["count"].sum() == 4


def test_frames_keep_their_own_counts(world: World) -> None:
    image = world.admin.add_image(
        world.image_set, f"f-{world.suffix}", width=500, height=500, frames=2
    )
    world.member.add_annotations(
        [{"image": image.id, "annotation_type": world.box.id, "vector": {**box(x, 10), "frame": f}}
         for f, x in ((1, 10), (2, 10), (2, 300))]
    )  # fmt: skip
    for _ in range(2):
        assert world.member.annotation_density(image, 256, frame=1)["count"].sum() == 1
        assert world.member.annotation_density(image, 256, frame=2)["count"].sum() == 2
        assert world.member.annotation_density(image, 256)["count"].sum() == 3


def test_a_busy_database_only_loses_the_saving(world: World, engine, url) -> None:
    """While another writer holds the database, the count is answered and simply not kept."""
    world.member.add_annotations(random_boxes(world, world.image.id, 50, seed=17))
    writer = make_engine(url)
    try:
        held = writer.raw_connection()
        held.driver_connection.execute("BEGIN IMMEDIATE")
        counted = world.member.annotation_density(world.image, CELL)
        held.rollback()
        held.close()
        _same(counted, _recount(_live_boxes(world.member, world.image.id), CELL))
        with engine.connect() as conn:
            kept = conn.execute(
                sa.text("SELECT count(*) FROM density_cache WHERE image_id = :i"),
                {"i": world.image.id},
            ).scalar()
        assert kept == 0
    finally:
        writer.dispose()
