"""Bulk writes, DataFrame/Arrow reads, viewport queries and input validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from exact_lab.errors import BadInput, NotFound
from exact_lab.store.frames import COLUMNS
from tests.store.conftest import World, box


def _boxes(world: World, n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 950, n)
    y = rng.integers(0, 750, n)
    w = rng.integers(1, 50, n)
    return pd.DataFrame(
        {
            "image": world.image.id,
            "annotation_type": world.box.id,
            "x_min": x,
            "y_min": y,
            "x_max": x + w,
            "y_max": y + w,
        }
    )


def test_bulk_add_from_dataframe_arrow_and_dicts(world: World) -> None:
    frame = _boxes(world, 500)
    ids = world.member.add_annotations(frame)
    assert len(ids) == 500
    assert len(set(ids)) == 500
    got = world.member.annotations(image=world.image).set_index("id").loc[ids]
    assert got["x_min"].tolist() == frame["x_min"].astype(float).tolist()
    assert got.iloc[0]["vector"] == {
        "x1": frame.x_min[0],
        "y1": frame.y_min[0],
        "x2": frame.x_max[0],
        "y2": frame.y_max[0],
    }
    assert (got["revision"] == 1).all()
    assert got["unique_identifier"].is_unique
    more = world.member.add_annotations(pa.Table.from_pandas(_boxes(world, 10, seed=1)))
    dicts = world.member.add_annotations(
        [
            {
                "image": world.image.id,
                "annotation_type": world.polygon.id,
                "vector": {"x1": 1, "y1": 1, "x2": 9, "y2": 1, "x3": 5, "y3": 9, "frame": 2},
                "meta_data": {"p": 0.5},
                "description": "poly",
                "unique_identifier": f"u-{world.suffix}",
            },
        ]
    )
    row = world.member.annotations(image=world.image).set_index("id").loc[dicts[0]]
    assert (row["frame"], row["meta_data"], row["description"], row["y_max"]) == (
        2,
        {"p": 0.5},
        "poly",
        9.0,
    )
    assert len(world.member.annotations(image_set=world.image_set)) == 511
    assert world.member.add_annotations([]) == []
    assert len(more) == 10


def test_dataframe_columns_and_arrow_output(world: World) -> None:
    world.member.add_annotations(_boxes(world, 5))
    frame = world.member.annotations(image_set=world.image_set)
    assert tuple(frame.columns) == COLUMNS
    assert str(frame["time"].dtype) == "datetime64[ns, UTC]"
    assert frame["id"].dtype == np.int64
    assert frame["deleted"].dtype == bool
    slim = world.member.annotations(image_set=world.image_set, with_vector=False)
    assert "vector" not in slim.columns
    table = world.member.annotations(image_set=world.image_set, format="arrow")
    assert isinstance(table, pa.Table)
    assert table.num_rows == 5
    assert table.schema.field("vector").type == pa.string()
    empty = world.member.annotations(image=world.blind_image)
    assert tuple(empty.columns) == COLUMNS
    assert len(empty) == 0


def test_filters_type_user_deleted(world: World) -> None:
    m, a = world.member, world.admin
    mine = m.add_annotation(world.image, world.box, box(1, 1))
    theirs = a.add_annotation(world.image, world.point, box(5, 5))
    gone = m.add_annotation(world.image, world.box, box(9, 9))
    m.delete_annotation(gone)
    assert m.annotations(image_set=world.image_set, annotation_type=world.box)["id"].tolist() == [
        mine.id
    ]
    assert sorted(
        m.annotations(image_set=world.image_set, annotation_type=[world.box, world.point])["id"]
    ) == [mine.id, theirs.id]
    assert m.annotations(image_set=world.image_set, user=a.user.username)["id"].tolist() == [
        theirs.id
    ]
    assert m.annotations(image_set=world.image_set, deleted=True)["id"].tolist() == [gone.id]
    assert len(m.annotations(image_set=world.image_set, deleted=None)) == 3
    with pytest.raises(BadInput):
        m.annotations()


def test_viewport_query_matches_brute_force(world: World) -> None:
    frame = _boxes(world, 2000, seed=3)
    ids = world.member.add_annotations(frame)
    world.member.add_annotation(world.image, world.box, None)  # no vector: never in a viewport
    frame["id"] = ids
    for x0, y0, x1, y1 in [
        (0, 0, 100, 100),
        (500, 300, 620, 410),
        (990, 790, 1000, 800),
        (10, 10, 10, 10),
    ]:
        expect = frame[
            (frame.x_max >= x0) & (frame.x_min <= x1) & (frame.y_max >= y0) & (frame.y_min <= y1)
        ]
        got = world.member.annotations_in(world.image, (x0, y0, x1, y1))
        assert got["id"].tolist() == sorted(expect["id"]), (x0, y0, x1, y1)
    other = world.member.add_image(world.image_set, f"other-{world.suffix}", width=1000, height=800)
    world.member.add_annotation(other, world.box, box(0, 0, 1000, 800))
    assert len(world.member.annotations_in(other, (1, 1, 2, 2))) == 1
    assert (
        len(
            world.member.annotations_in(world.image, (0, 0, 1000, 800), annotation_type=world.point)
        )
        == 0
    )
    moved = world.member.add_annotation(world.image, world.box, box(900, 10, 5, 5))
    assert moved.id in world.member.annotations_in(world.image, (899, 9, 901, 11))["id"].tolist()
    world.member.update_annotation(moved, base_revision=1, vector=box(10, 700, 5, 5))
    old_place = world.member.annotations_in(world.image, (899, 9, 901, 11))
    assert moved.id not in old_place["id"].tolist()
    assert moved.id in world.member.annotations_in(world.image, (11, 701, 12, 702))["id"].tolist()
    world.member.delete_annotations([moved])
    world.member.delete_annotations(ids[:10])
    assert len(world.member.annotations_in(world.image, (0, 0, 1000, 800))) == 1990
    assert len(world.member.annotations_in(world.image, (0, 0, 1000, 800), deleted=True)) == 11


def _snapshot(world: World) -> tuple[int, int]:
    s = world.admin
    return (
        len(s.annotations(image_set=world.image_set, deleted=None)),
        len(s.images(world.image_set)),
    )


@pytest.mark.parametrize(
    ("vector", "field", "words"),
    [
        ({"x1": 1, "y1": 1, "x2": 5}, "vector", "pair up"),
        ({"x1": 1, "y1": 1, "x2": 5, "y2": 5, "z": 1}, "vector", "unexpected key"),
        ({"x1": 1, "y1": 1, "x2": "5", "y2": 5}, "vector", "finite number"),
        ({"x1": 1, "y1": 1, "x2": float("nan"), "y2": 5}, "vector", "finite number"),
        ({"x1": 1, "y1": 1, "x2": 5000, "y2": 5}, "vector", "outside the image"),
        ({"x1": -1, "y1": 1, "x2": 5, "y2": 5}, "vector", "outside the image"),
        ([1, 2, 3, 4], "vector", "expected a dict"),
    ],
)
def test_bad_vectors_name_the_field_and_change_nothing(world: World, vector, field, words) -> None:
    before = _snapshot(world)
    with pytest.raises(BadInput, match=words) as err:
        world.member.add_annotation(world.image, world.box, vector)
    assert err.value.field == field
    assert _snapshot(world) == before


def test_too_few_nodes_and_bad_batches_change_nothing(world: World) -> None:
    before = _snapshot(world)
    with pytest.raises(BadInput, match="at least 3 nodes"):
        world.member.add_annotation(
            world.image, world.polygon, {"x1": 1, "y1": 1, "x2": 3, "y2": 3}
        )
    good = _boxes(world, 50)
    bad = good.copy()
    bad.loc[49, "x_max"] = 5000
    with pytest.raises(BadInput, match="row 49"):
        world.member.add_annotations(bad)
    rows = [{"image": world.image.id, "annotation_type": world.box.id, "vector": box(1, 1)}] * 3
    rows.append({"image": world.image.id, "annotation_type": world.box.id, "vector": {"x1": 1}})
    with pytest.raises(BadInput, match="row 3"):
        world.member.add_annotations(rows)
    with pytest.raises(BadInput, match="unknown column"):
        world.member.add_annotations(good.assign(colour="red"))
    with pytest.raises(BadInput, match="meta_data"):
        world.member.add_annotation(
            world.image, world.box, box(1, 1), meta_data={"x": "y" * 70_000}
        )
    with pytest.raises(BadInput, match="description"):
        world.member.add_annotation(world.image, world.box, box(1, 1), description="d" * 1001)
    with pytest.raises(NotFound):
        world.member.add_annotations(good.assign(image=10**9))
    with pytest.raises(BadInput, match="name"):
        world.admin.create_image_set(world.team, "  ")
    with pytest.raises(BadInput, match="collaboration_type"):
        world.admin.create_image_set(world.team, "x", collaboration_type=7)
    with pytest.raises(BadInput, match="vector_type"):
        world.admin.create_annotation_type(world.product, "x", vector_type=0)
    with pytest.raises(BadInput, match="color_code"):
        world.admin.create_annotation_type(world.product, "x", color_code="red")
    with pytest.raises(BadInput, match="width"):
        world.member.add_image(world.image_set, "x", width=0, height=5)
    with pytest.raises(BadInput, match="unknown field"):
        world.member.add_image(world.image_set, "x", width=5, height=5, colour="red")
    assert _snapshot(world) == before
    assert world.admin.image_sets(world.team)[-1].name != "x"


def test_global_annotations_have_no_vector(world: World) -> None:
    glob = world.admin.create_annotation_type(world.product, "whole slide", vector_type=7)
    a = world.member.add_annotation(world.image, glob, None)
    assert a.vector is None
    with pytest.raises(BadInput, match="global"):
        world.member.add_annotation(world.image, glob, box(1, 1))


def test_bulk_rows_of_every_shape_round_trip(world: World) -> None:
    """Fractional boxes, a global (box-less) row, varying texts and identifiers: each row comes
    back under the id returned for its input position, and the viewport finds the boxed ones."""
    glob = world.admin.create_annotation_type(world.product, "slide-wide", vector_type=7)
    rows = [
        {"annotation_type": world.box.id, "vector": box(10.5, 20.25, 3, 4), "description": "a"},
        {"annotation_type": glob.id, "vector": None, "description": "ganz Übersicht"},
        {"annotation_type": world.polygon.id, "unique_identifier": "ü-längerer-schlüssel"},
        {"annotation_type": world.box.id, "vector": box(900, 700, 80, 60), "meta_data": [1, 2]},
        {"annotation_type": world.box.id, "vector": box(0, 0, 1, 1), "unique_identifier": "k"},
    ]
    rows[2]["vector"] = {"x1": 300, "y1": 300, "x2": 340, "y2": 310, "x3": 320, "y3": 360}
    for i, row in enumerate(rows):
        row["image"] = world.image.id
        row.setdefault("unique_identifier", f"{world.suffix}-{i}")
    ids = world.member.add_annotations(rows)
    got = world.member.annotations(image=world.image).set_index("id").loc[ids]
    assert got["description"].tolist() == ["a", "ganz Übersicht", "", "", ""]
    assert got["unique_identifier"].iloc[2] == "ü-längerer-schlüssel"
    assert got["unique_identifier"].iloc[4] == "k"
    assert got["vector"].iloc[1] is None
    assert np.isnan(got["x_min"].iloc[1])
    assert got["vector"].iloc[0] == {"x1": 10.5, "y1": 20.25, "x2": 13.5, "y2": 24.25}
    assert got["meta_data"].iloc[3] == [1, 2]
    assert (got["y_max"].iloc[2], got["x_max"].iloc[3]) == (360.0, 980.0)
    hits = world.member.annotations_in(world.image, (0, 0, 1000, 800), with_vector=False)
    assert set(ids) - set(hits["id"]) == {ids[1]}  # everything but the box-less row
    inside = world.member.annotations_in(world.image, (310, 350, 311, 351), with_vector=False)
    assert inside["id"].tolist() == [ids[2]]
