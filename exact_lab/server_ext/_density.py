"""Annotation counts per grid cell over HTTP (``Store.annotation_density``).

``GET {base}exact/api/native/images/{id}/density?cell=PX`` — one row per non-empty (cell, type)
of the image's grid of ``PX`` level-0 px cells, counted by the database: columns ``cx``,
``cy``, ``annotation_type``, ``count`` (int64). The answer is an Arrow IPC stream, or with
``format=json`` one JSON object of columns ``{"cx": [...], "cy": [...], ...}``, which a
browser reads without an Arrow library. Query: ``bbox=x0,y0,x1,y1`` (count the annotations
intersecting it), ``frame=N``, ``types=1,2``, ``deleted=true|false|all``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from exact_lab.errors import BadInput
from exact_lab.server_ext._base import ExactHandler
from exact_lab.server_ext._context import as_id, as_ids
from exact_lab.server_ext._native import ARROW_STREAM, table_bytes
from exact_lab.server_ext._native import _bbox as bbox_arg
from exact_lab.server_ext._native import _deleted as deleted_arg
from exact_lab.server_ext._tiles import parse_id

__all__ = ["DensityHandler", "density_routes"]


def _number(text: str, field: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"{field}: expected a number of pixels, got {text!r}", field=field) from None


class DensityHandler(ExactHandler):
    """``GET native/images/{id}/density``."""

    async def get(self, image_id: str) -> None:
        """Answer with the counts as Arrow (default) or JSON columns."""
        image = parse_id(image_id)
        cell_text = self.get_query_argument("cell", None)
        if not cell_text:
            raise BadInput("cell: give the cell size in level-0 px (cell=256)", field="cell")
        cell = _number(cell_text, "cell")
        bbox_text = self.get_query_argument("bbox", None)
        bbox = bbox_arg(bbox_text) if bbox_text else None
        frame_text = self.get_query_argument("frame", None)
        frame = as_id(frame_text, "frame") if frame_text else None
        types_text = self.get_query_argument("types", None)
        types = as_ids(types_text, "types") if types_text else None
        deleted = deleted_arg(self.get_query_argument("deleted", None))
        fmt = self.get_query_argument("format", "arrow")
        if fmt not in ("arrow", "json"):
            raise BadInput(f"format: expected arrow or json, got {fmt!r}", field="format")

        def work() -> pd.DataFrame:
            found: pd.DataFrame = self.store.annotation_density(
                image, cell, bbox=bbox, frame=frame, annotation_type=types, deleted=deleted
            )
            return found

        counts = await self.run(work)
        self.set_header("Cache-Control", "no-store")
        if fmt == "json":
            self.write_json({name: counts[name].tolist() for name in counts.columns})
            return
        table: Any = pa.Table.from_pandas(counts, preserve_index=False)
        self.set_header("Content-Type", ARROW_STREAM)
        self.finish(table_bytes(table))


def density_routes(prefix: str) -> list[tuple[str, type[ExactHandler]]]:
    """Routes below ``prefix`` (``/exact/api/native``)."""
    return [(rf"{prefix}/images/(\d{{1,18}})/density/?", DensityHandler)]
