"""SlideViewer tools in JupyterLab (headless Chromium) on the real sample slide: line,
multi-line, freehand, fixed-size click, global label; moving and resizing a box, moving a
polygon vertex; rectangle multi-select and relabelling the group with a digit key.

As in ``test_viewer.py``: the mouse draws, the store is read back from this process, and the
expected level-0 coordinates come from the home-view geometry (``View``), not from the widget.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess
from tests.ui.test_viewer import (
    VIEWER,
    View,
    live,
    near,
    open_viewer,
    quiet,
    start_viewer_lab,
    viewer_cell,
    wait_until,
)
from tests.widgets.world import World, make_world

FIXED = (120, 80)  # the fixed-size type's default width and height


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, sample_slides_dir: Path, isolated_data_dir: Path
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("tools-store")
    built = make_world(
        f"sqlite:///{folder / 'exact.sqlite'}",
        sample_slides_dir / "cmu_small_region.svs",
        isolated_data_dir / "tools-slides",
    )
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def kinds(world: World) -> dict[str, Any]:
    """Four more types, after the world's four in sort order (digit keys 5-8)."""
    product = world.types["mitotic figure"].product
    store = world.store
    return {
        "line": store.create_annotation_type(
            product, "margin", vector_type=3, sort_order=5, color_code="#FF1744"
        ),
        "multiline": store.create_annotation_type(
            product, "duct path", vector_type=4, sort_order=6, color_code="#00B8D4"
        ),
        "fixed": store.create_annotation_type(
            product,
            "hpf",
            vector_type=6,
            sort_order=7,
            color_code="#FFD600",
            default_width=FIXED[0],
            default_height=FIXED[1],
        ),
        "global": store.create_annotation_type(
            product, "no tumour", vector_type=7, sort_order=8, color_code="#9E9E9E"
        ),
    }


@pytest.fixture(scope="module")
def tools_lab(
    tmp_path_factory: pytest.TempPathFactory, world: World, kinds: dict[str, Any]
) -> Iterator[JupyterProcess]:
    cell = viewer_cell("alice", f"store.image({world.image.id})")
    server = start_viewer_lab(tmp_path_factory, "tools-lab", world, {"alice.ipynb": cell})
    yield server
    server.stop()


def of_type(world: World, type_id: int) -> list[Any]:
    frame = live(world)
    return [row for _, row in frame.iterrows() if row["annotation_type"] == type_id]


def one_of(world: World, type_id: int, what: str) -> Any:
    return wait_until(what, lambda: rows[-1] if (rows := of_type(world, type_id)) else None)


def drag(page: Any, points: list[tuple[float, float]], steps: int = 6) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


def segment_distance(
    p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]
) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return float(((ax + t * dx - px) ** 2 + (ay + t * dy - py) ** 2) ** 0.5)


def vertices(vector: dict[str, Any]) -> list[tuple[float, float]]:
    out = []
    i = 1
    while f"x{i}" in vector:
        out.append((float(vector[f"x{i}"]), float(vector[f"y{i}"])))
        i += 1
    return out


def pick_tool(page: Any, tool: str) -> None:
    page.keyboard.press("Escape")
    page.click(f"{VIEWER} .elv-tools button[data-tool='{tool}']")


