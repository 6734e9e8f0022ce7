"""The viewer's density grid on real SQLite and PostgreSQL stores: counts from the database's
``annotation_density``, each in the cell (anchored at the image's corner) holding the box centre;
the whole image's early count (started when the viewer is built) never hides a later edit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from exact_lab.store import connect
from exact_lab.store.sql.densityhome import HOME_CELLS, home_width
from exact_lab.widgets import SlideViewer, _commands
from exact_lab.widgets._density import CELLS, cell_size
from tests.widgets.world import World, make_world


@pytest.fixture(params=["sqlite", "postgresql"])
def world(request: pytest.FixtureRequest, tmp_path: Path, sample_slides_dir: Path) -> World:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'grid.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    return make_world(url, sample_slides_dir / "cmu_small_region.svs", tmp_path / "slides")


def grid_of(reply: dict, buffers: list) -> np.ndarray:
    return np.frombuffer(buffers[0], dtype="<f4").reshape(reply["gy"], reply["gx"])


def test_density_grid_cells_are_in_place_and_follow_edits(world: World) -> None:
    """Each count sits in the cell (from the image's corner) holding the box centre.

    The whole image's counts are started when the viewer is built; an edit in between must
    not be lost (they are counted again), and a zoomed-in region counts only what meets it.
    """
    store, image = world.store, world.image
    kind = world.types["mitotic figure"].id  # boxes
    n = _commands.DETAIL_FLOOR + 100
    rng = np.random.default_rng(8)
    x = rng.integers(0, image.width - 10, n)
    y = rng.integers(0, image.height - 10, n)
    store.add_annotations(
        [
            {"image": image.id, "annotation_type": kind, "vector": vec}
            for vec in (
                {"x1": int(a), "y1": int(b), "x2": int(a) + 10, "y2": int(b) + 10}
                for a, b in zip(x, y, strict=True)
            )
        ]
    )
    viewer = SlideViewer(image, store=store, live=False)
    # an edit made through the viewer after the early count started
    viewer.add(kind, {"x1": 0, "y1": 0, "x2": 8, "y2": 8})
    x, y = np.append(x, 0), np.append(y, 0)
    whole = [0, 0, image.width, image.height]
    reply, buffers = _commands.region(viewer, {"bbox": whole, "scale": 1e-4}, [])
    assert reply["kind"] == "density"
    assert reply["count"] == n + 1
    cell = reply["cell"]
    assert cell == max(image.width, image.height) / 128
    assert reply["bbox"][:2] == [0, 0]
    assert reply["bbox"][2] >= image.width
    assert reply["bbox"][3] >= image.height
    expected = np.zeros((reply["gy"], reply["gx"]))
    # centres of boxes 10 px across (the stored box of the 8 px one: centre 4)
    cx = np.floor((x + np.where(x == 0, 4, 5)) / cell).astype(int)
    cy = np.floor((y + np.where(y == 0, 4, 5)) / cell).astype(int)
    np.add.at(expected, (cy, cx), 1)
    assert np.array_equal(grid_of(reply, buffers), expected)
    assert reply["max"] == expected.max()
    # a region of the right half: the grid starts at the cell holding its left edge
    half = [image.width / 2, 0, image.width, image.height]
    reply, buffers = _commands.region(viewer, {"bbox": half, "scale": 1e-4, "limit": 10}, [])
    assert reply["kind"] == "density"
    cell = reply["cell"]
    ix0 = int(np.floor(half[0] / cell))
    assert reply["bbox"][0] == ix0 * cell <= half[0]
    meets = x + 10 >= half[0]  # (the 8 px box at 0, 0 does not)
    assert reply["count"] == int(meets.sum())
    cx = np.floor((x + 5) / cell).astype(int) - ix0
    cy = np.floor((y + 5) / cell).astype(int)
    keep = meets & (cx >= 0)
    expected = np.zeros((reply["gy"], reply["gx"]))
    np.add.at(expected, (cy[keep], cx[keep]), 1)
    assert np.array_equal(grid_of(reply, buffers), expected)


def test_in_memory_store_is_not_read_from_a_second_thread() -> None:
    """An in-memory SQLite store has one connection for every call: an early count in a thread
    would collide with the kernel's own transactions (an edit right after building the viewer
    failed in about a third of tries), so it counts when asked instead."""
    for _ in range(10):
        store = connect("sqlite://", user="alice")
        team = store.create_team("Lab")
        kind = store.create_annotation_type(
            store.create_product(team, "M"), "figure", vector_type=1, sort_order=1
        )
        cases = store.create_image_set(team, "Cases", products=[kind.product])
        image = store.add_image(cases, "slide", width=4000, height=3000)
        store.add_annotations(
            [
                {"image": image.id, "annotation_type": kind.id, "x_min": i, "y_min": 1}
                | {"x_max": i + 5, "y_max": 6}
                for i in range(3000)
            ]
        )
        viewer = SlideViewer(image, store=store, live=False)
        viewer.add(kind, {"x1": 10, "y1": 10, "x2": 60, "y2": 60})
        reply, _ = _commands.region(viewer, {"bbox": [0, 0, 4000, 3000], "scale": 1e-3}, [])
        assert reply["count"] == 3001


def test_file_store_counts_the_home_view_early(tmp_path: Path, sample_slides_dir: Path) -> None:
    """A file store is counted in a thread from construction on; the first whole-image answer
    takes the counts, and later answers count afresh."""
    world = make_world(
        f"sqlite:///{tmp_path / 'early.sqlite'}",
        sample_slides_dir / "cmu_small_region.svs",
        tmp_path / "slides",
    )
    image = world.image
    viewer = SlideViewer(image, store=world.store, live=False)
    home = viewer._home
    assert home is not None
    cell = cell_size(image.width, image.height)
    assert home.key == (image.id, None, cell)
    whole = [0, 0, image.width, image.height]
    reply, _ = _commands.region(viewer, {"bbox": whole, "scale": 1e-3}, [])
    assert reply["count"] == 0
    assert home.take(image.id, None, cell) is None  # taken by that answer


def test_a_slide_opened_again_shows_edits_made_elsewhere(
    tmp_path: Path, sample_slides_dir: Path
) -> None:
    """SQLite keeps the home view's count current (migration 0007); a viewer opened
    later, in a store of its own, still shows every edit made meanwhile by someone else."""
    url = f"sqlite:///{tmp_path / 'again.sqlite'}"
    world = make_world(url, sample_slides_dir / "cmu_small_region.svs", tmp_path / "slides")
    image, kind = world.image, world.types["mitotic figure"].id
    rows = [
        {"image": image.id, "annotation_type": kind, "x_min": x, "y_min": y}
        | {"x_max": x + 6, "y_max": y + 6}
        for x, y in (
            (37 * i % (image.width - 10), 53 * i % (image.height - 10))
            for i in range(_commands.DETAIL_FLOOR + 50)
        )
    ]
    world.store.add_annotations(rows)
    whole = {"bbox": [0, 0, image.width, image.height], "scale": 1e-4}
    user = world.store.user.username
    first = SlideViewer(image, store=connect(url, user=user), live=False)
    reply, before = _commands.region(first, whole, [])
    assert reply["kind"] == "density"
    assert reply["count"] == len(rows)
    elsewhere = connect(url, user=user)  # another kernel: no change feed reaches the viewers
    elsewhere.add_annotation(image, kind, {"x1": 1000, "y1": 20, "x2": 1010, "y2": 30})
    stored = elsewhere.annotations(image=image.id, with_vector=False)
    elsewhere.delete_annotations(stored.loc[stored["x_min"] == 0, "id"].tolist()[:1])  # at 0, 0
    again = SlideViewer(image, store=connect(url, user=user), live=False)
    reply, after = _commands.region(again, whole, [])
    assert reply["count"] == len(rows)  # one added, one deleted
    changed = grid_of(reply, after) - grid_of(reply, before)
    cell = reply["cell"]
    assert changed[int(25 // cell), int(1005 // cell)] == 1
    assert changed.sum() == 0
    assert (changed == -1).sum() == 1
    # and opened a third time with nothing changed, the same grid
    third = SlideViewer(image, store=connect(url, user=user), live=False)
    assert np.array_equal(grid_of(*_commands.region(third, whole, [])), grid_of(reply, after))


def test_the_viewers_home_cell_is_the_one_sqlite_keeps_current() -> None:
    """The store keeps counts at the cell the viewer asks for at its home view (migration 0007);
    if either side changed its rule alone, every first view would count all rows again."""
    assert HOME_CELLS == CELLS
    for width, height in ((40_000, 40_000), (2220, 2967), (1000, 800), (50, 20), (99_999, 3)):
        assert home_width(width, height) == 2 * cell_size(width, height)
