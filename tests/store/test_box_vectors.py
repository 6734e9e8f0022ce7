"""Boxes added in bulk from bounding boxes read back the same vectors as boxes added one by one.

On PostgreSQL the bulk path stores such boxes without a vector (``exact_lab.store.sql.boxvec``);
every read path must still return EXACT's vector, the same one a stored vector gives.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa

from tests.store.conftest import World

CORNERS = [(10, 20, 30, 45), (0, 0, 1000, 800), (500, 7, 501, 8)]


def _frame(world: World, corners: list[tuple[float, ...]]) -> pd.DataFrame:
    x0, y0, x1, y1 = zip(*corners, strict=True)
    return pd.DataFrame(
        {"image": world.image.id, "annotation_type": world.box.id}
        | {"x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1}
    )


def _vector(x0: float, y0: float, x1: float, y1: float) -> dict[str, float]:
    return {"x1": x0, "y1": y0, "x2": x1, "y2": y1}


def test_bulk_boxes_read_back_like_single_ones_on_every_path(world: World) -> None:
    store = world.member
    bulk = store.add_annotations(_frame(world, CORNERS))
    single = [store.add_annotation(world.image, world.box, _vector(*c)).id for c in CORNERS]
    wanted = [_vector(*c) for c in CORNERS]
    assert [store.annotation(i).vector for i in bulk] == wanted
    frame = store.annotations(image=world.image).set_index("id")
    assert frame.loc[bulk, "vector"].tolist() == wanted
    # Arrow keeps the JSON text the database prints: the same bytes for both kinds of row
    table = store.annotations(image=world.image, format="arrow").to_pandas().set_index("id")
    texts = table["vector"]
    assert texts.loc[bulk].tolist() == texts.loc[single].tolist()
    assert [json.loads(t) for t in texts.loc[bulk]] == wanted
    window = store.annotations_in(world.image, (0, 0, 40, 50)).set_index("id")
    assert window.loc[bulk[0], "vector"] == wanted[0]
    assert window.loc[bulk[0], "vector"] == window.loc[single[0], "vector"]
    in_arrow = store.annotations_in(world.image, (0, 0, 40, 50), format="arrow").to_pandas()
    by_id = in_arrow.set_index("id")["vector"]
    assert by_id.loc[bulk[0]] == by_id.loc[single[0]]


def test_history_versions_and_updates_of_bulk_boxes(world: World) -> None:
    store = world.member
    first, second = store.add_annotations(_frame(world, CORNERS[:2]))
    version = store.create_version(world.image_set, "before")
    # changing only the type keeps the vector the bbox stood for
    moved = store.update_annotation(first, base_revision=1, annotation_type=world.point.id)
    assert moved.vector == _vector(*CORNERS[0])
    assert (moved.x_min, moved.y_max) == (10, 45)
    described = store.update_annotation(second, base_revision=1, description="checked")
    assert described.vector == _vector(*CORNERS[1])
    states = store.history(first)
    assert [s.new["vector"] for s in states] == [_vector(*CORNERS[0])] * 2
    assert states[1].old["vector"] == _vector(*CORNERS[0])
    old = store.annotations(version=version).set_index("id")
    assert old.loc[[first, second], "vector"].tolist() == [_vector(*c) for c in CORNERS[:2]]
    assert old.loc[first, "annotation_type"] == world.box.id
    diff = store.diff(version)
    assert sorted(diff.changed) == sorted([first, second])


def test_fractional_and_given_vectors_are_kept_as_given(world: World) -> None:
    store = world.member
    (half,) = store.add_annotations(_frame(world, [(1.5, 2, 3, 4)]))
    assert store.annotation(half).vector == {"x1": 1.5, "y1": 2, "x2": 3, "y2": 4}
    rows = pa.Table.from_pylist(
        [
            {
                "image": world.image.id,
                "annotation_type": world.box.id,
                "vector": json.dumps({"x1": 5, "y1": 6, "x2": 7, "y2": 8, "frame": 1}),
            }
        ]
    )
    (framed,) = store.add_annotations(rows)
    assert store.annotation(framed).vector == {"x1": 5, "y1": 6, "x2": 7, "y2": 8, "frame": 1}


def test_a_large_batch_streamed_in_chunks_with_reserved_ids(world: World) -> None:
    """More than one COPY chunk (CHUNK rows), ids from one reserved range (RESERVE_ROWS on).

    The rows are gathered and their identifiers generated a chunk at a time on PostgreSQL:
    both must continue across the chunk boundary.
    """
    rng = np.random.default_rng(9)
    n = 70_000  # above exact_lab.store.sql.pgcopy.CHUNK (65,536) and bulk.RESERVE_ROWS
    x, y = rng.integers(0, 950, n), rng.integers(0, 750, n)
    frame = _frame(world, list(zip(x, y, x + 5, y + 9, strict=True)))
    ids = world.member.add_annotations(frame)
    got = world.member.annotations(image=world.image, format="arrow").to_pandas()
    assert len(got) == n
    assert got["id"].tolist() == sorted(ids)  # one id each, input order kept in the answer
    assert max(ids) - min(ids) == n - 1  # one consecutive range
    mine = got.set_index("id").loc[ids]
    assert mine["x_min"].tolist() == x.astype(float).tolist()
    assert mine["y_max"].tolist() == (y + 9).astype(float).tolist()
    # ids and generated identifiers ascend together, in storage order
    assert got["unique_identifier"].is_monotonic_increasing
    assert got["unique_identifier"].is_unique
    assert json.loads(mine["vector"].iloc[7]) == _vector(x[7], y[7], x[7] + 5, y[7] + 9)
