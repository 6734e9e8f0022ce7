"""Live sync on PostgreSQL: a page open as another user shows an edit without a reload,
in JupyterLab and in Voila.

The edit is made by alice from this test process (another process than bob's kernel), so it
reaches bob's viewer only through PostgreSQL's LISTEN/NOTIFY change feed.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess, start_jupyter
from tests.ui.test_lab import run_notebook_in_lab
from tests.ui.test_viewer import VIEWER, notebook, viewer_cell
from tests.widgets.world import World, make_world


@pytest.fixture(scope="module")
def pg_world(pg_url: str, sample_slides_dir: Path, isolated_data_dir: Path) -> Iterator[World]:
    built = make_world(
        pg_url, sample_slides_dir / "cmu_small_region.svs", isolated_data_dir / "live-slides"
    )
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def live_root(tmp_path_factory: pytest.TempPathFactory, pg_world: World) -> Path:
    root = tmp_path_factory.mktemp("live-root")
    notebook(root / "bob.ipynb", viewer_cell("bob", f"store.image({pg_world.image.id})"))
    return root


def _server(kind: str, tmp: pytest.TempPathFactory, root: Path, world: World) -> JupyterProcess:
    workdir = tmp.mktemp(f"live-{kind}")
    ready = "exact/api/status" if kind == "lab" else ""
    owner = ["--ExactLabApp.local_user=bob"] if kind == "lab" else []  # bob's own server
    return start_jupyter(
        kind, workdir, root, env={"EXACT_LAB_URL": world.url}, ready_path=ready, extra_args=owner
    )


def edit_and_wait(page: Any, world: World, before: int, x: int) -> float:
    """alice adds a box; return the seconds until bob's viewer draws it (reported, not judged)."""
    box = world.types["mitotic figure"]
    started = time.monotonic()
    world.store.add_annotation(world.image, box, {"x1": x, "y1": 500, "x2": x + 300, "y2": 800})
    page.wait_for_selector(f"{VIEWER}[data-annotations='{before + 1}']", timeout=15_000)
    return time.monotonic() - started


def test_second_user_sees_edit_live_in_jupyterlab(
    page: Any, tmp_path_factory: pytest.TempPathFactory, live_root: Path, pg_world: World
) -> None:
    server = _server("lab", tmp_path_factory, live_root, pg_world)
    try:
        run_notebook_in_lab(page, server, "bob.ipynb?reset")
        page.wait_for_selector(f"{VIEWER}[data-state='open'][data-tiles='loaded'][data-region]")
        before = int(page.get_attribute(VIEWER, "data-annotations") or 0)
        seconds = edit_and_wait(page, pg_world, before, 400)
        print(  # noqa: T201 - latency is reported, never judged
            f"JupyterLab: bob saw alice's edit after {seconds:.2f} s"
        )
        assert "bob" in page.inner_text(f"{VIEWER} .elv-info")
        page.wait_for_timeout(300)
        screenshot(page, "viewer-lab-live-bob")
    finally:
        server.stop()


def test_second_user_sees_edit_live_in_voila(
    page: Any, tmp_path_factory: pytest.TempPathFactory, live_root: Path, pg_world: World
) -> None:
    server = _server("voila", tmp_path_factory, live_root, pg_world)
    try:
        page.goto(server.url("voila/render/bob.ipynb"))
        page.wait_for_selector(f"{VIEWER}[data-state='open'][data-tiles='loaded'][data-region]")
        before = int(page.get_attribute(VIEWER, "data-annotations") or 0)
        seconds = edit_and_wait(page, pg_world, before, 1200)
        print(  # noqa: T201 - latency is reported, never judged
            f"Voila ({page.get_attribute(VIEWER, 'data-tile-mode')} tiles): {seconds:.2f} s"
        )
        page.wait_for_timeout(300)
        screenshot(page, "viewer-voila-live-bob")
    finally:
        server.stop()
