"""``annotations/annotations``: EXACT's core resource on the store's bulk reads and writes.

Listing reads one DataFrame per image (or set) and serializes only the requested page. A JSON
list body is a bulk create; a dict with ``unique_identifier`` is an upsert (201 new, 200
overwritten); ``count/`` and ``multiple_delete/`` follow EXACT. Updates use the annotation's
current revision unless the body names one (``revision``), which then guards against lost
updates with 409.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, overload

import pandas as pd

from exact_lab.errors import BadInput
from exact_lab.server_ext import _serialize as ser
from exact_lab.server_ext._context import Ctx, as_id, as_ids
from exact_lab.server_ext._query import (
    EXACT_IN,
    RESERVED,
    TEXT,
    TIME,
    Filter,
    apply_filters,
    parse_bool,
)
from exact_lab.server_ext._resources import ID, Resource

__all__ = ["Annotations"]

Row = dict[str, Any]
MAX_BULK = 100_000
LTE, GTE = frozenset({"lte"}), frozenset({"gte"})
#: Filters the store applies itself (see ``Annotations.frame``), with exact, numeric values.
PUSHDOWN = frozenset({"image", "image_set", "image__image_set", "annotation_type", "deleted"})
_WRITABLE = (
    "annotation_type",
    "vector",
    "description",
    "meta_data",
    "deleted",
    "concealed",
    "blurred",
)
_VIEWPORT = {
    "vector_x_min": "_x_max__gte", "vector_x_max": "_x_min__lte",
    "vector_y_min": "_y_max__gte", "vector_y_max": "_y_min__lte",
}  # fmt: skip


def _record_row(ctx: Ctx, record: Row) -> Row:
    row = ser.annotation_row(ctx, record)
    for key in ("x_min", "y_min", "x_max", "y_max"):
        value = record.get(key)
        row[f"_{key}"] = None if value is None or pd.isna(value) else float(value)
    return row


class FrameRows(Sequence[Row]):
    """Rows of a DataFrame, serialized on access (so a page serializes only its rows).

    The store has already applied every filter of the request (``prefiltered``).
    """

    prefiltered = True

    def __init__(self, ctx: Ctx, frame: pd.DataFrame) -> None:
        """Wrap ``frame`` (sorted by id)."""
        self.ctx = ctx
        self.frame = frame

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(self.frame)

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        """Serialize one row or a slice of rows."""
        if isinstance(index, slice):
            return _frame_rows(self.ctx, self.frame.iloc[index])
        return _frame_rows(self.ctx, self.frame.iloc[[index]])[0]


def _frame_rows(ctx: Ctx, frame: pd.DataFrame) -> list[Row]:
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return [_record_row(ctx, {str(k): v for k, v in r.items()}) for r in records]


class Annotations(Resource):
    """``annotations/annotations`` (soft delete; ``deleted`` rows are listed, as in EXACT)."""

    path = "annotations/annotations"
    aliases: ClassVar[dict[str, str]] = _VIEWPORT
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "time": Filter("time", TIME), "last_edit_time": Filter("time", TIME),
        "unique_identifier": Filter("str", TEXT),
        "description": Filter("str", frozenset({"exact", "contains"})),
        "deleted": Filter("bool"), "image": ID, "image_set": ID,
        "image__image_set": Filter("int", EXACT_IN, lambda r: r["image_set"]),
        "user": ID, "last_editor": ID, "annotation_type": ID,
        "vector": Filter("str", frozenset()), "meta_data": Filter("str", frozenset()),
        "_x_min": Filter("float", LTE), "_x_max": Filter("float", GTE),
        "_y_min": Filter("float", LTE), "_y_max": Filter("float", GTE),
        "frame": Filter("int", EXACT_IN),
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {
        "annotation_type": "annotations/annotation_types", "image": "images/images",
        "user": "users/users", "last_editor": "users/users",
        "uploaded_media_files": "annotations/annotation_media_files",
    }  # fmt: skip

    def frame(self, ctx: Ctx, params: Mapping[str, str]) -> pd.DataFrame:
        """Read the annotations the filters can be narrowed to, as one DataFrame."""
        deleted: bool | None = None
        if params.get("deleted"):
            deleted = parse_bool(params["deleted"], "deleted")
        image = params.get("image", "")
        image_set = params.get("image__image_set") or params.get("image_set") or ""
        kind = params.get("annotation_type", "")
        types = as_id(kind, "annotation_type") if kind.isdigit() else None
        if image.isdigit():
            one: pd.DataFrame = ctx.store.annotations(
                image=as_id(image, "image"), annotation_type=types, deleted=deleted
            )
            return one
        if image_set.isdigit():
            sets = [as_id(image_set, "image_set")]
        else:
            sets = [s.id for s in ctx.image_sets()]
        frames: list[pd.DataFrame] = [
            ctx.store.annotations(image_set=s, annotation_type=types, deleted=deleted) for s in sets
        ]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> Sequence[Row]:
        """Return all matching rows.

        When the store answers every filter itself, rows come from a cached frame and are
        serialized only when a page asks for them.
        """
        if set(params) - PUSHDOWN - RESERVED:
            return _frame_rows(ctx, self._sorted(ctx, params))
        apply_filters([], params, self.filters)  # validates the values (400 when malformed)
        return FrameRows(ctx, self._sorted(ctx, params))

    def _sorted(self, ctx: Ctx, params: Mapping[str, str]) -> pd.DataFrame:
        def load() -> pd.DataFrame:
            frame = self.frame(ctx, params)
            if frame.empty or "id" not in frame:
                return pd.DataFrame()
            return frame.sort_values("id", ignore_index=True)

        if ctx.frames is None:
            return load()
        key = tuple(sorted((k, v) for k, v in params.items() if k in PUSHDOWN))
        return ctx.frames.get(ctx.store, ctx.store.user.username, key, load)

    def row(self, ctx: Ctx, ident: int) -> Row:
        return _record_row(ctx, dataclasses.asdict(ctx.store.annotation(ident)))

    # ------------------------------------------------------------------ writes
    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        if isinstance(data, list):
            return self._bulk(ctx, data), 201
        if not isinstance(data, dict):
            raise BadInput("expected a JSON object or a list of objects")
        _need(data, "image", "annotation_type")
        image = as_id(data["image"], "image")
        fields = _fields(data)
        fields.pop("annotation_type", None)
        vector = fields.pop("vector", None)
        deleted = fields.pop("deleted", False)
        uid = data.get("unique_identifier")
        if uid:
            annotation, created = ctx.store.upsert_annotation(
                image, str(uid), as_id(data["annotation_type"], "annotation_type"), vector,
                deleted=deleted, **fields,
            )  # fmt: skip
            return self.row(ctx, annotation.id), 201 if created else 200
        annotation = ctx.store.add_annotation(
            image, as_id(data["annotation_type"], "annotation_type"), vector, **fields
        )
        if deleted:
            ctx.store.delete_annotation(annotation)
        return self.row(ctx, annotation.id), 201

    def _bulk(self, ctx: Ctx, items: list[Any]) -> list[Row]:
        if len(items) > MAX_BULK:
            raise BadInput(f"at most {MAX_BULK} annotations per request; split the list")
        rows, deleted = [], []
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise BadInput(f"[{n}]: expected a JSON object")
            _need(item, "image", "annotation_type")
            row = {"image": as_id(item["image"], "image"), **_fields(item)}
            row["annotation_type"] = as_id(item["annotation_type"], "annotation_type")
            row.setdefault("vector", None)
            if item.get("unique_identifier"):
                row["unique_identifier"] = str(item["unique_identifier"])
            deleted.append(bool(row.pop("deleted", False)))
            rows.append(row)
        if not rows:
            return []
        ids = ctx.store.add_annotations(rows)
        gone = [i for i, d in zip(ids, deleted, strict=True) if d]
        if gone:
            ctx.store.delete_annotations(gone)
        wanted = set(ids)
        out: dict[int, Row] = {}
        for image in sorted({r["image"] for r in rows}):
            frame = ctx.store.annotations(image=image, deleted=None)
            frame = frame[frame["id"].isin(wanted)]
            out.update({r["id"]: r for r in _frame_rows(ctx, frame)})
        return [out[i] for i in ids if i in out]

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        if not isinstance(data, dict):
            raise BadInput("expected a JSON object")
        changes = _fields(data)
        changes.pop("unique_identifier", None)
        if "annotation_type" in changes:
            changes["annotation_type"] = as_id(changes["annotation_type"], "annotation_type")
        base = data.get("revision")
        if base is None:
            base = ctx.store.annotation(ident).revision
        elif isinstance(base, bool) or not isinstance(base, int):
            raise BadInput("revision: expected an integer", field="revision")
        if changes:
            ctx.store.update_annotation(ident, base_revision=base, **changes)
        return self.row(ctx, ident)

    def delete(self, ctx: Ctx, ident: int) -> None:
        ctx.store.delete_annotation(ident)

    def multiple_delete(self, ctx: Ctx, params: Mapping[str, str]) -> dict[str, int]:
        """``DELETE multiple_delete/?id__in=1,2`` → ``{"annotations.Annotation": n}``."""
        raw = params.get("id__in") or params.get("id") or ""
        ids = as_ids(raw, "id__in")
        if not ids:
            raise BadInput(
                "id__in: name the annotations to delete, e.g. ?id__in=1,2", field="id__in"
            )
        return {"annotations.Annotation": ctx.store.delete_annotations(ids)}


def _need(data: Mapping[str, Any], *keys: str) -> None:
    for key in keys:
        if data.get(key) is None:
            raise BadInput(f"{key}: This field is required.", field=key)


def _fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = {k: data[k] for k in _WRITABLE if k in data}
    if "description" in fields and fields["description"] is None:
        fields["description"] = ""
    for key in ("deleted", "concealed", "blurred"):
        if key in fields and not isinstance(fields[key], bool):
            value = fields[key]
            fields[key] = parse_bool(str(value), key) if isinstance(value, (str, int)) else value
    return fields
