"""Density at an image's home cell from the counts SQLite keeps as rows change (migration 0007).

Every check compares ``annotation_density(image, home cell)`` with a numpy recount of the boxes
the store holds (read back as rows), after writes through every path: the store's calls from
another store, another process, plain SQL, a resize of the image. A trigger that missed a
change leaves a wrong count in the table, and the comparison fails.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command

from exact_lab.store import Store, connect
from exact_lab.store.dbutil import alembic_config, upgrade
from exact_lab.store.sql.engine import make_engine
from tests.store.conftest import World, box
from tests.store.test_density import _recount, _same, random_boxes

ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def _live_boxes(store: Store, image: int) -> pd.DataFrame:
    """The image's live annotations with a box, read back as rows (not counted by the store)."""
    rows = store.annotations(image=image, with_vector=False)
    return rows.dropna(subset=["x_min"])[["annotation_type", "x_min", "y_min", "x_max", "y_max"]]


def home(image) -> float:
    return max(image.width / 128, image.height / 128, 1.0)


@pytest.fixture
def url(backend) -> str:
    return str(backend[1])


def _check(store: Store, image, **filters) -> None:
    cell = home(image)
    live = _live_boxes(store, image.id)
    _same(store.annotation_density(image, cell), _recount(live, cell))


@ON_SQLITE
def test_the_home_cell_is_read_from_the_kept_table(world: World, url) -> None:
    world.member.add_annotations(random_boxes(world, world.image.id, 400, seed=21))
    _check(world.member, world.image)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:  # a row only the table holds shows that it is read
            conn.execute(
                sa.text(
                    "INSERT INTO density_home VALUES (:i, 1, 0, :t, 90000, 90000, 3)"
                    " ON CONFLICT DO UPDATE SET n = 3"
                ),
                {"i": world.image.id, "t": world.box.id},
            )
        got = world.member.annotation_density(world.image, home(world.image))
        assert got.iloc[-1].tolist() == [90000, 90000, world.box.id, 3]
        # another cell is counted from the rows
        assert 90000 not in world.member.annotation_density(world.image, 8.0)["cx"].tolist()
    finally:
        engine.dispose()


@ON_SQLITE
def test_every_write_path_keeps_it_exact(world: World, url) -> None:
    ids = world.member.add_annotations(random_boxes(world, world.image.id, 300, seed=22))
    other = connect(url, user=world.member.user.username)
    try:
        one = other.annotation(ids[0])
        writes = [
            lambda: other.add_annotation(world.image, world.box, box(500, 500)),
            lambda: other.add_annotations(random_boxes(world, world.image.id, 50, seed=23)),
            lambda: other.update_annotation(one, base_revision=1, vector=box(900, 10, 30, 30)),
            lambda: other.update_annotation(ids[1], base_revision=1, annotation_type=world.point),
            lambda: other.delete_annotation(ids[2]),
            lambda: other.update_annotation(ids[2], base_revision=2, deleted=False),  # restore
            lambda: other.delete_annotations(ids[3:40]),
            lambda: other.upsert_annotation(world.image, "h-1", world.box, box(10, 690)),
            lambda: other.upsert_annotation(world.image, "h-1", world.box, box(600, 100)),
        ]
        for write in writes:
            write()
            _check(world.member, world.image)
    finally:
        other.close()
    script = textwrap.dedent(
        f"""
        from exact_lab.store import connect
        store = connect({url!r}, user={world.member.user.username!r})
        store.add_annotation({world.image.id}, {world.box.id}, {box(123, 456)!r})
        store.close()
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    _check(world.member, world.image)
    engine = make_engine(url)
    try:
        for sql in (
            "UPDATE annotations SET x_min = x_min + 300, x_max = x_max + 300 WHERE id = :a",
            "UPDATE annotations SET annotation_type_id = :t WHERE id = :a",
            "UPDATE annotations SET deleted = 1 WHERE id = :b",
            # a box taken away: no longer counted
            "UPDATE annotations SET x_min = NULL, y_min = NULL, x_max = NULL, y_max = NULL WHERE id = :c",
            "DELETE FROM annotations WHERE id = :a",
        ):
            with engine.begin() as conn:
                conn.execute(
                    sa.text(sql), {"a": ids[50], "b": ids[51], "c": ids[52], "t": world.point.id}
                )
            _check(world.member, world.image)
    finally:
        engine.dispose()


@ON_SQLITE
def test_frames_and_blind_users_keep_their_own_counts(world: World, store_factory) -> None:
    image = world.admin.add_image(
        world.image_set, f"hf-{world.suffix}", width=600, height=300, frames=2
    )
    world.member.add_annotations(
        [{"image": image.id, "annotation_type": world.box.id, "vector": {**box(x, 10), "frame": f}}
         for f, x in ((1, 10), (2, 10), (2, 300))]
    )  # fmt: skip
    cell = home(image)
    assert world.member.annotation_density(image, cell, frame=1)["count"].sum() == 1
    assert world.member.annotation_density(image, cell, frame=2)["count"].sum() == 2
    assert world.member.annotation_density(image, cell)["count"].sum() == 3
    second = store_factory(f"second_home_{world.suffix}")
    world.admin.add_member(world.team, second.user.username)
    world.member.add_annotations(
        [{"image": world.blind_image.id, "annotation_type": world.box.id, "vector": box(x, 10)}
         for x in (10, 30, 600)]
    )  # fmt: skip
    second.add_annotation(world.blind_image, world.box, box(700, 10))
    blind = home(world.blind_image)
    assert world.member.annotation_density(world.blind_image, blind)["count"].sum() == 3
    assert second.annotation_density(world.blind_image, blind)["count"].sum() == 1
    assert world.admin.annotation_density(world.blind_image, blind)["count"].sum() == 4


@ON_SQLITE
def test_a_resized_image_is_counted_at_its_new_home_cell(world: World) -> None:
    world.member.add_annotations(random_boxes(world, world.image.id, 300, seed=24))
    _check(world.member, world.image)
    bigger = world.admin.update_image(world.image, width=3000, height=2000)
    assert home(bigger) != home(world.image)
    _check(world.member, bigger)


def test_upgrade_fills_the_table_from_stored_rows(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'fill.sqlite'}"
    store = connect(url, user="alice")
    team = store.create_team("t")
    product = store.create_product(team, "p")
    kind = store.create_annotation_type(product, "k", vector_type=1)
    image_set = store.create_image_set(team, "s", products=[product])
    image = store.add_image(image_set, "i", width=5000, height=3000)
    rng = np.random.default_rng(25)
    x, y = rng.integers(0, 4900, 2000), rng.integers(0, 2900, 2000)
    store.add_annotations(
        [{"image": image.id, "annotation_type": kind.id, "x_min": int(a), "y_min": int(b),
          "x_max": int(a) + 30, "y_max": int(b) + 30} for a, b in zip(x, y, strict=True)]
    )  # fmt: skip
    store.close()
    command.downgrade(alembic_config(url), "0006")
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        assert "density_home" not in tables
        conn.execute(sa.text("UPDATE annotations SET deleted = 1 WHERE id <= 500"))
    engine.dispose()
    upgrade(url, backup=False)
    store = connect(url, user="alice")
    _check(store, image)
    assert store.annotation_density(image, home(image))["count"].sum() == 1500
    store.close()
