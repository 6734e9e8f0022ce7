"""Annotation writes of the SqlStore: bulk add, upsert, optimistic update, soft delete.

Every write appends one revision per changed annotation to ``annotation_revisions`` (the
history) in the same transaction, so history, versions and the current state never disagree.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.entities import Annotation, Revision
from exact_lab.errors import BadInput, Conflict
from exact_lab.store.abstract import Ref, ref
from exact_lab.store.sql import bulk, convert, grid
from exact_lab.store.sql import models as m
from exact_lab.store.sql.base import SqlBase
from exact_lab.store.sql.feed import MAX_IDS
from exact_lab.store.validation import check_meta, check_text, check_vector

_INTEGRITY: tuple[type[Exception], ...] = (sa.exc.IntegrityError, sqlite3.IntegrityError)
try:
    import psycopg

    _INTEGRITY = (*_INTEGRITY, psycopg.IntegrityError)
except ImportError:  # pragma: no cover - psycopg is a dependency
    pass
UPDATABLE = {
    "annotation_type",
    "vector",
    "description",
    "meta_data",
    "deleted",
    "concealed",
    "blurred",
}


@dataclass(frozen=True)
class _ImageInfo:
    width: int
    height: int
    image_set_id: int
    team_id: int


class AnnotationWriteMixin(SqlBase):
    """Annotation writes and history."""

    def _image_infos(self, s: Session, image_ids: Iterable[int]) -> dict[int, _ImageInfo]:
        out: dict[int, _ImageInfo] = {}
        wanted = sorted({int(i) for i in image_ids})
        if self._shared.postgres:  # keep the images from being deleted until we commit
            lock = sa.select(m.ImageRow.id).where(m.ImageRow.id.in_(wanted))
            s.execute(lock.with_for_update(read=True))
        for image_id in wanted:
            row = self._image(s, int(image_id))
            set_row = s.get_one(m.ImageSetRow, row.image_set_id)
            out[row.id] = _ImageInfo(row.width, row.height, set_row.id, set_row.team_id)
        return out

    def _type_infos(
        self, s: Session, type_ids: Iterable[int]
    ) -> dict[int, tuple[m.AnnotationTypeRow, int]]:
        out: dict[int, tuple[m.AnnotationTypeRow, int]] = {}
        for type_id in type_ids:
            row, product = self._type(s, int(type_id))
            out[row.id] = (row, product.team_id)
        return out

    def add_annotations(self, rows: Any) -> list[int]:
        """Add many annotations atomically; return their ids in input order."""
        df = bulk.to_frame(rows)
        if len(df) == 0:
            return []
        for column in ("image", "annotation_type"):
            if column not in df:
                raise BadInput(f"{column}: the column is required", field=column)
        with self._tx(write=True) as s:
            me = self._me(s)
            images = self._image_infos(s, set(bulk.ints(df, "image").tolist()))
            types = self._type_infos(s, set(bulk.ints(df, "annotation_type").tolist()))
            batch = bulk.prepare(df, images, types)
            position = self._next_position(s)
            try:
                ids = bulk.write(
                    s, batch, user_id=me.id, position=position, postgres=self._shared.postgres
                )
            except _INTEGRITY as err:
                raise Conflict(
                    "unique_identifier: an annotation with this identifier exists on the image "
                    f"already; use upsert_annotation to overwrite it ({getattr(err, 'orig', err)})"
                ) from None
            set_column = batch.columns["image_set_id"]
            id_array = np.asarray(ids)
            for set_id, count in batch.image_sets.items():
                mine = set_column == set_id
                image_ids = np.unique(batch.columns["image_id"][mine]).tolist()
                self._emit(
                    s,
                    "annotation",
                    "created",
                    team=images[image_ids[0]].team_id,
                    image_set=set_id,
                    image=image_ids[0] if len(image_ids) == 1 else None,
                    ids=id_array[mine].tolist() if count <= MAX_IDS else (),
                    count=count,
                    position=position,
                )
            return ids

    def _check_state(  # noqa: C901 - one branch per changeable field
        self,
        s: Session,
        image: m.ImageRow,
        changes: dict[str, Any],
        current: m.AnnotationRow | None,
    ) -> dict[str, Any]:
        """Validate changed state fields and return column values (bbox included)."""
        extra = sorted(set(changes) - UPDATABLE)
        if extra:
            raise BadInput(
                f"{extra[0]}: not a changeable field ({sorted(UPDATABLE)})", field=extra[0]
            )
        out: dict[str, Any] = {}
        type_id = changes.get("annotation_type", current.annotation_type_id if current else None)
        if type_id is None:
            raise BadInput("annotation_type: required", field="annotation_type")
        type_row, product = self._type(s, ref(type_id, "annotation_type"))
        set_row = s.get_one(m.ImageSetRow, image.image_set_id)
        if product.team_id != set_row.team_id:
            raise BadInput(
                f"annotation_type: type {type_row.id} is not of the team of image {image.id}",
                field="annotation_type",
            )
        out["annotation_type_id"] = type_row.id
        if "vector" in changes or "annotation_type" in changes:
            vector = changes.get("vector", convert.row_vector(current) if current else None)
            box = check_vector(
                vector,
                vector_type=type_row.vector_type,
                node_count=type_row.node_count,
                width=image.width,
                height=image.height,
            )
            out["vector"] = vector
            out["x_min"], out["y_min"], out["x_max"], out["y_max"] = box or (None,) * 4
            out["cell"] = None if box is None else grid.cell_key(*box)
            if isinstance(vector, dict) and "frame" in vector:
                out["frame"] = vector["frame"]
        if "description" in changes:
            out["description"] = check_text(changes["description"], "description")
        if "meta_data" in changes:
            out["meta_data"] = check_meta(changes["meta_data"])
        for flag in ("deleted", "concealed", "blurred"):
            if flag in changes:
                if not isinstance(changes[flag], bool):
                    raise BadInput(f"{flag}: expected True or False", field=flag)
                out[flag] = changes[flag]
        return out

    def _supersede(self, s: Session, row: m.AnnotationRow, position: int) -> None:
        """Move the current state of ``row`` into the history, replaced at ``position``."""
        s.add(
            m.RevisionRow(
                annotation_id=row.id,
                image_id=row.image_id,
                image_set_id=row.image_set_id,
                revision=row.revision,
                action=row.action,
                user_id=row.last_editor_id,
                time=row.last_edit_time,
                position=row.position,
                superseded=position,
                **convert_state_columns(row),
            )
        )
        s.flush()

    def _apply(
        self, s: Session, row: m.AnnotationRow, base: int, values: dict[str, Any], action: str
    ) -> Annotation:
        if row.revision != base:
            raise Conflict(
                f"annotation {row.id} is at revision {row.revision}, not {base}: someone changed "
                f"it meanwhile; reload it and apply your change again"
            )
        position = self._next_position(s)
        self._supersede(s, row, position)
        result = s.execute(
            sa.update(m.AnnotationRow)
            .where(m.AnnotationRow.id == row.id, m.AnnotationRow.revision == base)
            .values(
                **values,
                revision=base + 1,
                position=position,
                action=action,
                last_editor_id=self._uid(),
                last_edit_time=m.utcnow(),
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]  # pragma: no cover - row locked
            raise Conflict(f"annotation {row.id} changed meanwhile; reload it and try again")
        s.refresh(row)
        set_row = s.get_one(m.ImageSetRow, row.image_set_id)
        self._emit(
            s,
            "annotation",
            "deleted" if action == "delete" else "updated",
            team=set_row.team_id,
            image_set=row.image_set_id,
            image=row.image_id,
            ids=(row.id,),
            position=position,
        )
        return convert.annotation(row)

    def update_annotation(
        self, annotation: Ref, *, base_revision: int, **changes: Any
    ) -> Annotation:
        """Change an annotation; a stale ``base_revision`` raises Conflict."""
        if isinstance(base_revision, bool) or not isinstance(base_revision, int):
            raise BadInput("base_revision: expected the revision you read", field="base_revision")
        with self._tx(write=True) as s:
            row = self._annotation(s, annotation, lock=True)
            image = s.get_one(m.ImageRow, row.image_id)
            values = self._check_state(s, image, changes, row)
            return self._apply(s, row, base_revision, values, _action(row, values))

    def upsert_annotation(
        self, image: Ref, unique_identifier: str, annotation_type: Ref, vector: Any, **fields: Any
    ) -> tuple[Annotation, bool]:
        """Create, or overwrite the annotation with this unique_identifier on this image."""
        uid = check_text(unique_identifier, "unique_identifier", max_length=64)
        if not uid:
            raise BadInput("unique_identifier: must not be empty", field="unique_identifier")
        with self._tx(write=True) as s:
            image_row = self._image(s, image)
            query = sa.select(m.AnnotationRow.id).where(
                m.AnnotationRow.image_id == image_row.id, m.AnnotationRow.unique_identifier == uid
            )
            existing = s.scalar(query)
            changes = {"annotation_type": ref(annotation_type), "vector": vector, **fields}
            if existing is None:
                changes.setdefault("deleted", False)
                values = self._check_state(s, image_row, changes, None)
                row = m.AnnotationRow(
                    image_id=image_row.id,
                    image_set_id=image_row.image_set_id,
                    unique_identifier=uid,
                    user_id=self._uid(),
                    last_editor_id=self._uid(),
                    revision=1,
                    position=self._next_position(s),
                    action="create",
                    **values,
                )
                s.add(row)
                s.flush()
                position = row.position
                set_row = s.get_one(m.ImageSetRow, row.image_set_id)
                self._emit(
                    s,
                    "annotation",
                    "created",
                    team=set_row.team_id,
                    image_set=row.image_set_id,
                    image=row.image_id,
                    ids=(row.id,),
                    position=position,
                )
                return convert.annotation(row), True
            row = self._annotation(s, existing, lock=True)
            changes.setdefault("deleted", False)
            values = self._check_state(s, image_row, changes, row)
            return self._apply(s, row, row.revision, values, _action(row, values)), False

    def annotation(self, annotation: Ref) -> Annotation:
        """One annotation."""
        with self._tx() as s:
            return convert.annotation(self._annotation(s, annotation))

    def delete_annotations(self, annotations: Iterable[Ref]) -> int:
        """Soft-delete many annotations atomically; return how many changed."""
        ids = sorted({ref(a, "annotations") for a in annotations})
        changed = 0
        with self._tx(write=True) as s:
            rows = [self._annotation(s, i, lock=True) for i in ids]
            for row in rows:
                if row.deleted:
                    continue
                self._apply(s, row, row.revision, {"deleted": True}, "delete")
                changed += 1
        return changed

    def history(self, annotation: Ref) -> list[Revision]:
        """Every state of an annotation, oldest first: who changed what, when."""
        with self._tx() as s:
            row = self._annotation(s, annotation)
            query = (
                sa.select(m.RevisionRow)
                .where(m.RevisionRow.annotation_id == row.id)
                .order_by(m.RevisionRow.revision)
            )
            states: list[Any] = [*s.scalars(query), row]
            out: list[Revision] = []
            old: dict[str, Any] | None = None
            for rev in states:
                new = convert.state(rev)
                out.append(
                    Revision(
                        rev.position,
                        row.id,
                        rev.revision,
                        rev.action,
                        rev.user_id if isinstance(rev, m.RevisionRow) else rev.last_editor_id,
                        convert.utc(
                            rev.time if isinstance(rev, m.RevisionRow) else rev.last_edit_time
                        ),
                        old,
                        new,
                    )
                )
                old = new
            return out


def _action(row: m.AnnotationRow, values: dict[str, Any]) -> str:
    """Name a change: ``delete`` when it soft-deletes a live annotation, else ``update``."""
    return "delete" if values.get("deleted") and not row.deleted else "update"


def convert_state_columns(row: m.AnnotationRow) -> dict[str, Any]:
    """Return the state columns of an annotation row, keyed by column name.

    A missing vector is copied as SQL NULL, not as the JSON ``null`` the ORM would write: a box
    stored as its bounding box only (see boxvec) must stay recognisable in its revision.
    """
    out = {name: getattr(row, name) for name in bulk.STATE_COLUMNS}
    if out["vector"] is None:
        out["vector"] = sa.null()
    return out
