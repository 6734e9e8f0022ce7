"""The pathologist's dashboard (notebooks/dashboards/annotate.ipynb) in Voila, headless Chromium.

The dashboard is opened as alice (the hub user of her single-user server), a box is drawn with
the mouse, the table's count for the box's type changes and the store holds the row.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess, start_jupyter
from tests.ui.test_viewer import VIEWER, View, near, quiet, wait_until
from tests.widgets.world import World, make_world

DASHBOARD = REPO / "notebooks" / "dashboards" / "annotate.ipynb"


@pytest.fixture(scope="module")
def board_world(
    tmp_path_factory: pytest.TempPathFactory, sample_slides_dir: Path, isolated_data_dir: Path
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("dashboard-store")
    built = make_world(
        f"sqlite:///{folder / 'exact.sqlite'}",
        sample_slides_dir / "cmu_small_region.svs",
        isolated_data_dir / "dashboard-slides",
    )
    # a second set, so the picker has a choice
    built.store.create_image_set(
        built.image_set.team, "Training", products=built.image_set.products
    )
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def voila(tmp_path_factory: pytest.TempPathFactory, board_world: World) -> Iterator[JupyterProcess]:
    workdir = tmp_path_factory.mktemp("dashboard-voila")
    root = workdir / "root"
    root.mkdir()
    shutil.copy(DASHBOARD, root / DASHBOARD.name)
    server = start_jupyter(
        "voila",
        workdir,
        root,
        env={"EXACT_LAB_URL": board_world.url, "JUPYTERHUB_USER": "alice"},
        ready_path="",
    )
    yield server
    server.stop()


def count(page: Any, type_name: str, scope: str) -> int:
    return int(page.inner_text(f".ela-counts td[data-type='{type_name}'][data-scope='{scope}']"))


def test_dashboard_draw_updates_counts_in_voila(
    page: Any, voila: JupyterProcess, board_world: World
) -> None:
    page.goto(voila.url(f"voila/render/{DASHBOARD.name}"))
    page.wait_for_selector(f"{VIEWER}[data-state='open'][data-tiles='loaded'][data-region]")
    page.wait_for_selector(".ela-counts td[data-type='mitotic figure'][data-scope='image']")
    picker = page.locator(".ela-set-picker select")
    options = [t.replace("\xa0", " ") for t in picker.locator("option").all_inner_texts()]
    assert options == ["Breast cases", "Training"]  # ipywidgets renders spaces as nbsp
    assert "alice" in page.inner_text(".exact-lab-annotate")
    assert count(page, "mitotic figure", "image") == 0
    assert count(page, "mitotic figure", "set") == 0
    screenshot(page, "dashboard-voila-open")

    page.click(f"{VIEWER} .elv-home")
    quiet(page)
    image = board_world.image
    view = View(page, image.width, image.height)
    start, end = view.page(500, 700), view.page(1200, 1500)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()

    rows = wait_until(
        "the box in the store",
        lambda: f if len(f := board_world.store.annotations(image=image.id)) == 1 else None,
    )
    box = rows.iloc[0]
    assert box["annotation_type"] == board_world.types["mitotic figure"].id
    assert near(box["vector"], [view.image(*start), view.image(*end)]), box["vector"]
    page.wait_for_selector(
        ".ela-counts td[data-type='mitotic figure'][data-scope='image']:text-is('1')"
    )
    assert count(page, "mitotic figure", "set") == 1
    assert count(page, "look-alike", "image") == 0
    quiet(page, selected=str(int(box["id"])))

    page.wait_for_timeout(300)  # let the last frame paint for the screenshot
    screenshot(page, "dashboard-voila-drawn")
