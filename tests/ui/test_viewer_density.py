"""The screen-density rule in the browser: a density grid far out, the shapes once zoomed in.

The page sends its scale with each region request; the kernel answers with a density grid when
the region holds more than one annotation per 4 x 4 screen pixels (``_commands.detail_limit``).
30 000 tiny boxes on the 2220 x 2967 px sample slide are about 16 000 too many for the home
view's ~260 000 screen px², and a small share of that once zoomed in ~9x.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from tests.ui.conftest import screenshot, wheel_in
from tests.ui.servers import JupyterProcess
from tests.ui.test_lab import run_notebook_in_lab
from tests.ui.test_viewer import VIEWER, open_viewer, start_viewer_lab, viewer_cell
from tests.ui.test_viewer_overlay import overlay_pixels
from tests.widgets.world import World, make_world

N = 30_000


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, sample_slides_dir: Path, isolated_data_dir: Path
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("density-store")
    built = make_world(
        f"sqlite:///{folder / 'exact.sqlite'}",
        sample_slides_dir / "cmu_small_region.svs",
        isolated_data_dir / "density-slides",
    )
    rng = np.random.default_rng(3)
    x = rng.integers(0, built.image.width - 6, N)
    y = rng.integers(0, built.image.height - 6, N)
    built.store.add_annotations(
        pd.DataFrame(
            {
                "image": built.image.id,
                "annotation_type": built.types["mitotic figure"].id,
                "vector": [
                    {"x1": int(a), "y1": int(b), "x2": int(a) + 6, "y2": int(b) + 6}
                    for a, b in zip(x, y, strict=True)
                ],
            }
        )
    )
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def density_lab(tmp_path_factory: pytest.TempPathFactory, world: World) -> Iterator[JupyterProcess]:
    cell = viewer_cell("alice", f"store.image({world.image.id})", tool="select")
    server = start_viewer_lab(tmp_path_factory, "density-lab", world, {"alice.ipynb": cell})
    yield server
    server.stop()


def test_density_far_out_shapes_zoomed_in(
    page: Any, density_lab: JupyterProcess, world: World
) -> None:
    open_viewer(page, density_lab, "alice.ipynb")
    home = page.wait_for_selector(f"{VIEWER}[data-layer='density']")
    assert home.get_attribute("data-annotations") == str(N)
    screenshot(page, "viewer-density-home")
    region = int(home.get_attribute("data-region") or 0)
    box = page.locator(f"{VIEWER} canvas.elv-overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    # OpenSeadragon zooms 1.2x per wheel step: about 9x. The steps come faster than its 0.3 s
    # zoom animation, so the region is asked for once, at the end; a pause between steps lets
    # a region of an early step (still the whole slide, in detail) answer for the end too.
    wheel_in(page, 12, 15)
    page.wait_for_selector(f"{VIEWER}[data-layer='detail'][data-pending='0']")
    # read together: a later answer may land between two reads
    seq, shown, loaded = page.evaluate(
        """(sel) => { const d = document.querySelector(sel).dataset;
                      return [Number(d.region), Number(d.annotations), d.regionBbox]; }""",
        VIEWER,
    )
    assert seq > region
    # one by one: every annotation meeting the loaded region (the view plus half a view each
    # side; a region asked for early in the zoom, ~1.5x, can still hold the whole slide)
    bbox = tuple(float(v) for v in loaded.split(","))
    assert shown == len(world.store.annotations_in(world.image.id, bbox, with_vector=False)) > 0
    screenshot(page, "viewer-density-zoomed")


def canvas_pixels(page: Any, selector: str) -> np.ndarray:
    """RGBA pixels of a canvas of the viewer (CSS pixel grid at device pixel ratio 1)."""
    data = page.evaluate(
        """(sel) => {
          const c = document.querySelector(sel);
          const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          return {w: c.width, h: c.height, px: Array.from(d)};
        }""",
        selector,
    )
    return np.array(data["px"], dtype=np.uint8).reshape(data["h"], data["w"], 4)


def home_cells(world: World, box: dict[str, float]) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Counts of the home view's grid cells, the canvas pixel at each cell's centre, and the
    image's rectangle on a canvas covering ``box`` (whole slide fitted and centred)."""
    image = world.image
    rows = world.store.annotations(image=image.id, with_vector=False)
    cell = max(image.width, image.height) / 128
    cx = np.floor((rows["x_min"] + rows["x_max"]).to_numpy() / (2 * cell)).astype(int)
    cy = np.floor((rows["y_min"] + rows["y_max"]).to_numpy() / (2 * cell)).astype(int)
    counts = np.zeros((int(np.ceil(image.height / cell)), int(np.ceil(image.width / cell))))
    np.add.at(counts, (cy, cx), 1)
    scale = min(box["width"] / image.width, box["height"] / image.height)
    left = (box["width"] - image.width * scale) / 2
    top = (box["height"] - image.height * scale) / 2
    js, is_ = np.mgrid[0 : counts.shape[0], 0 : counts.shape[1]]
    centres = np.stack(
        [
            np.floor(top + (js + 0.5) * cell * scale).astype(int),
            np.floor(left + (is_ + 0.5) * cell * scale).astype(int),
        ]
    )
    rect = (left, top, left + image.width * scale, top + image.height * scale)
    return counts, centres, rect


