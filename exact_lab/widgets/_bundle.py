"""Locate the esbuild bundles shipped in ``widgets/static``."""

from __future__ import annotations

from pathlib import Path

from exact_lab.errors import ExactLabError

STATIC = Path(__file__).parent / "static"


def bundle(name: str) -> Path:
    """Return the path of ``static/<name>.js``; raise a clear error when the bundle was not built.

    A wheel always contains the bundle. A source checkout needs ``pip install -e .`` (which runs
    the esbuild step through hatch-jupyter-builder) or ``npm run build`` in ``widgets/js``.
    """
    path = STATIC / f"{name}.js"
    if not path.is_file():
        raise ExactLabError(
            f"the widget bundle {path.name} is missing: build it with `pip install -e .` "
            "or `npm install && npm run build` in exact_lab/widgets/js"
        )
    return path
