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

from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess
from tests.ui.test_viewer import VIEWER, open_viewer, start_viewer_lab, viewer_cell
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
    cell = viewer_cell("alice", f"store.image({world.image.id})")
    cell = cell.replace("height=560)", "height=560, tool='select')")
    server = start_viewer_lab(tmp_path_factory, "density-lab", world, {"alice.ipynb": cell})
    yield server
    server.stop()


def test_density_far_out_shapes_zoomed_in(page: Any, density_lab: JupyterProcess) -> None:
    open_viewer(page, density_lab, "alice.ipynb")
    home = page.wait_for_selector(f"{VIEWER}[data-layer='density']")
    assert home.get_attribute("data-annotations") == str(N)
    screenshot(page, "viewer-density-home")
    region = int(home.get_attribute("data-region") or 0)
    box = page.locator(f"{VIEWER} canvas.elv-overlay").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):  # OpenSeadragon zooms 1.2x per wheel step: about 9x
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(60)
    zoomed = page.wait_for_selector(f"{VIEWER}[data-layer='detail'][data-pending='0']")
    assert int(zoomed.get_attribute("data-region") or 0) > region
    shown = int(zoomed.get_attribute("data-annotations") or 0)
    assert 0 < shown < N // 2, shown  # only the region near the view, one by one
    screenshot(page, "viewer-density-zoomed")
