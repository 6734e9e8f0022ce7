"""JupyterLab in headless Chromium: the extension is loaded and the quickstart runs."""

from __future__ import annotations

import json
import time
from typing import Any

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess


def test_extension_page_in_browser(page: Any, lab_server: JupyterProcess) -> None:
    page.goto(lab_server.url("exact/"))
    page.wait_for_selector("#exact-lab-status")
    assert "exact_lab is running" in page.inner_text("h1")
    assert "sqlite" in page.inner_text("#exact-lab-status")
    response = page.request.get(lab_server.url("exact/api/status"))
    assert json.loads(response.body())["extension"] == "exact_lab"
    screenshot(page, "extension-landing")


# prompts of the notebook in front only: restored or other open tabs render their cells too
_PROMPTS = """[...document.querySelectorAll('.jp-NotebookPanel')]
    .filter(panel => panel.checkVisibility())
    .flatMap(panel => [...panel.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')])"""
ALL_EXECUTED = f"""() => {{
    const prompts = {_PROMPTS};
    return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
}}"""
ANY_STARTED = f"""() => {_PROMPTS}.some(p => /\\[(\\d+|\\*)\\]/.test(p.textContent))"""


def accept_kernel_dialog(page: Any) -> None:
    """Accept JupyterLab's "Select Kernel" dialog (it may appear while the page settles).

    A click that lands while the dialog is still being laid out can be lost, and the dialog can
    be shown again as the session settles (a loaded CI run saw it stay for 10 s after one
    click), so accept until none is left.
    """
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        button = page.query_selector(".jp-Dialog button.jp-mod-accept")
        if button is None or not button.is_visible():
            return
        button.click()
        try:
            page.wait_for_selector(".jp-Dialog", state="detached", timeout=3_000)
        except PlaywrightTimeout:
            continue
    raise AssertionError("JupyterLab's kernel dialog stayed open for 30 s after accepting it")


def run_notebook_in_lab(page: Any, server: JupyterProcess, name: str) -> None:
    """Open a notebook in JupyterLab, run all cells through the menu and wait for the kernel.

    Right after the page loads, JupyterLab can show the kernel as idle before its websocket is
    connected, and a "Run All" sent then is dropped; so the command is repeated until the first
    cell starts.
    """
    path = name.removesuffix("?reset")
    page.goto(server.url(f"lab/tree/{path}?reset"))  # no restored tabs from earlier tests
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    for _attempt in range(5):
        accept_kernel_dialog(page)
        page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
        page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
        try:
            page.wait_for_function(ANY_STARTED, timeout=10_000)
            break
        except PlaywrightTimeout:
            continue
    accept_kernel_dialog(page)
    page.wait_for_function(ALL_EXECUTED, timeout=180_000)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)


def test_quickstart_runs_in_jupyterlab(page: Any, lab_server: JupyterProcess) -> None:
    run_notebook_in_lab(page, lab_server, "01_quickstart.ipynb")
    text = page.inner_text(".jp-Notebook")
    assert "Traceback" not in text, text
    assert "exact_lab" in text
    assert "cmu_small_region.svs" in text
    # the thumbnail of the real slide is rendered as an image output
    assert page.query_selector(".jp-RenderedImage img") is not None
    screenshot(page, "quickstart-lab")
    # the SlideViewer opened the demo set and its tiles came over HTTP from the extension
    viewer = page.locator(".exact-lab-viewer")
    viewer.scroll_into_view_if_needed()
    page.wait_for_selector(".exact-lab-viewer[data-tiles='loaded']", timeout=60_000)
    assert viewer.get_attribute("data-state") == "open"
    screenshot(page, "quickstart-lab-viewer")
    page.locator(".jp-Cell").last.scroll_into_view_if_needed()
    screenshot(page, "quickstart-lab-end")
