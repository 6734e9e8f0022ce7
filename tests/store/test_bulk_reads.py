"""Whole-image and whole-set bulk reads: Arrow straight from the cursor, pandas built from it.

SQLite reads an image's rows by a primary-key range scan when its ids are mostly contiguous and
through the (image, unique_identifier) index otherwise; both plans must return the same rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from exact_lab.store import frames
from tests.store.conftest import World


def _boxes(image: int, kind: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 900, n).astype(float)
    y = rng.integers(0, 700, n).astype(float)
    return pd.DataFrame(
        {"image": image, "annotation_type": kind, "x_min": x, "y_min": y,
         "x_max": x + 7, "y_max": y + 5}
    )  # fmt: skip


def _second_image(world: World) -> int:
    image = world.admin.add_image(world.image_set, f"second-{world.suffix}", width=1000, height=800)
    return int(image.id)


def test_image_read_with_contiguous_and_scattered_ids(world: World) -> None:
    """Rows of image A around a big batch of image B, and interleaved ones: exactly A's rows."""
    m, a, b = world.member, world.image.id, _second_image(world)
    first = m.add_annotations(_boxes(a, world.box.id, 30, seed=1))
    other = m.add_annotations(_boxes(b, world.box.id, 5000, seed=2))  # A's ids now far apart
    last = m.add_annotations(_boxes(a, world.box.id, 20, seed=3))
    points: dict[int, list[int]] = {a: [], b: []}
    for i in range(6):  # interleave single rows
        image = a if i % 2 else b
        points[image] += m.add_annotations(_boxes(image, world.point.id, 1, seed=10 + i))
    gone = last[0]
    m.delete_annotation(gone)
    expected_a = sorted({*first, *last} - {gone})
    table_a = m.annotations(image=a, format="arrow", annotation_type=world.box)
    assert table_a.column("id").to_pylist() == expected_a
    assert set(table_a.column("image").to_pylist()) == {a}
    # the contiguous image: its own batch plus interleaved points
    table_b = m.annotations(image=b, format="arrow", annotation_type=world.box)
    assert table_b.column("id").to_pylist() == sorted(other)
    everything = m.annotations(image=a, deleted=None)
    assert everything["id"].tolist() == sorted([*first, *last, *points[a]])
    assert m.annotations(image=a, deleted=True)["id"].tolist() == [gone]
    assert m.annotations(image=b)["id"].tolist() == sorted([*other, *points[b]])


def test_arrow_schema_is_fixed_and_matches_pandas(world: World) -> None:
    """The Arrow table has the documented schema whatever the rows; pandas holds the same data."""
    m = world.member
    ids = m.add_annotations(_boxes(world.image.id, world.box.id, 40, seed=4))
    m.add_annotation(
        world.image, world.polygon, {"x1": 1, "y1": 2, "x2": 30, "y2": 2, "x3": 9, "y3": 40},
        description='quote " and, comma', meta_data={"score": 0.75, "tags": ["a", "b"]},
    )  # fmt: skip
    table = m.annotations(image=world.image, format="arrow")
    assert table.schema == frames.arrow_schema()
    only_boxes = m.annotations(image=world.image, format="arrow", annotation_type=world.box)
    assert only_boxes.schema == frames.arrow_schema()  # meta_data all null: still string
    assert only_boxes.column("meta_data").null_count == len(ids)
    empty = m.annotations(image=world.blind_image, format="arrow")
    assert empty.schema == frames.arrow_schema()
    assert empty.num_rows == 0
    slim = m.annotations(image=world.image, format="arrow", with_vector=False)
    assert slim.schema == frames.arrow_schema(with_vector=False)

    frame = m.annotations(image=world.image)
    assert frame["id"].tolist() == table.column("id").to_pylist()
    vectors = [None if v is None else json.loads(v) for v in table.column("vector").to_pylist()]
    assert vectors == frame["vector"].tolist()
    last = frame.iloc[-1]
    assert last["meta_data"] == {"score": 0.75, "tags": ["a", "b"]}
    assert last["description"] == 'quote " and, comma'
    assert json.loads(table.column("meta_data")[-1].as_py()) == last["meta_data"]
    assert table.column("description")[-1].as_py() == 'quote " and, comma'
    times = table.column("time").cast(pa.int64()).to_pylist()
    assert times == frame["time"].astype("int64").tolist()
    assert frame["time"].dt.microsecond.iloc[-1] == last["time"].microsecond
    assert frame["user"].tolist() == table.column("user").to_pylist()
    assert frame["deleted"].dtype == bool
    assert table.column("deleted").type == pa.bool_()


def test_set_read_equals_union_of_image_reads(world: World) -> None:
    """A set read is the sorted union of its images' reads, in pandas and in Arrow."""
    m, b = world.member, _second_image(world)
    m.add_annotations(_boxes(world.image.id, world.box.id, 25, seed=5))
    m.add_annotations(_boxes(b, world.point.id, 15, seed=6))
    m.add_annotations(_boxes(world.image.id, world.point.id, 5, seed=7))
    whole = m.annotations(image_set=world.image_set, format="arrow")
    parts = [m.annotations(image=i, format="arrow") for i in (world.image.id, b)]
    union = pa.concat_tables(parts)
    union = union.take(pa.compute.sort_indices(union.column("id")))
    assert whole.equals(union)
    frame = m.annotations(image_set=world.image_set)
    assert frame["id"].tolist() == whole.column("id").to_pylist()
    assert frame["x_max"].tolist() == whole.column("x_max").to_pylist()
