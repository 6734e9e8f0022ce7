"""SlideViewer in JupyterLab (headless Chromium) on the real sample slide, against a real store.

The mouse draws; the store is read back from this process. Expected level-0 coordinates are
computed independently of the widget's code: OpenSeadragon's home view fits the whole slide into
the viewer's box, centred, so a page point maps to ``(point - offset) / scale``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from exact_lab.store import connect
from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess, start_jupyter
from tests.ui.test_lab import run_notebook_in_lab
from tests.widgets.world import World, make_world

VIEWER = ".exact-lab-viewer"


def notebook(path: Path, source: str) -> None:
    """Write a one-cell notebook."""
    cell = {
        "cell_type": "code",
        "metadata": {},
        "source": source,
        "outputs": [],
        "execution_count": None,
    }
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    doc = {"cells": [cell], "metadata": {"kernelspec": kernel}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(doc))


def viewer_cell(user: str, target: str, height: int = 560, tool: str | None = None) -> str:
    options = f"height={height}" + ("" if tool is None else f", tool={tool!r}")
    return (
        "import exact_lab\n"
        "from exact_lab.widgets import SlideViewer\n"
        f"store = exact_lab.connect(user={user!r})\n"
        f"viewer = SlideViewer({target}, store=store, {options})\n"
        "viewer\n"
    )


def start_viewer_lab(
    tmp: pytest.TempPathFactory, name: str, world: World, notebooks: dict[str, str]
) -> JupyterProcess:
    """JupyterLab on one-cell ``notebooks`` (file name: source), using the world's store.

    The server acts as its owner, alice (as a laptop's or a hub user's server does), so the
    viewer of alice's kernel loads tiles over HTTP with the page's Jupyter login.
    """
    workdir = tmp.mktemp(name)
    root = workdir / "root"
    root.mkdir()
    for filename, source in notebooks.items():
        notebook(root / filename, source)
    return start_jupyter(
        "lab",
        workdir,
        root,
        env={"EXACT_LAB_URL": world.url},
        ready_path="exact/api/status",
        extra_args=["--ExactLabApp.local_user=alice"],
    )


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, sample_slides_dir: Path, isolated_data_dir: Path
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("viewer-store")
    built = make_world(
        f"sqlite:///{folder / 'exact.sqlite'}",
        sample_slides_dir / "cmu_small_region.svs",
        isolated_data_dir / "viewer-slides",
        second=sample_slides_dir / "small.svs",
    )
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def viewer_lab(tmp_path_factory: pytest.TempPathFactory, world: World) -> Iterator[JupyterProcess]:
    """JupyterLab whose extension and kernels use the world's store."""
    image = world.image.id
    notebooks = {
        "alice.ipynb": viewer_cell("alice", f"store.image({image})"),
        "carol.ipynb": viewer_cell("carol", str(image)),
    }
    server = start_viewer_lab(tmp_path_factory, "viewer-lab", world, notebooks)
    yield server
    server.stop()


