"""The viewer's region answer: vectors flattened from the store's Arrow text, and the screen
density rule choosing a density grid or detail, on real SQLite and PostgreSQL stores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from exact_lab.widgets import SlideViewer, _commands
from exact_lab.widgets._columns import flat_vectors, vector_points
from tests.widgets.world import World, make_world

#: Vectors as SQLite keeps them, as PostgreSQL's jsonb writes them back (keys sorted by length,
#: then bytes), with a frame key, with a gap (read up to it), empty and missing.
TEXTS = [
    '{"x1": 10, "y1": 20, "x2": 30, "y2": 40}',
    json.dumps({f"{c}{i}": i * (2 if c == "y" else 1) for i in range(1, 12) for c in "xy"}),
    '{"x1": 1, "x2": 2, "x3": 3, "y1": 4, "y2": 5, "y3": 6, "x10": 7, "y10": 8}',
    '{"frame": 2, "x1": 5.5, "y1": 6.25}',
    '{"x1": 1, "y1": 2, "x3": 3, "y3": 4}',
    "{}",
    None,
]


def test_flat_vectors_match_the_per_vector_reading() -> None:
    offsets, coords = flat_vectors(pa.chunked_array([pa.array(TEXTS[:3]), pa.array(TEXTS[3:])]))
    expected = [vector_points(json.loads(t)) if t else [] for t in TEXTS]
    assert offsets.tolist() == list(np.cumsum([0] + [len(e) // 2 for e in expected]))
    assert coords.tolist() == [v for e in expected for v in e]
    assert coords[offsets[2] * 2 : offsets[3] * 2].tolist()[:4] == [1, 4, 2, 5]  # x1 y1 x2 y2


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path, sample_slides_dir: Path) -> World:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'region.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    return make_world(url, sample_slides_dir / "cmu_small_region.svs", tmp_path / "slides")


def test_density_when_too_many_to_tell_apart_detail_when_zoomed_in(world: World) -> None:
    store, image = world.store, world.image
    width, height = image.width, image.height
    rng = np.random.default_rng(5)
    n = _commands.DETAIL_FLOOR + 500
    xs = rng.integers(0, width - 40, n)
    ys = rng.integers(0, height - 40, n)
    # 12-gons: PostgreSQL's jsonb gives keys back shorter first (x1 .. x9, y1 .. y9, x10, ...)
    angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    vectors = [
        {
            f"{c}{k + 1}": int(v)
            for k in range(12)
            for c, v in (
                ("x", x + 20 + 15 * np.cos(angles[k])),
                ("y", y + 20 + 15 * np.sin(angles[k])),
            )
        }
        for x, y in zip(xs, ys, strict=True)
    ]
    store.add_annotations(
        [
            {"image": image.id, "annotation_type": world.types["tumour"].id, "vector": v}
            for v in vectors
        ]
    )
    viewer = SlideViewer(image, store=store, live=False)
    whole = [0, 0, width, height]
    # the whole slide at a scale where it covers fewer screen px than 16 per annotation
    far = (n - 100) ** 0.5 * _commands.CELL / max(width, height)
    reply, buffers = _commands.region(viewer, {"bbox": whole, "scale": far}, [])
    assert reply["kind"] == "density", reply
    assert reply["count"] == n
    grid = np.frombuffer(buffers[0], dtype="<f4")
    assert grid.sum() == n
    # zoomed in 8x on the top-left corner: few enough per screen px, every shape is sent
    corner = [0, 0, width / 4, height / 4]
    reply, buffers = _commands.region(viewer, {"bbox": corner, "scale": far * 8}, [])
    assert reply["kind"] == "detail", reply
    stored = store.annotations_in(image.id, tuple(corner))
    assert reply["count"] == len(stored) > 0
    ids = np.frombuffer(buffers[0], dtype="<i4")
    offsets = np.frombuffer(buffers[4], dtype="<u4")
    coords = np.frombuffer(buffers[5], dtype="<f4")
    assert ids.tolist() == stored["id"].tolist()
    for i, vector in enumerate(stored["vector"]):
        got = coords[2 * offsets[i] : 2 * offsets[i + 1]].tolist()
        assert got == vector_points(vector), (i, vector)
    # without a scale (an older page) only the hard limit counts
    reply, _ = _commands.region(viewer, {"bbox": whole}, [])
    assert (reply["kind"], reply["count"]) == ("detail", n)
    reply, _ = _commands.region(viewer, {"bbox": whole, "limit": 10}, [])
    assert reply["kind"] == "density"
