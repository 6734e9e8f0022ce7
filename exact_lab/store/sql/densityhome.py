"""Whole-image density at an image's home cell, read from counts SQLite keeps as rows change.

An image's home cell is its long side over 128 (at least 1 px): the cell of the density grid a
viewer asks for first, at its home view. ``density_home`` (migration 0007) holds the live
annotations with a box per image, frame, creator, type and home cell, kept exact by triggers in
the same transaction as every write, so reading it is always current: no pass over the image's
rows, no sort of a million keys. Other cells, windows, type filters and deleted rows are
counted from the rows as before.

Example:
    >>> home_width(4000, 3000)  # 2 x the home cell, as annotation_density's width parameter
    62.5
"""

from __future__ import annotations

from typing import Any

__all__ = ["home_width", "read"]

#: Cells on the long side of an image's home grid (the viewer's ``_density.CELLS``).
HOME_CELLS = 128

_SIZE = "SELECT width, height FROM images WHERE id = :image"
_READ = (
    "SELECT cx, cy, annotation_type_id, sum(n) FROM density_home WHERE image_id = :image"
    "{filters} GROUP BY cy, cx, annotation_type_id HAVING sum(n) > 0 "
    "ORDER BY cy, cx, annotation_type_id"
)


def home_width(width: int, height: int) -> float:
    """Return twice the home cell of a ``width`` x ``height`` image (the same floats as SQL)."""
    return 2 * max(width / float(HOME_CELLS), height / float(HOME_CELLS), 1.0)


def read(
    raw: Any, image: int, width: float, *, frame: int | None, only_user: int | None
) -> list[Any] | None:
    """Return ``(cx, cy, type, count)`` rows when ``width`` (2 x cell) is the image's home cell.

    None when it is not: the caller counts from the rows. ``raw`` is the sqlite3 connection of
    the caller's transaction.
    """
    size = raw.execute(_SIZE, {"image": image}).fetchone()
    if size is None or home_width(int(size[0]), int(size[1])) != width:
        return None
    params: dict[str, Any] = {"image": image}
    filters = ""
    if frame is not None:
        params["frame"] = frame
        filters += " AND frame = :frame"
    if only_user is not None:
        params["user"] = only_user
        filters += " AND user_id = :user"
    rows: list[Any] = raw.execute(_READ.format(filters=filters), params).fetchall()
    return rows
