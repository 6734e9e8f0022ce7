"""Bulk annotation reads of the SqlStore: filters, versions (time travel) and viewports.

A version read at history position P takes each annotation's current row when it was written at
or before P, else the superseded state that was current at P (``position <= P < superseded``),
restricted to the version's images. Viewport reads use the spatial
index: GiST ``box && box`` on PostgreSQL, the R*Tree ``annotations_rtree`` on SQLite, each
refined with exact comparisons on the bounding-box columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.errors import BadInput
from exact_lab.store import frames
from exact_lab.store.abstract import Bbox, Deleted, Format, Ref, ref
from exact_lab.store.sql import boxvec
from exact_lab.store.sql import models as m
from exact_lab.store.sql.base import SqlBase
from exact_lab.store.sql.fastread import read_arrow, read_frame
from exact_lab.store.sql.viewport import pg_viewport, viewport_frame

A = m.AnnotationRow.__table__
_SCAN_SLACK = 4  # read at most this many table rows per row of the image (see _image_rows)
_SCAN_MIN = 4096
R = m.RevisionRow.__table__


def _vector(table: Any, postgres: bool) -> Any:  # noqa: FBT001
    """Return the vector column; on PostgreSQL, boxes stored as their bbox get it back."""
    return boxvec.vector_text_column(table) if postgres else table.c.vector


def _current_columns(with_vector: bool, postgres: bool) -> list[Any]:  # noqa: FBT001
    cols = [
        A.c.id,
        A.c.image_id,
        A.c.image_set_id,
        A.c.annotation_type_id,
        _vector(A, postgres) if with_vector else None,
        A.c.frame,
        A.c.x_min,
        A.c.y_min,
        A.c.x_max,
        A.c.y_max,
        A.c.unique_identifier,
        A.c.description,
        A.c.meta_data,
        A.c.user_id,
        A.c.last_editor_id,
        A.c.time,
        A.c.last_edit_time,
        A.c.deleted,
        A.c.concealed,
        A.c.blurred,
        A.c.revision,
        A.c.verified_count,
    ]
    return [c for c in cols if c is not None]


def _version_columns(with_vector: bool, postgres: bool) -> list[Any]:  # noqa: FBT001
    cols = [
        R.c.annotation_id,
        R.c.image_id,
        R.c.image_set_id,
        R.c.annotation_type_id,
        _vector(R, postgres) if with_vector else None,
        R.c.frame,
        R.c.x_min,
        R.c.y_min,
        R.c.x_max,
        R.c.y_max,
        A.c.unique_identifier,
        R.c.description,
        R.c.meta_data,
        A.c.user_id,
        R.c.user_id,
        A.c.time,
        R.c.time,
        R.c.deleted,
        R.c.concealed,
        R.c.blurred,
        R.c.revision,
        A.c.verified_count,
    ]
    return [c for c in cols if c is not None]


def _ids(value: Ref | Sequence[Ref], field: str) -> list[int]:
    if isinstance(value, (list, tuple, set)):
        return [ref(v, field) for v in value]
    return [ref(value, field)]


class ReadMixin(SqlBase):
    """Bulk reads returning DataFrames or Arrow tables."""

    def _finish(self, s: Session, query: Any, with_vector: bool, fmt: Format) -> Any:  # noqa: FBT001
        if fmt not in ("pandas", "arrow"):
            raise BadInput(f"format: expected 'pandas' or 'arrow', got {fmt!r}", field="format")
        postgres = self._shared.postgres
        if fmt == "arrow":  # straight from the cursor: no DataFrame, JSON stays text
            return read_arrow(s, query, with_vector=with_vector, postgres=postgres)
        return read_frame(s, query, with_vector=with_vector, postgres=postgres)

    def annotations(
        self,
        *,
        image_set: Ref | None = None,
        image: Ref | None = None,
        annotation_type: Ref | Sequence[Ref] | None = None,
        user: Ref | str | None = None,
        version: Ref | None = None,
        min_verifications: int | None = None,
        deleted: Deleted = False,
        with_vector: bool = True,
        format: Format = "pandas",  # noqa: A002
    ) -> Any:
        """Annotations as a DataFrame (or Arrow table); see :mod:`exact_lab.store.frames`."""
        with self._tx() as s:
            if version is not None:
                return self._version_read(
                    s,
                    version,
                    image=image,
                    annotation_type=annotation_type,
                    user=user,
                    min_verifications=min_verifications,
                    deleted=deleted,
                    with_vector=with_vector,
                    fmt=format,
                )
            if image_set is None and image is None:
                raise BadInput(
                    "image_set: give an image_set, an image or a version", field="image_set"
                )
            set_ids: list[int] = []
            query = sa.select(*_current_columns(with_vector, self._shared.postgres))
            if image is not None:
                image_row = self._image(s, image)
                query = query.where(*self._image_rows(s, image_row.id))
                set_ids.append(image_row.image_set_id)
            if image_set is not None:
                set_ids.append(self._set(s, image_set).id)
                query = query.where(A.c.image_set_id == set_ids[-1])
            query = self._filters(
                s, query, A, set_ids, annotation_type, user, min_verifications, deleted
            )
            return self._finish(s, query, with_vector, format)

    def _image_rows(self, s: Session, image_id: int) -> list[Any]:
        """Conditions selecting the rows of one image, shaped for the fastest plan.

        On SQLite the unique index (image, unique_identifier) finds an image's rows in UUID
        order, so each row costs a random lookup in the table, and sorting by id copies them
        all again: 4x slower than scanning the table. An image's rows are mostly contiguous
        in id (they come in bulk), so when the id range [min, max] holds at most
        ``_SCAN_SLACK`` times as many rows as the image, the rows are read by a range scan of
        the table's primary key (``+image_id`` keeps SQLite off the index), in id order.
        """
        exact = A.c.image_id == image_id
        if self._shared.postgres:
            return [exact]
        count, low, high = s.execute(
            sa.select(sa.func.count(), sa.func.min(A.c.id), sa.func.max(A.c.id)).where(exact)
        ).one()
        if not count or high - low + 1 > _SCAN_SLACK * count + _SCAN_MIN:
            return [exact]
        return [A.c.id.between(low, high), sa.literal_column("+annotations.image_id") == image_id]

    def _filters(  # noqa: PLR0917 - private helper
        self,
        s: Session,
        query: Any,
        table: Any,
        set_ids: list[int],
        annotation_type: Any,
        user: Any,
        min_verifications: int | None,
        deleted: Deleted,
    ) -> Any:
        for set_id in set(set_ids):
            blind = self._blind_filter(s, s.get_one(m.ImageSetRow, set_id))
            if blind is not None:
                query = query.where(A.c.user_id == blind)
        if annotation_type is not None:
            query = query.where(
                table.c.annotation_type_id.in_(_ids(annotation_type, "annotation_type"))
            )
        if user is not None:
            query = query.where(A.c.user_id == self._user_row(s, user).id)
        if min_verifications is not None:
            if isinstance(min_verifications, bool) or not isinstance(min_verifications, int):
                raise BadInput("min_verifications: expected an integer", field="min_verifications")
            query = query.where(A.c.verified_count >= min_verifications)
        if deleted is not None:
            query = query.where(table.c.deleted.is_(bool(deleted)))
        return query

    def _version_read(
        self,
        s: Session,
        version: Ref,
        *,
        image: Ref | None,
        annotation_type: Any,
        user: Any,
        min_verifications: int | None,
        deleted: Deleted,
        with_vector: bool,
        fmt: Format,
    ) -> Any:
        row = self._version_row(s, version)
        set_row = self._set(s, row.image_set_id)
        images = [int(i) for i in row.images or []]
        if image is not None:
            image_id = self._image(s, image).id
            images = [i for i in images if i == image_id]
        position = row.position
        current = sa.select(*_current_columns(with_vector, self._shared.postgres)).where(
            A.c.image_set_id == set_row.id, A.c.position <= position, A.c.image_id.in_(images)
        )
        older = (
            sa.select(*_version_columns(with_vector, self._shared.postgres))
            .select_from(R.join(A, A.c.id == R.c.annotation_id))
            .where(
                R.c.image_set_id == set_row.id,
                R.c.position <= position,
                R.c.superseded > position,
                R.c.image_id.in_(images),
            )
        )
        args = ([set_row.id], annotation_type, user, min_verifications, deleted)
        current = self._filters(s, current, A, *args)
        older = self._filters(s, older, R, *args)
        return self._finish(s, sa.union_all(current, older), with_vector, fmt)

    def annotations_in(
        self,
        image: Ref,
        bbox: Bbox,
        *,
        annotation_type: Ref | Sequence[Ref] | None = None,
        frame: int | None = None,
        deleted: Deleted = False,
        with_vector: bool = True,
        columns: Sequence[str] | None = None,
        format: Format = "pandas",  # noqa: A002
    ) -> Any:
        """Annotations of an image whose bounding box intersects ``(x0, y0, x1, y1)``."""
        names = frames.pick_columns(columns, with_vector=with_vector)
        try:
            x0, y0, x1, y1 = (float(v) for v in bbox)
        except (TypeError, ValueError):
            raise BadInput("bbox: expected four numbers (x0, y0, x1, y1)", field="bbox") from None
        if x1 < x0 or y1 < y0:
            raise BadInput("bbox: x1/y1 must not be below x0/y0", field="bbox")
        if format not in ("pandas", "arrow"):
            raise BadInput(f"format: expected 'pandas' or 'arrow', got {format!r}", field="format")
        types = None if annotation_type is None else _ids(annotation_type, "annotation_type")
        if self._shared.postgres:  # access check and rows in one round trip
            found = pg_viewport(
                self._shared.engine,
                me=self._uid(),
                image=ref(image, "image"),
                bbox=(x0, y0, x1, y1),
                types=types,
                frame=frame,
                deleted=deleted,
                with_vector=with_vector,
                arrow=format == "arrow",
                names=names,
            )
            if found is not None:
                return found
        with self._tx() as s:  # SQLite; on PostgreSQL, raises the access error
            image_id, only_user = self._image_access(s, image)
            frame_out = viewport_frame(
                s,
                postgres=self._shared.postgres,
                image=image_id,
                bbox=(x0, y0, x1, y1),
                types=types,
                frame=frame,
                deleted=deleted,
                only_user=only_user,
                with_vector=with_vector,
                names=names,
                arrow=format == "arrow" and not self._shared.postgres,
            )
            if format == "arrow" and isinstance(frame_out, pd.DataFrame):
                return frames.to_arrow(frame_out)
            return frame_out
