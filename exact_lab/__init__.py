"""exact_lab: collaborative whole-slide-image annotation in Jupyter.

The public face of the package; everything a notebook user needs is re-exported here, imported
on first use so that ``import exact_lab`` stays cheap (the Jupyter server imports it too).

Examples
--------
>>> import exact_lab
>>> exact_lab.open_slide.__name__
'open_slide'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from exact_lab._version import __version__

if TYPE_CHECKING:
    from exact_lab.store import connect
    from exact_lab.tiles import open_slide, register_image
    from exact_lab.widgets import SlideViewer

__all__ = ["SlideViewer", "__version__", "connect", "open_slide", "register_image"]

_LAZY = {
    "connect": "exact_lab.store",
    "open_slide": "exact_lab.tiles",
    "register_image": "exact_lab.tiles",
    "SlideViewer": "exact_lab.widgets",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'exact_lab' has no attribute {name!r}")


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell jupyter_server where the extension lives (imported only by the server)."""
    from exact_lab.server_ext import ExactLabApp  # noqa: PLC0415 - keep kernels light

    return [{"module": "exact_lab.server_ext", "app": ExactLabApp}]
