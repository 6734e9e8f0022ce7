"""JupyterLab in headless Chromium: the extension is loaded and the quickstart runs."""

from __future__ import annotations

import json
from typing import Any

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


def run_notebook_in_lab(page: Any, server: JupyterProcess, name: str) -> None:
    """Open a notebook in JupyterLab, run all cells through the menu and wait for the kernel."""
    page.goto(server.url(f"lab/tree/{name}"))
    page.wait_for_selector(".jp-Notebook .jp-Cell", state="attached")
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
    page.click("div.lm-MenuBar-itemLabel:text-is('Run')")
    page.click(".lm-Menu-itemLabel:text-is('Run All Cells')")
    # every code cell gets an execution count, and the kernel ends idle
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        timeout=180_000,
    )
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)


def test_quickstart_runs_in_jupyterlab(page: Any, lab_server: JupyterProcess) -> None:
    run_notebook_in_lab(page, lab_server, "01_quickstart.ipynb")
    errors = page.query_selector_all(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr'] .ansi-red-fg, .jp-RenderedText[data-mime-type='application/vnd.jupyter.error']")
    assert not errors, [e.inner_text() for e in errors]
    text = page.inner_text(".jp-Notebook")
    assert "exact_lab" in text
    assert "cmu_small_region.svs" in text
    # the thumbnail of the real slide is rendered as an image output
    assert page.query_selector(".jp-RenderedImage img") is not None
    screenshot(page, "quickstart-lab")
