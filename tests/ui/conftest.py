"""Browser fixtures: Debian Chromium driven by Playwright, and real Jupyter servers.

pytest-jupyter creates and closes asyncio loops around every test; Playwright's sync API runs
its own. The root conftest sorts browser tests last, and here pytest-jupyter's autouse loop
fixtures become no-ops, so the two never meet.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, require
from tests.ui.servers import JupyterProcess, copy_notebooks, start_jupyter

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO / ".cache" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/ui/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def jp_asyncio_loop() -> None:
    """No event loop for browser tests (see the module docstring)."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """Nothing to clean: browser tests use subprocess servers, not pytest-jupyter's."""


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("EXACT_LAB_CHROMIUM") or shutil.which("chromium") or ""
    require(
        bool(path),
        "Chromium",
        "install it (Debian: apt-get install chromium) or set EXACT_LAB_CHROMIUM",
    )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser page; on failure its last screenshot is kept in .cache/screenshots."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"))
    context.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def screenshot(page: Any, name: str) -> Path:
    """Save a screenshot under .cache/screenshots for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wheel_in(page: Any, steps: int, pause_ms: int) -> None:
    """Zoom in at the mouse pointer by ``steps`` wheel steps (OpenSeadragon: 1.2x each),
    ``pause_ms`` apart; steps faster than OpenSeadragon's 0.3 s animation make one zoom."""
    for _ in range(steps):
        page.mouse.wheel(0, -100)
        page.wait_for_timeout(pause_ms)


@pytest.fixture(scope="session")
def lab_server(
    tmp_path_factory: pytest.TempPathFactory, isolated_data_dir: Path
) -> Iterator[JupyterProcess]:
    """JupyterLab with the exact_lab extension, rooted in a copy of notebooks/."""
    workdir = tmp_path_factory.mktemp("lab")
    root = copy_notebooks(REPO / "notebooks", workdir / "root")
    server = start_jupyter("lab", workdir, root, ready_path="exact/api/status")
    yield server
    server.stop()