def wait_until(what: str, check: Callable[[], Any], timeout: float = 90) -> Any:
    """Poll ``check`` until it returns neither None nor False (a hang guard, not a timing)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


class View:
    """Page <-> level-0 pixel mapping of the home view (the whole slide fitted and centred)."""

    def __init__(self, page: Any, width: int, height: int) -> None:
        box = page.locator(f"{VIEWER} .elv-canvas").bounding_box()
        self.scale = min(box["width"] / width, box["height"] / height)
        self.left = box["x"] + (box["width"] - width * self.scale) / 2
        self.top = box["y"] + (box["height"] - height * self.scale) / 2

    def page(self, x: float, y: float) -> tuple[float, float]:
        return self.left + x * self.scale, self.top + y * self.scale

    def image(self, px: float, py: float) -> tuple[float, float]:
        return (px - self.left) / self.scale, (py - self.top) / self.scale


def open_viewer(page: Any, server: JupyterProcess, name: str) -> None:
    run_notebook_in_lab(page, server, f"{name}?reset")  # a fresh workspace: only this notebook
    page.wait_for_selector(f"{VIEWER}[data-state='open'][data-tiles='loaded'][data-region]")
    page.wait_for_timeout(400)  # let the tiles of the first view paint before screenshots


def quiet(page: Any, selected: str | None = None) -> None:
    """Wait until the viewer has no edit in flight (and, if given, shows this selection)."""
    wanted = "[data-pending='0']" + ("" if selected is None else f"[data-selected='{selected}']")
    page.wait_for_selector(f"{VIEWER}{wanted}", timeout=90_000)


def live(world: World) -> Any:
    return world.store.annotations(image=world.image.id)


def near(actual: dict[str, Any], expected: list[tuple[float, float]]) -> bool:
    return (
        all(
            abs(actual[f"x{i + 1}"] - x) <= 1 and abs(actual[f"y{i + 1}"] - y) <= 1
            for i, (x, y) in enumerate(expected)
        )
        and f"x{len(expected) + 1}" not in actual
    )


def test_draw_label_delete_undo_in_jupyterlab(
    page: Any, viewer_lab: JupyterProcess, world: World
) -> None:
    open_viewer(page, viewer_lab, "alice.ipynb")
    assert page.get_attribute(VIEWER, "data-tile-mode") == "http"
    screenshot(page, "viewer-lab-open")
    page.click(f"{VIEWER} .elv-home")  # the whole slide, fitted: the mapping below holds
    page.wait_for_timeout(200)
    view = View(page, world.image.width, world.image.height)
    types = world.types

    # --- a bounding box with the default tool (the first type: mitotic figure, bbox)
    start, end = view.page(600, 900), view.page(1100, 1300)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    rows = wait_until("the box in the store", lambda: f if len(f := live(world)) == 1 else None)
    box = rows.iloc[0]
    assert box["annotation_type"] == types["mitotic figure"].id
    x0, y0 = view.image(*start)
    x1, y1 = view.image(*end)
    assert near(box["vector"], [(x0, y0), (x1, y1)]), (box["vector"], (x0, y0, x1, y1))
    ident = int(box["id"])
    # the new box is drawn and selected in the browser before any key acts on it
    page.wait_for_selector(f"{VIEWER}[data-annotations='1']")
    quiet(page, selected=str(ident))
    screenshot(page, "viewer-lab-bbox")

    # --- the new box is selected: "2" relabels it, Delete deletes it, Ctrl+Z / Ctrl+Shift+Z
    page.keyboard.press("2")
    wait_until(
        "relabel", lambda: world.store.annotation(ident).annotation_type == types["look-alike"].id
    )
    quiet(page, selected=str(ident))
    assert (
        page.get_attribute(
            f"{VIEWER} .elv-types button[data-type='{types['look-alike'].id}']", "aria-pressed"
        )
        == "true"
    )
    page.keyboard.press("Delete")
    wait_until("delete", lambda: world.store.annotation(ident).deleted)
    quiet(page, selected="")
    page.wait_for_selector(f"{VIEWER}[data-annotations='0']")
    page.keyboard.press("Control+z")
    wait_until("undo of the delete", lambda: not world.store.annotation(ident).deleted)
    quiet(page)
    page.keyboard.press("Control+z")
    wait_until(
        "undo of the relabel",
        lambda: world.store.annotation(ident).annotation_type == types["mitotic figure"].id,
    )
    quiet(page)
    page.keyboard.press("Control+Shift+z")
    wait_until(
        "redo of the relabel",
        lambda: world.store.annotation(ident).annotation_type == types["look-alike"].id,
    )
    quiet(page)
    assert not world.store.annotation(ident).deleted
    # JupyterLab's own shortcuts did not fire: the notebook still has exactly its one cell
    assert page.locator(".jp-Notebook .jp-Cell").count() == 1

    # --- a polygon: pick "tumour" in the type picker, click four vertices, Enter
    page.click(f"{VIEWER} .elv-types button[data-type='{types['tumour'].id}']")
    vertices = [(300, 300), (900, 350), (1000, 800), (400, 700)]
    for x, y in vertices:
        page.mouse.click(*view.page(x, y))
    page.keyboard.press("Enter")
    polygon = wait_until(
        "the polygon",
        lambda: next(
            (r for _, r in live(world).iterrows() if r["annotation_type"] == types["tumour"].id),
            None,
        ),
    )
    clicked = [view.image(*view.page(x, y)) for x, y in vertices]
    assert near(polygon["vector"], clicked), polygon["vector"]
    quiet(page, selected=str(int(polygon["id"])))

    # --- a point with the "4" key (cell, a point type): its marker is centred on the click
    page.keyboard.press("Escape")
    page.keyboard.press("4")
    assert (
        page.get_attribute(f"{VIEWER} .elv-tools button[data-tool='point']", "aria-pressed")
        == "true"
    )
    spot = view.page(1500, 2000)
    page.mouse.click(*spot)
    point = wait_until(
        "the point",
        lambda: next(
            (r for _, r in live(world).iterrows() if r["annotation_type"] == types["cell"].id), None
        ),
    )
    cx, cy = view.image(*spot)
    v = point["vector"]
    assert abs((v["x1"] + v["x2"]) / 2 - cx) <= 1, v
    assert abs((v["y1"] + v["y2"]) / 2 - cy) <= 1, v
    assert v["x2"] - v["x1"] == 40  # the type's marker size
    page.wait_for_selector(f"{VIEWER}[data-annotations='3']")
    quiet(page)
    screenshot(page, "viewer-lab-drawn")

    # --- "e" shows the next image of the set, "q" comes back
    page.keyboard.press("e")
    page.wait_for_selector(f"{VIEWER} .elv-name:has-text('(2/2)')")
    page.wait_for_selector(f"{VIEWER}[data-state='open'][data-annotations='0']")
    page.keyboard.press("q")
    page.wait_for_selector(f"{VIEWER} .elv-name:has-text('(1/2)')")
    page.wait_for_selector(f"{VIEWER}[data-state='open'][data-annotations='3']")


def test_outsider_sees_access_error(page: Any, viewer_lab: JupyterProcess, world: World) -> None:
    run_notebook_in_lab(page, viewer_lab, "carol.ipynb?reset")
    page.wait_for_selector(f"{VIEWER}[data-state='error']")
    text = page.inner_text(f"{VIEWER} .elv-error")
    assert "cannot open this slide" in text
    assert "carol" in text
    assert page.get_attribute(VIEWER, "data-tiles") is None  # not one tile was shown
    screenshot(page, "viewer-lab-outsider")
    assert connect(world.url, user="carol").teams() == []
