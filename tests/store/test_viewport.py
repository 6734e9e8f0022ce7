"""``annotations_in`` in detail: every column and format equals the plain read of the same rows.

On PostgreSQL the viewport is one prepared statement (access check joined in, binary answer,
times loaded as integers); these tests hold it to what ``annotations()`` returns for the rows
a Python overlap test selects, over more calls than PostgreSQL needs to switch a prepared
statement to its generic plan, and for every filter and both formats.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlalchemy as sa

from exact_lab.errors import BadInput, NotFound, PermissionDenied
from exact_lab.store import frames
from exact_lab.store.sql import held
from tests.store.conftest import World, box


def _overlap(frame: pd.DataFrame, window: tuple[float, float, float, float]) -> pd.DataFrame:
    x0, y0, x1, y1 = window
    keep = (
        (frame["x_max"] >= x0) & (frame["x_min"] <= x1)
        & (frame["y_max"] >= y0) & (frame["y_min"] <= y1)
    )  # fmt: skip
    return frame[keep].reset_index(drop=True)


def _seed(world: World, n: int = 1500) -> None:
    rng = np.random.default_rng(11)
    x = rng.uniform(0, 950, n).round(1)
    y = rng.uniform(0, 750, n).round(1)
    rows = pd.DataFrame(
        {"image": world.image.id, "annotation_type": rng.choice([world.box.id, world.point.id], n),
         "x_min": x, "y_min": y, "x_max": x + rng.uniform(1, 45, n).round(1),
         "y_max": y + rng.uniform(1, 45, n).round(1)}
    )  # fmt: skip
    ids = world.member.add_annotations(rows)
    world.member.delete_annotations(ids[:50])
    # one of each odd kind: a big box (a high grid level), a polygon, float corners, meta_data
    world.member.add_annotation(world.image, world.box, box(5, 5, 900, 700))
    poly = {"x1": 100, "y1": 100, "x2": 300, "y2": 120, "x3": 200, "y3": 400}
    world.member.add_annotation(world.image, world.polygon, poly, meta_data={"score": 0.5})
    world.member.add_annotation(world.image, world.box, box(10.25, 20.5, 3.5, 4.75))


def test_every_column_equals_the_plain_read(world: World) -> None:
    _seed(world)
    everything = world.member.annotations(image=world.image, deleted=None)
    rng = np.random.default_rng(5)
    windows = [
        (float(x), float(y), float(x + 120), float(y + 90)) for x, y in rng.uniform(0, 880, (12, 2))
    ]
    windows += [(0.0, 0.0, 1000.0, 800.0), (10.0, 20.0, 10.0, 20.0), (-50.0, -50.0, 5000.0, 5000.0)]
    for window in windows:
        for deleted in (False, True, None):
            want = _overlap(everything, window)
            if deleted is not None:
                want = want[want["deleted"] == deleted].reset_index(drop=True)
            got = world.member.annotations_in(world.image, window, deleted=deleted)
            if want.empty:  # a filtered frame keeps its dtypes; an empty answer has its own
                pd.testing.assert_frame_equal(got, frames.empty_frame())
            else:
                pd.testing.assert_frame_equal(got, want, check_dtype=True)


def test_filters_and_the_lean_read(world: World) -> None:
    _seed(world)
    everything = world.member.annotations(image=world.image, with_vector=False)
    window = (200.0, 150.0, 700.0, 600.0)
    base = _overlap(everything, window)
    got = world.member.annotations_in(world.image, window, with_vector=False)
    pd.testing.assert_frame_equal(got, base)
    points = world.member.annotations_in(world.image, window, annotation_type=world.point)
    assert (
        points["id"].tolist() == base.loc[base["annotation_type"] == world.point.id, "id"].tolist()
    )
    both = world.member.annotations_in(
        world.image, window, annotation_type=[world.point, world.polygon.id], with_vector=False
    )
    kinds = base["annotation_type"].isin([world.point.id, world.polygon.id])
    assert both["id"].tolist() == base.loc[kinds, "id"].tolist()
    assert world.member.annotations_in(world.image, window, annotation_type=[]).empty
    assert world.member.annotations_in(world.image, window, frame=2).empty
    assert (
        world.member.annotations_in(world.image, window, frame=1)["id"].tolist()
        == base["id"].tolist()
    )


def test_arrow_answer_holds_the_same_rows(world: World) -> None:
    _seed(world)
    window = (0.0, 0.0, 400.0, 300.0)
    pandas_rows = world.member.annotations_in(world.image, window)
    table = world.member.annotations_in(world.image, window, format="arrow")
    assert isinstance(table, pa.Table)
    assert table.schema.equals(frames.arrow_schema())
    assert table.column("id").to_pylist() == pandas_rows["id"].tolist()
    vectors = [json.loads(v) for v in table.column("vector").to_pylist()]
    assert vectors == pandas_rows["vector"].tolist()
    metas = [None if v is None else json.loads(v) for v in table.column("meta_data").to_pylist()]
    assert metas == pandas_rows["meta_data"].tolist()
    times = table.column("time").to_pandas()
    assert (times.to_numpy() == pandas_rows["time"].to_numpy()).all()
    assert table.column("user").to_pylist() == pandas_rows["user"].tolist()
    lean = world.member.annotations_in(world.image, window, with_vector=False, format="arrow")
    assert lean.schema.equals(frames.arrow_schema(with_vector=False))
    assert lean.num_rows == len(pandas_rows)


def test_empty_windows_are_typed(world: World) -> None:
    _seed(world, n=10)
    empty = world.member.annotations_in(world.image, (990.0, 790.0, 1000.0, 800.0))
    assert empty.empty
    pd.testing.assert_frame_equal(empty, frames.empty_frame())
    table = world.member.annotations_in(world.image, (990.0, 790.0, 1000.0, 800.0), format="arrow")
    assert table.num_rows == 0
    assert table.schema.equals(frames.arrow_schema())


def test_times_are_the_stored_instants(world: World) -> None:
    a = world.member.add_annotation(world.image, world.box, box(30, 30))
    world.member.update_annotation(a, base_revision=1, description="later")
    got = world.member.annotations_in(world.image, (0, 0, 100, 100))
    stored = world.member.annotation(a.id)
    assert got["time"].iloc[0] == pd.Timestamp(stored.time)
    assert got["last_edit_time"].iloc[0] == pd.Timestamp(stored.last_edit_time)
    assert got["last_edit_time"].iloc[0] > got["time"].iloc[0]
    assert str(got["time"].dtype) == "datetime64[ns, UTC]"


def test_access_is_checked_in_the_same_call(world: World, store_factory) -> None:
    _seed(world, n=20)
    with pytest.raises(NotFound) as hidden:
        world.outsider.annotations_in(world.image, (0, 0, 1000, 800))
    with pytest.raises(NotFound) as missing:
        world.outsider.annotations_in(10**9, (0, 0, 1000, 800))
    assert type(hidden.value) is type(missing.value)
    # membership taken away: refused at once, also for an empty window
    gone = store_factory(f"gone_{world.suffix}")
    world.admin.add_member(world.team, gone.user.username)
    assert len(gone.annotations_in(world.image, (0, 0, 1000, 800))) > 0
    world.admin.remove_member(world.team, gone.user.username)
    with pytest.raises(NotFound):
        gone.annotations_in(world.image, (0, 0, 1000, 800))
    with pytest.raises(NotFound):
        gone.annotations_in(world.image, (999, 799, 1000, 800))
    # a deactivated member gets the same refusal as for every other read
    quitter = store_factory(f"quitter_{world.suffix}")
    world.admin.add_member(world.team, quitter.user.username)
    world.admin.deactivate_user(quitter.user.username)
    with pytest.raises((PermissionDenied, NotFound)) as plain:
        quitter.annotations(image=world.image)
    with pytest.raises(type(plain.value)):
        quitter.annotations_in(world.image, (0, 0, 1000, 800))


def test_blind_sets_in_the_one_statement(world: World, store_factory) -> None:
    second = store_factory(f"second_{world.suffix}")
    world.admin.add_member(world.team, second.user.username)
    mine = [
        world.member.add_annotation(world.blind_image, world.box, box(x, 10)).id for x in (10, 200)
    ]
    theirs = second.add_annotation(world.blind_image, world.box, box(100, 10)).id
    window = (0, 0, 1000, 800)
    for _ in range(8):  # past the calls after which PostgreSQL may use a generic plan
        assert world.member.annotations_in(world.blind_image, window)["id"].tolist() == mine
        assert second.annotations_in(world.blind_image, window)["id"].tolist() == [theirs]
    assert world.admin.annotations_in(world.blind_image, window)["id"].tolist() == sorted(
        [*mine, theirs]
    )
    assert second.annotations_in(world.blind_image, (0, 0, 50, 50)).empty


def test_unbounded_and_nan_windows(world: World) -> None:
    _seed(world, n=30)
    everything = world.member.annotations(image=world.image, with_vector=False)
    inf = float("inf")
    for window in ((-inf, -inf, inf, inf), (0.0, 0.0, inf, inf), (-inf, 0.0, 500.0, inf)):
        got = world.member.annotations_in(world.image, window, with_vector=False)
        pd.testing.assert_frame_equal(got, _overlap(everything, window))
    with pytest.raises(BadInput) as err:
        world.member.annotations_in(world.image, (0.0, float("nan"), 10.0, 10.0))
    assert err.value.field == "bbox"


PICKS = (
    ["id", "annotation_type", "revision", "user", "vector"],  # what the viewer draws from
    ["vector", "id"],  # any order
    ["last_editor"],  # no id, a column NULL in every bulk-added row
    ["time", "meta_data", "x_min", "deleted"],
    ["unique_identifier", "last_edit_time", "verified_count", "image", "image_set", "frame"],
)


def test_picked_columns_equal_the_full_read(world: World) -> None:
    _seed(world)
    windows = [
        (200.0, 150.0, 320.0, 240.0),
        (0.0, 0.0, 1000.0, 800.0),
        (990.0, 790.0, 1000.0, 800.0),
    ]
    lone = world.member.add_annotation(world.image, world.box, box(960, 10, 5, 5))
    windows.append((962.0, 11.0, 963.0, 12.0))  # this one annotation alone
    for window in windows:
        full = world.member.annotations_in(world.image, window, deleted=None)
        for names in PICKS:
            got = world.member.annotations_in(world.image, window, deleted=None, columns=names)
            pd.testing.assert_frame_equal(got, full[names], check_dtype=True)
            table = world.member.annotations_in(
                world.image, window, deleted=None, columns=names, format="arrow"
            )
            assert table.schema.equals(frames.arrow_schema(names=names))
            assert table.num_rows == len(full)
            pd.testing.assert_frame_equal(frames.frame_from_arrow(table, names=names), got)
    alone = world.member.annotations_in(world.image, windows[-1], columns=["last_editor"])
    assert len(alone) == 1  # a row whose only column is NULL is still a row
    assert world.member.annotations_in(world.image, windows[-1], columns=["id"])["id"].tolist() == [
        lone.id
    ]


def test_picked_columns_keep_filters_and_blind_sets(world: World, store_factory) -> None:
    _seed(world)
    window = (200.0, 150.0, 700.0, 600.0)
    full = world.member.annotations_in(world.image, window, annotation_type=world.point)
    got = world.member.annotations_in(
        world.image, window, annotation_type=world.point, columns=["annotation_type"]
    )
    assert list(got.columns) == ["annotation_type"]
    assert got["annotation_type"].tolist() == full["annotation_type"].tolist()
    assert world.member.annotations_in(world.image, window, frame=2, columns=["id"]).empty
    second = store_factory(f"second_{world.suffix}")
    world.admin.add_member(world.team, second.user.username)
    second.add_annotation(world.blind_image, world.box, box(100, 10))
    world.member.add_annotation(world.blind_image, world.box, box(10, 10))
    mine = world.member.annotations_in(world.blind_image, (0, 0, 1000, 800), columns=["user"])
    assert mine["user"].tolist() == [world.member.user.id]
    with pytest.raises(NotFound):
        world.outsider.annotations_in(world.image, window, columns=["id"])


def test_bad_columns_name_the_cause_and_the_valid_ones(world: World) -> None:
    window = (0.0, 0.0, 100.0, 100.0)
    for bad, says in (
        (["id", "area"], "unknown column 'area'"),
        (["id", "id"], "'id' is named twice"),
        ([], "name at least one column"),
        ("id", "expected a list of column names"),
        ([3], "unknown column 3"),
    ):
        with pytest.raises(BadInput) as err:
            world.member.annotations_in(world.image, window, columns=bad)
        assert err.value.field == "columns"
        assert says in str(err.value)
        if "unknown" in says:
            assert "valid columns: id, image, image_set" in str(err.value)
            assert "verified_count" in str(err.value)
    with pytest.raises(BadInput) as err:
        world.member.annotations_in(world.image, window, with_vector=False, columns=["vector"])
    assert "with_vector=False" in str(err.value)
    assert err.value.field == "columns"


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)  # the held connection is PG's
def test_held_connection_survives_a_dropped_connection(
    world: World, backend: tuple[str, str, Any]
) -> None:
    _, url, _ = backend
    _seed(world, n=40)
    window = (0.0, 0.0, 1000.0, 800.0)
    before = world.member.annotations_in(world.image, window)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # what a server restart does to every open connection
        killed = conn.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    assert killed > 0
    pd.testing.assert_frame_equal(world.member.annotations_in(world.image, window), before)
    engine = world.member._shared.engine
    opened = [raw for _, raw in held._HELD[engine].open]
    assert opened
    assert not any(raw.closed for raw in opened)
    engine.dispose()  # what SqlStore.close() does
    assert all(raw.closed for raw in opened)
    pd.testing.assert_frame_equal(world.member.annotations_in(world.image, window), before)
