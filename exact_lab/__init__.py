"""exact_lab: collaborative whole-slide-image annotation in Jupyter.

The public face of the package: everything a notebook user needs is re-exported here.
"""

from __future__ import annotations

from typing import Any

from exact_lab._version import __version__

__all__ = ["__version__"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell jupyter_server where the extension lives (imported only by the server)."""
    from exact_lab.server_ext import ExactLabApp  # noqa: PLC0415 - keep kernels light

    return [{"module": "exact_lab.server_ext", "app": ExactLabApp}]
