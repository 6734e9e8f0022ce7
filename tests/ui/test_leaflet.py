"""The ipyleaflet adapter in JupyterLab (headless Chromium) on the real sample slide.

Tiles load from the server extension into an ``ipyleaflet.Map`` in pixel space, and a rectangle
drawn with leaflet-draw's tool becomes a store annotation at the level-0 pixels it covers. The
expected pixels come from where Leaflet placed a loaded tile (its DeepZoom address names the
image pixels it shows), not from the adapter's code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess, start_jupyter
from tests.ui.test_lab import run_notebook_in_lab
from tests.ui.test_viewer import notebook, wait_until
from tests.ui.test_viewer import world as world  # noqa: PLC0414 - the module's store fixture
from tests.widgets.world import World

MAP = ".leaflet-container"
TILE = re.compile(r"/tile_files/(\d+)/(\d+)_(\d+)\.jpeg")
FAR = 3  # zoom -3: one screen pixel per 8 x 8 level-0 pixels


@pytest.fixture(scope="module")
def leaflet_lab(tmp_path_factory: pytest.TempPathFactory, world: World) -> Iterator[JupyterProcess]:
    workdir = tmp_path_factory.mktemp("leaflet-lab")
    root = workdir / "root"
    root.mkdir()
    notebook(
        root / "map.ipynb",
        "import exact_lab\n"
        "from exact_lab.widgets.leaflet import slide_map, to_latlng\n"
        "store = exact_lab.connect(user='alice')\n"
        f"m = slide_map({world.image.id}, store=store, height='520px')\n"
        "m.zoom = 0  # full resolution: one image pixel per screen pixel\n"
        "m.center = to_latlng(1000, 1400)\n"
        "m\n",
    )
    notebook(  # zoomed out 8x: the whole slide in view, its edge tiles narrower than 256 px
        root / "far.ipynb",
        "import exact_lab\n"
        "from exact_lab.widgets.leaflet import slide_map, to_latlng\n"
        "store = exact_lab.connect(user='alice')\n"
        f"m = slide_map({world.image.id}, store=store, height='520px')\n"
        f"m.zoom = -{FAR}\n"
        f"m.center = to_latlng({world.image.width / 2}, {world.image.height / 2})\n"
        "m\n",
    )
    server = start_jupyter(
        "lab",
        workdir,
        root,
        env={"EXACT_LAB_URL": world.url},
        ready_path="exact/api/status",
        extra_args=["--ExactLabApp.local_user=alice"],
    )
    yield server
    server.stop()


def loaded_tiles(page: Any) -> list[tuple[str, dict[str, float]]]:
    tiles = page.locator(f"{MAP} img.leaflet-tile-loaded")
    return [
        (tiles.nth(i).get_attribute("src"), tiles.nth(i).bounding_box())
        for i in range(tiles.count())
    ]


def test_tiles_load_and_drawing_stores_level0_pixels(
    page: Any, leaflet_lab: JupyterProcess, world: World
) -> None:
    run_notebook_in_lab(page, leaflet_lab, "map.ipynb")
    page.wait_for_selector(f"{MAP} img.leaflet-tile-loaded")
    # every tile in view loaded (none pending, none failed)
    page.wait_for_function(
        """(sel) => {
          const imgs = [...document.querySelectorAll(sel + ' img.leaflet-tile')];
          return imgs.length > 0 && imgs.every((i) => i.classList.contains('leaflet-tile-loaded')
                                               && i.naturalWidth > 0);
        }""",
        arg=MAP,
    )
    page.wait_for_timeout(400)  # zoom animation and paint, for the screenshot and the geometry
    tiles = loaded_tiles(page)
    assert tiles, "no tile loaded"
    addresses = [TILE.search(src or "") for src, _box in tiles]
    assert all(addresses), [src for src, _ in tiles]
    assert {int(m.group(1)) for m in addresses if m} == {12}
    assert all(
        (src or "").startswith(f"/exact/api/v1/images/images/{world.image.id}/") for src, _ in tiles
    )
    screenshot(page, "leaflet-lab-tiles")

    # page position of image pixel (0, 0), from one tile: at level 12, tile (c, r) shows pixels
    # from (256 c, 256 r) at one screen pixel each
    src, box = tiles[0]
    found = TILE.search(src)
    assert found
    col, row = int(found.group(2)), int(found.group(3))
    origin_x, origin_y = box["x"] - 256 * col, box["y"] - 256 * row

    page.click(f"{MAP} a.leaflet-draw-draw-rectangle")
    start = (origin_x + 900, origin_y + 1300)
    end = (origin_x + 1150, origin_y + 1480)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    rows = wait_until(
        "the rectangle in the store",
        lambda: f if len(f := world.store.annotations(image=world.image.id)) else None,
    )
    vector = rows.iloc[-1]["vector"]
    assert rows.iloc[-1]["annotation_type"] == world.types["mitotic figure"].id
    for key, expected in {"x1": 900, "y1": 1300, "x2": 1150, "y2": 1480}.items():
        assert abs(vector[key] - expected) <= 1, vector
    # the stored annotation comes back as a GeoJSON layer path at the same place
    page.wait_for_selector(f"{MAP} path.leaflet-interactive")
    page.wait_for_timeout(300)
    screenshot(page, "leaflet-lab-drawn")
    world.store.delete_annotation(int(rows.iloc[-1]["id"]))


def test_zoomed_out_slide_edges_meet_the_annotations(
    page: Any, leaflet_lab: JupyterProcess, world: World
) -> None:
    """Leaflet draws every tile 256 px wide: the narrower edge tiles must come padded.

    A box annotation round the whole image marks where the slide's right and bottom edges
    belong. Unpadded, the last column and row of tiles were stretched to 256 px (the slide drawn
    up to 512 px wide, its annotations 278 px).
    """
    width, height = world.image.width, world.image.height
    frame = world.store.add_annotation(
        world.image,
        world.types["mitotic figure"],
        {"x1": 0, "y1": 0, "x2": width, "y2": height},
    )
    try:
        run_notebook_in_lab(page, leaflet_lab, "far.ipynb")
        page.wait_for_selector(f"{MAP} path.leaflet-interactive")
        page.wait_for_function(
            """(sel) => {
              const imgs = [...document.querySelectorAll(sel + ' img.leaflet-tile')];
              return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0
                                                   && i.classList.contains('leaflet-tile-loaded'));
            }""",
            arg=MAP,
        )
        page.wait_for_timeout(500)  # fade-in and paint
        # the annotation: SVG geometry, stroke excluded
        box = page.evaluate(
            """(sel) => {
              const r = document.querySelector(sel + ' path.leaflet-interactive')
                .getBoundingClientRect();
              return {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
            }""",
            MAP,
        )
        scale = 2.0**-FAR
        assert abs((box["right"] - box["left"]) - width * scale) <= 1.5, box
        # the slide, from the tiles as drawn: each shows its level's pixels from (256 c, 256 r)
        tiles = page.evaluate(
            """(sel) => [...document.querySelectorAll(sel + ' img.leaflet-tile-loaded')]
              .map((i) => { const r = i.getBoundingClientRect();
                return {src: i.src, x: r.left, y: r.top, w: r.width, h: r.height,
                        nw: i.naturalWidth, nh: i.naturalHeight}; })""",
            MAP,
        )
        level_w, level_h = -(-width // 2**FAR), -(-height // 2**FAR)  # DeepZoom rounds up
        right = bottom = None
        for tile in tiles:
            found = TILE.search(tile["src"])
            assert found, tile
            col, row = int(found.group(2)), int(found.group(3))
            assert (tile["nw"], tile["nh"]) == (256, 256), tile  # padded: drawn at its own size
            if 256 * col < level_w <= 256 * (col + 1):
                right = tile["x"] + (level_w - 256 * col) * tile["w"] / tile["nw"]
            if 256 * row < level_h <= 256 * (row + 1):
                bottom = tile["y"] + (level_h - 256 * row) * tile["h"] / tile["nh"]
        assert right is not None, tiles
        assert bottom is not None, tiles
        assert abs(right - box["right"]) <= 2, (right, box)
        assert abs(bottom - box["bottom"]) <= 2, (bottom, box)
        # and in the pixels: the tissue at the slide's bottom edge stops at the annotation's
        shot = screenshot(page, "leaflet-lab-far")
        picture = np.asarray(PILImage.open(shot).convert("RGB")).astype(int)
        x = int((box["left"] + box["right"]) / 2)
        column = picture[int(box["top"]) + 5 : int(box["bottom"]) + 60, x]
        tissue = np.flatnonzero(column.min(axis=1) < 200)  # stained, not glass or padding
        assert len(tissue), "no tissue under the middle of the slide"
        last = int(box["top"]) + 5 + int(tissue[-1])
        assert abs(last - box["bottom"]) <= 3, (last, box)
    finally:
        world.store.delete_annotation(frame.id)