def check_grid(pixels: np.ndarray, counts: np.ndarray, centres: np.ndarray, rect: tuple) -> None:
    """Every cell is coloured at its centre exactly when it counts annotations, nothing is
    coloured outside the image (give or take the last cells' overhang), fuller cells are redder."""
    drawn = pixels[..., 3] > 0
    at_centres = drawn[centres[0], centres[1]]
    assert np.array_equal(at_centres, counts > 0), (at_centres != (counts > 0)).sum()
    left, top, right, bottom = rect
    cols = np.flatnonzero(drawn.any(axis=0))
    rows = np.flatnonzero(drawn.any(axis=1))
    assert abs(cols[0] - left) <= 1, (cols[0], left)
    assert abs(rows[0] - top) <= 1, (rows[0], top)
    assert right - 6 <= cols[-1] <= right + 6, (cols[-1], right)
    assert bottom - 6 <= rows[-1] <= bottom + 6, (rows[-1], bottom)
    green = pixels[centres[0], centres[1], 1].astype(float)
    assert green[counts == counts.max()].mean() < green[counts == 1].mean() - 40


def test_home_grid_is_drawn_in_place_before_the_slide_opens(
    page: Any, density_lab: JupyterProcess, world: World
) -> None:
    """The first region is asked for at display: with the slide's .dzi held back (OpenSeadragon
    cannot open it), the home view's density grid is already drawn where the slide will be,
    cell by cell as the store counts them; once the slide opens the overlay shows the same."""
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)  # the .dzi: answered only when released below

    page.route("**/tile/", hold)
    try:
        run_notebook_in_lab(page, density_lab, "alice.ipynb?reset")
        preview = page.wait_for_selector(f"{VIEWER} canvas.elv-preview[data-first-content]")
        assert held, "the .dzi request was not held"
        assert page.get_attribute(VIEWER, "data-state") == "loading"  # the slide is not open
        assert page.get_attribute(VIEWER, "data-layer") == "density"
        box = page.locator(f"{VIEWER} .elv-canvas").bounding_box()
        pixels = canvas_pixels(page, f"{VIEWER} canvas.elv-preview")
        assert pixels.shape[:2] == (round(box["height"]), round(box["width"]))
        counts, centres, rect = home_cells(world, box)
        check_grid(pixels, counts, centres, rect)
        legend = page.locator(f"{VIEWER} .elv-legend")
        assert legend.is_visible()
        assert f"{N:,} annotations" in legend.inner_text()
        assert legend.get_attribute("data-max") == str(int(counts.max()))
        screenshot(page, "viewer-density-before-open")
        assert preview.is_visible()
    finally:
        for route in held:
            route.continue_()
        page.unroute("**/tile/", hold)  # (also lets any later request through)
    page.wait_for_selector(f"{VIEWER}[data-state='open'][data-tiles='loaded']")
    page.wait_for_selector(f"{VIEWER} canvas.elv-preview", state="detached")
    page.wait_for_timeout(300)
    after, box = overlay_pixels(page)
    counts, centres, rect = home_cells(world, box)
    # the overlay's canvas also holds the scale bar (bottom left, under 40 px high)
    after[-40:, :200] = 0
    check_grid(after, counts, centres, rect)
