"""The rows behind a viewer's region request: a spatial query, or one bulk read of the image.

A viewer that shows the whole slide asks for a window covering the whole image. The spatial
query then visits every row through the index, which on SQLite took three times as long as the
store's bulk read of the image (1M points: 27 s against 9 s on a busy 2-core machine). Both are
calls of the store contract, so access rules (teams, blind sets) apply alike.

Rows come as an Arrow table (``format="arrow"``): no pandas object columns are built, and the
vector stays JSON text until :func:`exact_lab.widgets._columns.flat_vectors` reads it.

Examples
--------
>>> covers_image((0, 0, 4000, 3000), 4000, 3000), covers_image((0, 0, 3999, 3000), 4000, 3000)
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from exact_lab.store.abstract import Store

__all__ = ["covers_image", "region_rows"]

#: the columns ``_columns.detail_payload`` draws from: the viewport reads only these
DRAWN = ("id", "annotation_type", "revision", "user", "vector")


def covers_image(bbox: Sequence[float], width: int, height: int) -> bool:
    """Whether ``bbox`` (``x0, y0, x1, y1``) holds the whole ``width`` x ``height`` image."""
    x0, y0, x1, y1 = bbox
    return x0 <= 0 and y0 <= 0 and x1 >= width and y1 >= height


def region_rows(
    store: Store,
    image: int,
    bbox: tuple[float, float, float, float],
    *,
    size: tuple[int, int],
    frame: int | None,
    with_vector: bool,
) -> pa.Table:
    """Annotations of ``image`` (``size`` = width, height) whose bounding box meets ``bbox``.

    ``frame`` keeps one frame of a multi-frame image (None: all). Annotations without a place
    (global labels) are never part of a region.
    """
    if not covers_image(bbox, *size):
        rows: pa.Table = store.annotations_in(
            image, bbox, frame=frame, with_vector=with_vector, format="arrow",
            columns=DRAWN if with_vector else None,
        )  # fmt: skip
        return rows
    rows = store.annotations(image=image, with_vector=with_vector, format="arrow")
    # a row without a place has a null (or NaN) box
    keep = pc.fill_null(pc.invert(pc.is_nan(rows.column("x_min"))), fill_value=False)
    if frame is not None:
        keep = pc.and_(keep, pc.equal(rows.column("frame"), frame))
    if pc.all(keep).as_py():
        return rows
    return rows.filter(keep)
