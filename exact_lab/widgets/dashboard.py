"""AnnotateDashboard: pick an image set, annotate it in a SlideViewer, watch counts per type.

The pathologist's page of ``notebooks/dashboards/annotate.ipynb`` (served by Voila). Counts come
from the store, for the shown image and for the whole set, and follow every committed change
(this page's edits and everyone else's) through the viewer's change feed.

Examples
--------
>>> from exact_lab.store import connect
>>> store = connect("sqlite://", user="alice")
>>> team = store.create_team("Lab")
>>> product = store.create_product(team, "Mitosis")
>>> figure = store.create_annotation_type(product, "figure", vector_type=1, sort_order=1)
>>> cases = store.create_image_set(team, "Cases", products=[product])
>>> image = store.add_image(cases, "A1", width=4000, height=3000, mpp=0.25)
>>> board = AnnotateDashboard(store, live=False)
>>> board.viewer.add(figure, {"x1": 10, "y1": 10, "x2": 60, "y2": 60}).revision
1
>>> board.refresh_counts()
>>> board.counts()
{'figure': (1, 1)}
"""

from __future__ import annotations

import html
import logging
import threading
from typing import Any

import ipywidgets as w
import pandas as pd

from exact_lab.entities import Change, ImageSet
from exact_lab.store.abstract import Store
from exact_lab.widgets.viewer import SlideViewer

__all__ = ["AnnotateDashboard"]
log = logging.getLogger(__name__)

_STYLE = """<style>
.ela-counts table { border-collapse: collapse; font: 13px system-ui, sans-serif; }
.ela-counts th, .ela-counts td { padding: 3px 10px; border-bottom: 1px solid #ddd;
  text-align: right; }
.ela-counts th:first-child, .ela-counts td:first-child { text-align: left; }
.ela-counts .ela-swatch { display: inline-block; width: 10px; height: 10px; margin-right: 6px;
  border-radius: 2px; }
</style>"""


class AnnotateDashboard(w.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """An image-set picker, a :class:`SlideViewer` and a live table of counts per type.

    Parameters
    ----------
    store
        The store, acting as the pathologist (default: ``exact_lab.connect()``).
    height
        Height of the viewer in CSS pixels.
    live
        Follow the change feed (counts and the viewer update on everyone's edits).
    """

    def __init__(self, store: Store | None = None, *, height: int = 620, live: bool = True) -> None:
        if store is None:
            from exact_lab.store import connect  # noqa: PLC0415 - only without a store

            store = connect()
        self.store = store
        self.live = live
        self.height = height
        self._lock = threading.Lock()
        self.image_sets: list[ImageSet] = store.image_sets()
        self.picker = w.Dropdown(
            options=[(s.name, s.id) for s in self.image_sets],
            description="Image set",
            layout=w.Layout(width="420px"),
        )
        self.picker.add_class("ela-set-picker")
        self.who = w.HTML(f"Annotating as <b>{html.escape(store.user.username)}</b>")
        self.table = w.HTML()
        self.table.add_class("ela-counts")
        self.holder = w.Box(layout=w.Layout(width="100%"))
        self.viewer: SlideViewer | None = None
        header = w.HBox(
            [self.picker, self.who], layout=w.Layout(grid_gap="24px", align_items="center")
        )
        body = w.HBox(
            [self.holder, self.table],
            layout=w.Layout(grid_gap="16px", align_items="flex-start", width="100%"),
        )
        self.holder.layout.flex = "1 1 auto"
        self.table.layout.flex = "0 0 320px"
        super().__init__([header, body])
        self.add_class("exact-lab-annotate")
        self.picker.observe(self._set_picked, names="value")
        if self.image_sets:
            self._show_set(self.image_sets[0].id)
        else:
            self.table.value = "<p>You are in no team with an image set yet.</p>"

    # ------------------------------------------------------------------ image sets
    def _set_picked(self, change: dict[str, Any]) -> None:
        if change["new"] is not None:
            self._show_set(int(change["new"]))

    def _show_set(self, image_set: int) -> None:
        if self.viewer is not None:
            self.viewer.close()
        self.viewer = SlideViewer(
            self.store.image_set(image_set), store=self.store, height=self.height, live=self.live
        )
        self.viewer.on_change(self._on_change)
        self.viewer.observe(lambda _change: self.refresh_counts(), names="image_index")
        self.holder.children = [self.viewer]
        self.refresh_counts()

    def _on_change(self, _change: Change) -> None:
        try:
            self.refresh_counts()
        except Exception:  # a callback of the change feed must never raise
            log.exception("counts not refreshed")

    # ------------------------------------------------------------------ counts
    def counts(self) -> dict[str, tuple[int, int]]:
        """Per type name: (annotations on the shown image, annotations in the set)."""
        viewer = self.viewer
        if viewer is None:
            return {}
        frame: pd.DataFrame = self.store.annotations(image_set=self.picker.value)
        shown = viewer.image.id if viewer.image is not None else None
        on_image = frame[frame["image"] == shown] if len(frame) else frame
        result = {}
        for row in viewer.types:
            in_set = int((frame["annotation_type"] == row["id"]).sum()) if len(frame) else 0
            here = int((on_image["annotation_type"] == row["id"]).sum()) if len(frame) else 0
            result[row["name"]] = (here, in_set)
        return result

    def refresh_counts(self) -> None:
        """Recompute the table (called on every change; safe from the feed's thread)."""
        with self._lock:
            counts = self.counts()
            viewer = self.viewer
            if viewer is None:
                return
            colours = {row["name"]: row["color"] for row in viewer.types}
            image = html.escape(viewer.image.name if viewer.image is not None else "-")
            lines = [
                _STYLE,
                "<table><thead><tr><th>type</th>",
                f"<th title='{image}'>this image</th><th>image set</th></tr></thead><tbody>",
            ]
            for name, (here, in_set) in counts.items():
                label = html.escape(name)
                colour = html.escape(colours[name])
                swatch = f"<span class='ela-swatch' style='background:{colour}'></span>"
                lines.append(
                    f"<tr><td>{swatch}{label}</td>"
                    f"<td data-type='{label}' data-scope='image'>{here}</td>"
                    f"<td data-type='{label}' data-scope='set'>{in_set}</td></tr>"
                )
            total_here = sum(c[0] for c in counts.values())
            total_set = sum(c[1] for c in counts.values())
            lines.append(
                f"<tr><th>all</th><th data-scope='image'>{total_here}</th>"
                f"<th data-scope='set'>{total_set}</th></tr></tbody></table>"
            )
            self.table.value = "".join(lines)

    def close(self) -> None:
        """Close the viewer (stops its change feed) and the dashboard."""
        if self.viewer is not None:
            self.viewer.close()
        super().close()
