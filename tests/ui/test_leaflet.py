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

import pytest

from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess, start_jupyter
from tests.ui.test_lab import run_notebook_in_lab
from tests.ui.test_viewer import notebook, wait_until
from tests.ui.test_viewer import world as world  # noqa: PLC0414 - the module's store fixture
from tests.widgets.world import World

MAP = ".leaflet-container"
TILE = re.compile(r"/tile_files/(\d+)/(\d+)_(\d+)\.jpeg")


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
