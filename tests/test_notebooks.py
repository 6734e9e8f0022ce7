"""Every notebook in notebooks/ runs top to bottom in a real kernel.

Dashboards (notebooks/dashboards/) are executed by the Voila browser tests instead.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, sample_slides_dir: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors, errors
    executed = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert executed, f"{path.name} has no code cells"
    assert all(cell.get("execution_count") for cell in executed)


def test_notebooks_exist() -> None:
    assert any(p.name == "01_quickstart.ipynb" for p in NOTEBOOKS)
