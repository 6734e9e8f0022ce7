"""Notebook widgets (anywidget): each is Python traits plus one bundled ESM in ``static/``."""

from exact_lab.widgets.viewer import SlideViewer

__all__ = ["SlideViewer"]