def test_remaining_tools_edits_and_group_relabel(
    page: Any, tools_lab: JupyterProcess, world: World, kinds: dict[str, Any]
) -> None:
    open_viewer(page, tools_lab, "alice.ipynb")
    page.click(f"{VIEWER} .elv-home")
    page.wait_for_timeout(200)
    view = View(page, world.image.width, world.image.height)
    types = world.types

    # --- line: a drag with the line tool (it picks the line type)
    pick_tool(page, "line")
    a, b = view.page(200, 200), view.page(700, 420)
    drag(page, [a, b])
    line = one_of(world, kinds["line"].id, "the line")
    assert near(line["vector"], [view.image(*a), view.image(*b)]), line["vector"]
    quiet(page, selected=str(int(line["id"])))

    # --- multi-line: three clicks and Enter
    pick_tool(page, "multiline")
    clicks = [view.page(200, 620), view.page(500, 820), view.page(800, 660)]
    for point in clicks:
        page.mouse.click(*point)
    page.keyboard.press("Enter")
    path = one_of(world, kinds["multiline"].id, "the multi-line")
    assert near(path["vector"], [view.image(*p) for p in clicks]), path["vector"]
    quiet(page, selected=str(int(path["id"])))

    # --- freehand: a drag around a rectangle of whole page pixels; every stored vertex lies on
    # the dragged path, and its corners are vertices
    pick_tool(page, "freehand")
    x0, y0 = (round(v) for v in view.page(1300, 200))
    x1, y1 = (round(v) for v in view.page(1800, 600))
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    drag(page, [*corners, (x0, y0 + 3)], steps=10)
    outline = one_of(world, types["tumour"].id, "the freehand outline")
    drawn = [view.image(*p) for p in [*corners, corners[0]]]
    got = vertices(outline["vector"])
    assert len(got) >= 4, got
    for vertex in got:
        gap = min(segment_distance(vertex, drawn[i], drawn[i + 1]) for i in range(4))
        assert gap <= 1, (vertex, gap)
    for corner in drawn[:4]:
        assert min(abs(v[0] - corner[0]) + abs(v[1] - corner[1]) for v in got) <= 2, corner
    quiet(page, selected=str(int(outline["id"])))

    # --- fixed size: one click makes a box of the type's default size centred on it
    pick_tool(page, "fixed")
    spot = view.page(1000, 1000)
    page.mouse.click(*spot)
    fixed = one_of(world, kinds["fixed"].id, "the fixed-size box")
    cx, cy = view.image(*spot)
    w, h = FIXED
    assert near(fixed["vector"], [(cx - w / 2, cy - h / 2), (cx + w / 2, cy + h / 2)]), fixed[
        "vector"
    ]
    quiet(page, selected=str(int(fixed["id"])))

    # --- global label: a click anywhere labels the whole image (no vector)
    pick_tool(page, "global")
    page.mouse.click(*view.page(1100, 2700))
    label = one_of(world, kinds["global"].id, "the global label")
    assert not label["vector"], label["vector"]
    quiet(page)
    # it has no place on the slide: the type picker ticks it; a second click removes it
    tick = f"{VIEWER} .elv-types button[data-type='{kinds['global'].id}']"
    page.wait_for_selector(f"{tick}[data-global='on']")
    page.mouse.click(*view.page(1100, 2700))
    wait_until("the label removed", lambda: world.store.annotation(int(label["id"])).deleted)
    page.wait_for_selector(f"{tick}[data-global='off']")
    page.mouse.click(*view.page(1100, 2700))
    wait_until("the label set again", lambda: len(of_type(world, kinds["global"].id)) == 1)
    page.wait_for_selector(f"{tick}[data-global='on']")
    quiet(page)

    # --- polygon, then move its second vertex with the select tool
    pick_tool(page, "polygon")
    corners_l0 = [(300, 1500), (700, 1450), (750, 1900), (350, 1950)]
    for x, y in corners_l0:
        page.mouse.click(*view.page(x, y))
    page.keyboard.press("Enter")
    polygon = wait_until(
        "the polygon",
        lambda: next(
            (r for r in of_type(world, types["tumour"].id) if r["id"] != outline["id"]), None
        ),
    )
    ident = int(polygon["id"])
    quiet(page, selected=str(ident))
    page.click(f"{VIEWER} .elv-tools button[data-tool='select']")
    page.mouse.click(*view.page(500, 1700))  # inside the polygon: selects it
    quiet(page, selected=str(ident))
    before = vertices(world.store.annotation(ident).vector)
    drag(page, [view.page(*before[1]), view.page(900, 1300)])
    wait_until("the vertex move", lambda: world.store.annotation(ident).revision > 1)
    after = vertices(world.store.annotation(ident).vector)
    moved = view.image(*view.page(900, 1300))
    assert abs(after[1][0] - moved[0]) <= 1, after
    assert abs(after[1][1] - moved[1]) <= 1, after
    assert [after[i] for i in (0, 2, 3)] == [before[i] for i in (0, 2, 3)]
    quiet(page)

    # --- a box: move it by dragging its inside, resize it by its bottom-right handle
    pick_tool(page, "bbox")
    start, end = view.page(1300, 1200), view.page(1700, 1500)
    drag(page, [start, end])
    box = wait_until(
        "the box",
        lambda: next(
            (r for r in of_type(world, types["mitotic figure"].id) if r["id"] != ident), None
        ),
    )
    box_id = int(box["id"])
    quiet(page, selected=str(box_id))
    page.click(f"{VIEWER} .elv-tools button[data-tool='select']")
    page.mouse.click(*view.page(1500, 1350))  # inside the box: selects it
    quiet(page, selected=str(box_id))
    v = world.store.annotation(box_id).vector
    grip = view.page((v["x1"] + v["x2"]) / 2, (v["y1"] + v["y2"]) / 2)
    shift = (grip[0] + 30, grip[1] + 40)  # page pixels
    drag(page, [grip, shift])
    wait_until("the move", lambda: world.store.annotation(box_id).revision == 2)
    dx, dy = 30 / view.scale, 40 / view.scale
    want = [(v["x1"] + dx, v["y1"] + dy), (v["x2"] + dx, v["y2"] + dy)]
    moved_box = world.store.annotation(box_id).vector
    assert near(moved_box, want), (moved_box, want)
    quiet(page, selected=str(box_id))
    corner = view.page(moved_box["x2"], moved_box["y2"])
    target = view.page(1900, 1900)
    drag(page, [corner, target])
    wait_until("the resize", lambda: world.store.annotation(box_id).revision == 3)
    resized = world.store.annotation(box_id).vector
    assert near(resized, [(moved_box["x1"], moved_box["y1"]), view.image(*target)]), resized
    quiet(page, selected=str(box_id))
    screenshot(page, "viewer-lab-tools")

    # --- two more boxes, Shift+drag a rectangle around both, "2" relabels the group
    pick_tool(page, "bbox")
    group: list[int] = []
    for x in (300, 700):
        known = {int(r["id"]) for r in of_type(world, types["mitotic figure"].id)}
        drag(page, [view.page(x, 2300), view.page(x + 200, 2500)])
        new = wait_until(
            "a group box",
            lambda k=known: (
                ({int(r["id"]) for r in of_type(world, types["mitotic figure"].id)} - k) or None
            ),
        )
        group.append(new.pop())
        quiet(page, selected=str(group[-1]))
    page.click(f"{VIEWER} .elv-tools button[data-tool='select']")
    page.keyboard.down("Shift")
    drag(page, [view.page(250, 2250), view.page(950, 2560)])
    page.keyboard.up("Shift")
    quiet(page, selected=",".join(str(i) for i in group))
    page.keyboard.press("2")
    wait_until(
        "the group relabel",
        lambda: all(
            world.store.annotation(i).annotation_type == types["look-alike"].id for i in group
        ),
    )
    # nothing outside the rectangle changed type
    assert world.store.annotation(box_id).annotation_type == types["mitotic figure"].id
    quiet(page)
    screenshot(page, "viewer-lab-group")
