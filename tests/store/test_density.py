"""``Store.annotation_density``: counts per grid cell and type, checked against a Python recount.

The recount bins the boxes this test generated itself (not what the store reads back), with
the documented rule ``floor((x_min + x_max) / (2 * cell))``.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

from exact_lab.errors import BadInput, NotFound
from tests.store.conftest import World, box

COLUMNS = ["cx", "cy", "annotation_type", "count"]


def _recount(boxes: pd.DataFrame, cell: float) -> pd.DataFrame:
    """Bin ``boxes`` (x_min .. y_max, annotation_type) the documented way, in numpy."""
    if boxes.empty:
        return pd.DataFrame({c: pd.Series(dtype="int64") for c in COLUMNS})
    width = 2 * cell
    binned = pd.DataFrame(
        {
            "cx": np.floor((boxes["x_min"] + boxes["x_max"]) / width).astype("int64"),
            "cy": np.floor((boxes["y_min"] + boxes["y_max"]) / width).astype("int64"),
            "annotation_type": boxes["annotation_type"].astype("int64"),
        }
    )
    counted = binned.groupby(["cy", "cx", "annotation_type"]).size().reset_index(name="count")
    return counted[COLUMNS].astype("int64").reset_index(drop=True)


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == COLUMNS
    assert all(str(t) == "int64" for t in got.dtypes)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=True)


def random_boxes(world: World, image: int, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 900, n).round(2)
    y = rng.uniform(0, 700, n).round(2)
    kinds = rng.choice([world.box.id, world.point.id], n)
    return pd.DataFrame(
        {"image": image, "annotation_type": kinds, "x_min": x, "y_min": y,
         "x_max": x + rng.uniform(1, 90, n).round(2), "y_max": y + rng.uniform(1, 90, n).round(2)}
    )  # fmt: skip


def test_counts_match_a_recount_of_the_same_boxes(world: World) -> None:
    boxes = random_boxes(world, world.image.id, 3000, seed=3)
    # centres exactly on cell borders of 100 px: (90 + 110) / 2 = 100 goes right, 99.99 left
    edges = pd.DataFrame(
        {"image": world.image.id, "annotation_type": world.box.id,
         "x_min": [90.0, 89.98, 0.0, 0.0], "y_min": [190.0, 0.0, 0.0, 700.0],
         "x_max": [110.0, 110.0, 1000.0, 1.0], "y_max": [210.0, 0.5, 800.0, 800.0]}
    )  # fmt: skip
    boxes = pd.concat([boxes, edges], ignore_index=True)
    ids = world.member.add_annotations(boxes)
    # deleted rows, a polygon (bbox of its nodes) and a global label (no bbox: never counted)
    gone = ids[:100]
    world.member.delete_annotations(gone)
    poly = {"x1": 10, "y1": 400, "x2": 300, "y2": 420, "x3": 150, "y3": 650}
    world.member.add_annotation(world.image, world.polygon, poly)
    global_type = world.admin.create_annotation_type(world.product, "label", vector_type=7)
    world.member.add_annotation(world.image, global_type, None)
    polygon_box = pd.DataFrame(
        {"annotation_type": [world.polygon.id], "x_min": [10.0], "y_min": [400.0],
         "x_max": [300.0], "y_max": [650.0]}
    )  # fmt: skip
    live = pd.concat([boxes.drop(index=range(100)), polygon_box], ignore_index=True)
    dead = boxes.iloc[:100]
    for cell in (100, 37.5, 1000, 1):
        _same(world.member.annotation_density(world.image, cell), _recount(live, cell))
    _same(world.admin.annotation_density(world.image, 64, deleted=True), _recount(dead, 64))
    both = pd.concat([live, dead], ignore_index=True)
    _same(world.member.annotation_density(world.image, 64, deleted=None), _recount(both, 64))
    only_points = live[live["annotation_type"] == world.point.id]
    _same(
        world.member.annotation_density(world.image, 50, annotation_type=world.point),
        _recount(only_points, 50),
    )
    two = live[live["annotation_type"].isin([world.point.id, world.polygon.id])]
    _same(
        world.member.annotation_density(
            world.image, 50, annotation_type=[world.point.id, world.polygon]
        ),
        _recount(two, 50),
    )
    assert world.member.annotation_density(world.image, 50, annotation_type=[]).empty
    # the whole-image cell holds every live annotation with a bbox, per type
    total = world.member.annotation_density(world.image, 10_000)
    assert total["count"].sum() == len(live)


def test_bbox_counts_what_annotations_in_returns(world: World) -> None:
    boxes = random_boxes(world, world.image.id, 2000, seed=5)
    world.member.add_annotations(boxes)
    for window in ((100, 100, 400, 300), (0, 0, 1000, 800), (555.5, 10, 556, 700)):
        hits = world.member.annotations_in(world.image, window, with_vector=False)
        assert len(hits) > 0
        x0, y0, x1, y1 = window
        inside = boxes[
            (boxes["x_max"] >= x0) & (boxes["x_min"] <= x1)
            & (boxes["y_max"] >= y0) & (boxes["y_min"] <= y1)
        ]  # fmt: skip
        assert len(inside) == len(hits)
        got = world.member.annotation_density(world.image, 40, bbox=window)
        _same(got, _recount(inside, 40))
    assert world.member.annotation_density(world.image, 40, bbox=(950, 750, 999, 799)).empty


def test_frames_are_filtered(world: World) -> None:
    image = world.admin.add_image(
        world.image_set, f"z-{world.suffix}", width=500, height=500, frames=3
    )
    rows = [
        {"image": image.id, "annotation_type": world.box.id, "vector": {**box(x, 10), "frame": f}}
        for f, x in ((1, 10), (2, 10), (2, 300), (3, 300), (2, 310))
    ]
    world.member.add_annotations(rows)
    got = world.member.annotation_density(image, 256, frame=2)
    assert got.to_dict("records") == [
        {"cx": 0, "cy": 0, "annotation_type": world.box.id, "count": 1},
        {"cx": 1, "cy": 0, "annotation_type": world.box.id, "count": 2},
    ]
    assert world.member.annotation_density(image, 256)["count"].sum() == 5
    assert world.member.annotation_density(image, 256, frame=3)["cx"].tolist() == [1]


def test_blind_sets_count_only_the_callers_own(world: World, store_factory) -> None:
    second = store_factory(f"second_{world.suffix}")
    world.admin.add_member(world.team, second.user.username)
    world.member.add_annotations(
        [{"image": world.blind_image.id, "annotation_type": world.box.id, "vector": box(x, 10)}
         for x in (10, 20, 30)]
    )  # fmt: skip
    second.add_annotation(world.blind_image, world.box, box(600, 600))
    assert world.member.annotation_density(world.blind_image, 500).to_dict("records") == [
        {"cx": 0, "cy": 0, "annotation_type": world.box.id, "count": 3}
    ]
    assert second.annotation_density(world.blind_image, 500).to_dict("records") == [
        {"cx": 1, "cy": 1, "annotation_type": world.box.id, "count": 1}
    ]
    assert second.annotation_density(world.blind_image, 500, bbox=(0, 0, 100, 100)).empty
    # team admins see everything, to compare
    assert world.admin.annotation_density(world.blind_image, 500)["count"].tolist() == [3, 1]


def test_outsiders_and_unknown_images_get_the_same_not_found(world: World) -> None:
    world.member.add_annotation(world.image, world.box, box(1, 1))
    with pytest.raises(NotFound) as hidden:
        world.outsider.annotation_density(world.image, 100)
    with pytest.raises(NotFound) as missing:
        world.outsider.annotation_density(10**9, 100)
    assert re.sub(r"\d+", "N", str(hidden.value), count=1) == re.sub(
        r"\d+", "N", str(missing.value), count=1
    )
    with pytest.raises(NotFound):
        world.other_admin.annotation_density(world.image, 100, bbox=(0, 0, 10, 10))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"cell": 0}, "cell"),
        ({"cell": -5}, "cell"),
        ({"cell": 0.5}, "cell"),
        ({"cell": math.nan}, "cell"),
        ({"cell": math.inf}, "cell"),
        ({"cell": "100"}, "cell"),
        ({"cell": True}, "cell"),
        ({"cell": 10, "bbox": (0, 0, math.nan, 10)}, "bbox"),
        ({"cell": 10, "bbox": (10, 0, 0, 10)}, "bbox"),
        ({"cell": 10, "bbox": (0, 0, 10)}, "bbox"),
        ({"cell": 10, "frame": 0}, "frame"),
        ({"cell": 10, "deleted": "yes"}, "deleted"),
    ],
)
def test_bad_arguments_name_the_field(world: World, kwargs: dict, field: str) -> None:
    with pytest.raises(BadInput) as err:
        world.member.annotation_density(world.image, **kwargs)
    assert err.value.field == field
    assert field in str(err.value)


def test_empty_image_gives_typed_empty_frame(world: World) -> None:
    got = world.member.annotation_density(world.image, 100)
    assert got.empty
    assert list(got.columns) == COLUMNS
    assert all(str(t) == "int64" for t in got.dtypes)
