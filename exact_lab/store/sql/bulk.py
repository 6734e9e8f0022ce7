"""Bulk annotation writes: validate whole columns, then binary COPY (PostgreSQL) or executemany.

Every row is checked before anything is written, so a rejected batch leaves the store unchanged.
Bounding-box input (``x_min, y_min, x_max, y_max``) is validated with numpy, without a Python
loop; ``vector`` dicts are checked one by one. Ids are allocated up front (``nextval`` on
PostgreSQL; under SQLite's write lock, ``max(id) + 1``) and the whole batch shares one history
position, so the rows go out in one stream and no revision rows are written (the history holds
only superseded states).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.errors import BadInput
from exact_lab.store.validation import MAX_DESCRIPTION, check_meta, check_vector

COLUMNS_IN = {
    "image",
    "annotation_type",
    "vector",
    "x_min",
    "y_min",
    "x_max",
    "y_max",
    "frame",
    "unique_identifier",
    "description",
    "meta_data",
    "concealed",
    "blurred",
}
BBOX = ("x_min", "y_min", "x_max", "y_max")
BOX_TYPES = {1, 2, 6}
MAX_UID = 64  # vector types whose vector is exactly the bounding box

#: The columns that make up an annotation's state: what a revision changes and history keeps.
STATE_COLUMNS = (
    "annotation_type_id",
    "vector",
    "frame",
    "x_min",
    "y_min",
    "x_max",
    "y_max",
    "description",
    "meta_data",
    "deleted",
    "concealed",
    "blurred",
)
ANNOTATION_COLUMNS = (
    "id",
    "image_id",
    "image_set_id",
    "unique_identifier",
    "user_id",
    "last_editor_id",
    "time",
    "last_edit_time",
    "revision",
    "position",
    "action",
    "verified_count",
    *STATE_COLUMNS,
)
PG_TYPES = {
    "id": "int8",
    "annotation_id": "int8",
    "image_id": "int4",
    "image_set_id": "int4",
    "unique_identifier": "text",
    "user_id": "int4",
    "last_editor_id": "int4",
    "time": "timestamptz",
    "last_edit_time": "timestamptz",
    "revision": "int4",
    "verified_count": "int4",
    "annotation_type_id": "int4",
    "action": "text",
    "position": "int8",
    # jsonb's binary form is a version byte (1) and the JSON text; we send it as raw bytes
    "vector": "bytea",
    "meta_data": "bytea",
    "frame": "int4",
    "x_min": "float8",
    "y_min": "float8",
    "x_max": "float8",
    "y_max": "float8",
    "description": "text",
    "deleted": "bool",
    "concealed": "bool",
    "blurred": "bool",
}


@dataclass
class Prepared:
    """Validated columns of a batch (each a list or array of length ``n``)."""

    n: int
    columns: dict[str, Any]
    image_sets: dict[int, int]  # image set id -> row count


def to_frame(rows: Any) -> pd.DataFrame:
    """Turn a DataFrame, Arrow table or sequence of dicts into a DataFrame."""
    if isinstance(rows, pd.DataFrame):
        return rows
    if hasattr(rows, "to_pandas") and hasattr(rows, "schema"):
        frame: pd.DataFrame = rows.to_pandas()
        return frame
    if isinstance(rows, Sequence) and all(isinstance(r, dict) for r in rows):
        return pd.DataFrame(list(rows))
    raise BadInput(
        "rows: expected a pandas DataFrame, an Arrow table or a list of dicts", field="rows"
    )


def ints(df: pd.DataFrame, name: str, default: int | None = None) -> np.ndarray:
    """Return column ``name`` as int64 (or ``default`` everywhere when the column is absent)."""
    if name not in df:
        if default is None:
            raise BadInput(f"{name}: the column is required", field=name)
        return np.full(len(df), default, dtype=np.int64)
    col = df[name]
    if col.isna().any() or not pd.api.types.is_integer_dtype(col):
        raise BadInput(f"{name}: expected integers without gaps, got dtype {col.dtype}", field=name)
    return col.to_numpy(dtype=np.int64)


def _bools(df: pd.DataFrame, name: str) -> list[bool]:
    if name not in df:
        return [False] * len(df)
    col = df[name]
    if not pd.api.types.is_bool_dtype(col):
        raise BadInput(f"{name}: expected True/False values, got dtype {col.dtype}", field=name)
    return col.astype(bool).tolist()


def new_uuids(n: int) -> list[str]:
    """``n`` random UUID4 strings, generated with numpy (about 50x faster than ``uuid.uuid4``)."""
    raw = np.frombuffer(os.urandom(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    hexdigits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((n, 36), dtype=np.uint8)
    nibbles = np.empty((n, 32), dtype=np.uint8)
    nibbles[:, 0::2] = hexdigits[raw >> 4]
    nibbles[:, 1::2] = hexdigits[raw & 0x0F]
    spans = ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20))
    for start, stop, src in spans:
        chars[:, start:stop] = nibbles[:, src : src + stop - start]
    chars[:, [8, 13, 18, 23]] = ord("-")
    return chars.view("S36").ravel().astype(str).tolist()


def _missing(value: Any) -> bool:
    """Return True for None and the NaN pandas puts into gaps of object columns."""
    return value is None or (isinstance(value, float) and np.isnan(value))


def _fmt(values: np.ndarray) -> pd.Series:
    if np.all(np.mod(values, 1) == 0):
        return pd.Series(values.astype(np.int64)).astype(str)
    return pd.Series(values).astype(str)


def _boxes(
    df: pd.DataFrame, widths: np.ndarray, heights: np.ndarray, vtypes: np.ndarray
) -> dict[str, Any]:
    for name in BBOX:
        if name not in df or not pd.api.types.is_numeric_dtype(df[name]) or df[name].isna().any():
            raise BadInput(f"{name}: expected numbers (without gaps) in every row", field=name)
    x0, y0, x1, y1 = (df[c].to_numpy(dtype=np.float64) for c in BBOX)
    bad_type = ~np.isin(vtypes, list(BOX_TYPES))
    checks = [
        (
            bad_type,
            "annotation_type",
            (
                "bounding-box columns fit only box, point and fixed-box types; "
                "give a 'vector' column for other types"
            ),
        ),
        (~np.isfinite(x0 + y0 + x1 + y1), "x_min", "coordinates must be finite"),
        ((x1 < x0) | (y1 < y0), "x_max", "x_max/y_max must not be below x_min/y_min"),
        (
            (x0 < 0) | (y0 < 0) | (x1 > widths) | (y1 > heights),
            "x_min",
            "the box lies outside the image",
        ),
    ]
    for mask, field, text in checks:
        if mask.any():
            row = int(np.argmax(mask))
            raise BadInput(f"{field} (row {row}): {text}", field=field)
    vector = (
        '{"x1": '
        + _fmt(x0)
        + ', "y1": '
        + _fmt(y0)
        + ', "x2": '
        + _fmt(x1)
        + ', "y2": '
        + _fmt(y1)
        + "}"
    )
    return {"vector": vector.tolist(), "x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1}


def _vectors(
    df: pd.DataFrame, sizes: list[tuple[int, int]], rules: list[tuple[int, int]]
) -> dict[str, Any]:
    texts: list[str | None] = []
    boxes: list[tuple[float, ...]] = []
    frames: list[int | None] = []
    nan = (np.nan, np.nan, np.nan, np.nan)
    for i, vector in enumerate(df["vector"].tolist()):
        value = (
            None if vector is None or (isinstance(vector, float) and np.isnan(vector)) else vector
        )
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise BadInput(f"vector (row {i}): not valid JSON", field="vector") from None
        box = check_vector(
            value,
            vector_type=rules[i][0],
            node_count=rules[i][1],
            width=sizes[i][0],
            height=sizes[i][1],
            field=f"vector (row {i})",
        )
        texts.append(None if value is None else json.dumps(value))
        boxes.append(nan if box is None else box)
        frames.append(value.get("frame") if isinstance(value, dict) else None)
    arr = np.array(boxes, dtype=np.float64).reshape(len(df), 4)
    out: dict[str, Any] = {"vector": texts, "vector_frames": frames}
    for j, name in enumerate(BBOX):
        out[name] = [None if np.isnan(v) else float(v) for v in arr[:, j]]
    return out


def prepare(  # noqa: C901, PLR0912, PLR0915 - one check per optional column, in order
    df: pd.DataFrame, images: dict[int, Any], types: dict[int, Any]
) -> Prepared:
    """Validate a batch; ``images`` maps image id -> row, ``types`` type id -> (row, team id).

    The caller has already checked that the acting user may write to every image and type.
    """
    unknown = sorted(set(df.columns) - COLUMNS_IN)
    if unknown:
        raise BadInput(
            f"{unknown[0]}: unknown column; allowed are {', '.join(sorted(COLUMNS_IN))}",
            field=unknown[0],
        )
    n = len(df)
    image_ids = ints(df, "image")
    type_ids = ints(df, "annotation_type")
    img_index = pd.Index(list(images))
    pos = img_index.get_indexer(pd.Index(image_ids))
    widths = np.array([images[i].width for i in img_index], dtype=np.float64)[pos]
    heights = np.array([images[i].height for i in img_index], dtype=np.float64)[pos]
    sets = np.array([images[i].image_set_id for i in img_index], dtype=np.int64)[pos]
    set_teams = {images[i].image_set_id: images[i].team_id for i in img_index}
    type_index = pd.Index(list(types))
    tpos = type_index.get_indexer(pd.Index(type_ids))
    vtypes = np.array([types[t][0].vector_type for t in type_index], dtype=np.int64)[tpos]
    type_team = np.array([types[t][1] for t in type_index], dtype=np.int64)[tpos]
    img_team = np.array([set_teams[int(x)] for x in np.unique(sets)])
    team_of_set = dict(zip(np.unique(sets).tolist(), img_team.tolist(), strict=True))
    if (type_team != pd.Series(sets).map(team_of_set).to_numpy()).any():
        row = int(np.argmax(type_team != pd.Series(sets).map(team_of_set).to_numpy()))
        raise BadInput(
            f"annotation_type (row {row}): type {type_ids[row]} belongs to another team than "
            f"image {image_ids[row]}",
            field="annotation_type",
        )
    if "vector" in df:
        sizes = [(int(w), int(h)) for w, h in zip(widths, heights, strict=True)]
        rules = [(types[int(t)][0].vector_type, types[int(t)][0].node_count) for t in type_ids]
        geometry = _vectors(df, sizes, rules)
    else:
        node_counts = np.array([types[t][0].node_count for t in type_index])[tpos]
        if ((node_counts > 0) & (node_counts != 2)).any():  # noqa: PLR2004
            raise BadInput(
                "annotation_type: its node_count does not fit a box", field="annotation_type"
            )
        geometry = _boxes(df, widths, heights, vtypes)
    vector_frames = geometry.pop("vector_frames", None)
    frames = ints(df, "frame", 1)
    if vector_frames is not None:
        frames = np.array(
            [vf or f for vf, f in zip(vector_frames, frames.tolist(), strict=True)], dtype=np.int64
        )
    if (frames < 1).any():
        raise BadInput("frame: frames are 1-based", field="frame")
    if "unique_identifier" in df:
        uids = df["unique_identifier"]
        if (
            uids.isna().any()
            or not uids.map(lambda u: isinstance(u, str) and 0 < len(u) <= MAX_UID).all()
        ):
            raise BadInput(
                "unique_identifier: expected strings of 1-64 characters", field="unique_identifier"
            )
        uid_list = uids.astype(str).tolist()
        pairs = pd.DataFrame({"i": image_ids, "u": uid_list})
        if pairs.duplicated().any():
            raise BadInput(
                "unique_identifier: repeated for the same image within the batch",
                field="unique_identifier",
            )
    else:
        uid_list = new_uuids(n)
    description = [""] * n
    if "description" in df:
        col = df["description"].fillna("")
        if (
            not col.map(lambda v: isinstance(v, str)).all()
            or (col.str.len() > MAX_DESCRIPTION).any()
        ):
            raise BadInput(
                f"description: strings of at most {MAX_DESCRIPTION} characters", field="description"
            )
        description = col.tolist()
    meta: list[str | None] = [None] * n
    if "meta_data" in df:
        meta = [
            None if _missing(v) else json.dumps(check_meta(v, f"meta_data (row {i})"))
            for i, v in enumerate(df["meta_data"].tolist())
        ]
    counts = pd.Series(sets).value_counts()
    return Prepared(
        n=n,
        columns={
            "image_id": image_ids.tolist(),
            "image_set_id": sets.tolist(),
            "annotation_type_id": type_ids.tolist(),
            "frame": frames.tolist(),
            "unique_identifier": uid_list,
            "description": description,
            "meta_data": meta,
            "concealed": _bools(df, "concealed"),
            "blurred": _bools(df, "blurred"),
            **geometry,
        },
        image_sets={int(str(k)): int(v) for k, v in counts.items()},
    )


def _allocate(s: Session, n: int, postgres: bool) -> list[int]:  # noqa: FBT001
    if postgres:
        query = sa.text(
            "SELECT array_agg(v ORDER BY v) FROM (SELECT nextval("
            "pg_get_serial_sequence('annotations', 'id')) AS v FROM generate_series(1, :n)) AS q"
        )
        return list(s.scalar(query, {"n": n}) or [])
    start = s.scalar(sa.text("SELECT coalesce(max(id), 0) FROM annotations")) or 0
    return list(range(start + 1, start + n + 1))


def write(s: Session, batch: Prepared, *, user_id: int, position: int, postgres: bool) -> list[int]:
    """Insert a prepared batch as annotations at history ``position``; return their ids."""
    n = batch.n
    now = dt.datetime.now(dt.timezone.utc)
    ids = _allocate(s, n, postgres)
    c = batch.columns
    x_cols = [c[name] if not isinstance(c[name], np.ndarray) else c[name].tolist() for name in BBOX]
    stamp: Any = now if postgres else now.replace(tzinfo=None).isoformat(sep=" ")
    const = {
        "user_id": [user_id] * n,
        "last_editor_id": [user_id] * n,
        "time": [stamp] * n,
        "last_edit_time": [stamp] * n,
        "revision": [1] * n,
        "verified_count": [0] * n,
        "deleted": [False] * n,
        "action": ["create"] * n,
        "position": [position] * n,
    }
    data = {**c, **const, **dict(zip(BBOX, x_cols, strict=True)), "id": ids}
    raw = s.connection().connection.driver_connection
    if postgres:
        for name in ("vector", "meta_data"):
            data[name] = [None if v is None else b"\x01" + v.encode() for v in data[name]]
        _copy(raw, "annotations", ANNOTATION_COLUMNS, data)
    else:
        _executemany(raw, "annotations", ANNOTATION_COLUMNS, data)
    return ids


def _copy(raw: Any, table: str, columns: tuple[str, ...], data: dict[str, Any]) -> None:
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types([PG_TYPES[c] for c in columns])
        for row in zip(*(data[c] for c in columns), strict=True):
            copy.write_row(row)


def _executemany(raw: Any, table: str, columns: tuple[str, ...], data: dict[str, Any]) -> None:
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    raw.executemany(statement, zip(*(data[c] for c in columns), strict=True))
