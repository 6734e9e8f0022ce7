"""Bulk annotation writes: validate whole columns, then binary COPY (PostgreSQL) or executemany.

Every row is checked before anything is written, so a rejected batch leaves the store unchanged.
Bounding-box input (``x_min, y_min, x_max, y_max``) is validated with numpy, without a Python
loop; ``vector`` dicts are checked one by one. Ids are allocated up front (on PostgreSQL a range
reserved in one step by :mod:`exact_lab.store.sql.idrange` from :data:`RESERVE_ROWS` rows on, a
``nextval`` per row below; under SQLite's write lock, ``max(id) + 1``) and the whole batch
shares one history position, so the rows go out in one stream and no revision rows are written
(the history holds only superseded states).

On PostgreSQL the stream is built column-wise, a chunk at a time, by
:mod:`exact_lab.store.sql.pgcopy` while a writer thread sends the previous chunk, and boxes
given by integer corners are stored without a vector (:mod:`exact_lab.store.sql.boxvec`). On both
backends the rows are stored, and numbered, in (set, image, grid cell) order
(:mod:`exact_lab.store.sql.grid`): every index grows at its right edge like an append, and a
viewport's hits share a few pages.
Generated unique identifiers are time-ordered UUIDs (version 7 layout), so the unique index on
``(image_id, unique_identifier)`` grows at its right edge instead of at random pages.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.errors import BadInput
from exact_lab.store.sql import boxvec, grid, idrange, pgcopy
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
BOX_TYPES = {1, 2, 6}  # vector types whose vector is exactly the bounding box
MAX_UID = 64
#: from this many rows on (PostgreSQL), ids come from one reserved range, taken on a second
#: connection while the rows are sorted; smaller batches take a ``nextval`` per row, which costs
#: them under 5 ms and spares the sequence an ``ALTER`` (a new file) per batch
RESERVE_ROWS = 10_000

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


@dataclass
class Prepared:
    """Validated columns of a batch (each a list or array of length ``n``)."""

    n: int
    #: numpy arrays for numbers and flags (NaN: no bounding box); ``vector`` is None when the
    #: input gave bounding boxes (the JSON is built per backend), ``description`` and
    #: ``meta_data`` are None when absent, ``unique_identifier`` None when to be generated
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


def _bools(df: pd.DataFrame, name: str) -> np.ndarray:
    if name not in df:
        return np.zeros(len(df), dtype=bool)
    col = df[name]
    if not pd.api.types.is_bool_dtype(col):
        raise BadInput(f"{name}: expected True/False values, got dtype {col.dtype}", field=name)
    return col.to_numpy(dtype=bool)


def new_uuids(n: int, now: dt.datetime | None = None, start: int = 0) -> np.ndarray:
    """``n`` time-ordered UUIDs (version 7 layout) as an array of 36-byte ASCII strings.

    48 bits of Unix milliseconds, then the row's index in the batch (32 bits, spread over the
    version-7 ``rand_a`` field and the top of ``rand_b``), then 42 random bits: the strings sort
    in input order within a batch and after earlier batches, which keeps B-tree inserts at the
    index's right edge; two batches in the same millisecond differ in the random bits.
    ``start`` numbers the rows from there on, so a batch can be made a chunk at a time.

    >>> a, b = new_uuids(2).astype(str)
    >>> a < b, a[14], len(a)
    (True, '7', 36)
    >>> stamp = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    >>> new_uuids(1, stamp, start=5)[0][:18] == new_uuids(6, stamp)[5][:18]
    True
    """
    stamp = now or dt.datetime.now(dt.timezone.utc)
    millis = np.uint64(int(stamp.timestamp() * 1000) & (2**48 - 1))
    counter = np.arange(start, start + n, dtype=np.uint64)
    noise = np.frombuffer(os.urandom(8 * n), dtype=np.uint64) & np.uint64(2**42 - 1)
    high = (millis << np.uint64(16)) | np.uint64(0x7000) | (counter >> np.uint64(20))
    low = (
        (np.uint64(2) << np.uint64(62)) | ((counter & np.uint64(0xFFFFF)) << np.uint64(42)) | noise
    )
    raw = np.stack([high, low], axis=1).astype(">u8").view(np.uint8).reshape(n, 16)
    return _uuid_text(raw)


#: two lowercase hex digits per byte value, as one little-endian uint16 (gathered per byte)
_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype="<u2")


def _uuid_text(raw: np.ndarray) -> np.ndarray:
    """Format an (n, 16) uint8 array as UUID strings (``S36``)."""
    n = len(raw)
    nibbles = _HEX_PAIRS[raw].view(np.uint8).reshape(n, 32)
    chars = np.empty((n, 36), dtype=np.uint8)
    spans = ((0, 8, 0), (9, 13, 8), (14, 18, 12), (19, 23, 16), (24, 36, 20))
    for start, stop, src in spans:
        chars[:, start:stop] = nibbles[:, src : src + stop - start]
    for dash in (8, 13, 18, 23):
        chars[:, dash] = ord("-")
    return chars.view("S36").ravel()


def _missing(value: Any) -> bool:
    """Return True for None and the NaN pandas puts into gaps of object columns."""
    return value is None or (isinstance(value, float) and np.isnan(value))


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
    return {"vector": None, "x_min": x0, "y_min": y0, "x_max": x1, "y_max": y1}


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
        out[name] = arr[:, j].copy()
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
        uid_list: Any = uids.astype(str).tolist()
        pairs = pd.DataFrame({"i": image_ids, "u": uid_list})
        if pairs.duplicated().any():
            raise BadInput(
                "unique_identifier: repeated for the same image within the batch",
                field="unique_identifier",
            )
    else:
        uid_list = None  # generated when written, in the order the rows are stored
    description: list[str] | None = None
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
    meta: list[str | None] | None = None
    if "meta_data" in df:
        meta = [
            None if _missing(v) else json.dumps(check_meta(v, f"meta_data (row {i})"))
            for i, v in enumerate(df["meta_data"].tolist())
        ]
    counts = pd.Series(sets).value_counts()
    return Prepared(
        n=n,
        columns={
            "image_id": image_ids,
            "image_set_id": sets,
            "annotation_type_id": type_ids,
            "frame": frames,
            "unique_identifier": uid_list,
            "description": description,
            "meta_data": meta,
            "concealed": _bools(df, "concealed"),
            "blurred": _bools(df, "blurred"),
            **geometry,
        },
        image_sets={int(str(k)): int(v) for k, v in counts.items()},
    )


def _allocate(s: Session, n: int, postgres: bool) -> np.ndarray:  # noqa: FBT001
    """``n`` new annotation ids, increasing, taken inside the batch's own transaction."""
    if not postgres:
        start = s.scalar(sa.text("SELECT coalesce(max(id), 0) FROM annotations")) or 0
        return np.arange(start + 1, start + n + 1, dtype=np.int64)
    ids: np.ndarray = idrange.one_by_one(s.connection(), "annotations", n)
    return ids


def write(s: Session, batch: Prepared, *, user_id: int, position: int, postgres: bool) -> list[int]:
    """Insert a prepared batch as annotations at history ``position``; return their ids.

    The ids come back in input order (row i got ``ids[i]``); they increase in storage order
    (set, image, grid cell), not necessarily in input order.
    """
    now = dt.datetime.now(dt.timezone.utc)
    if postgres and batch.n >= RESERVE_ROWS:
        # a second connection reserves the ids (milliseconds; a fallback takes 0.3-0.7 s per
        # million) while this thread sorts the rows: psycopg and numpy release the GIL
        with ThreadPoolExecutor(max_workers=1) as pool:
            engine = s.connection().engine
            pending = pool.submit(idrange.reserve, engine, "annotations", batch.n)
            layout = _layout(batch.columns)
            stored = pending.result()
    else:
        stored = _allocate(s, batch.n, postgres)
        layout = _layout(batch.columns)
    ids = np.empty_like(stored)
    ids[layout.order] = stored  # ids ascend in storage order
    raw = s.connection().connection.driver_connection
    if postgres:
        _write_postgres(raw, batch, stored, layout, user_id=user_id, position=position, now=now)
    else:
        _write_sqlite(raw, batch, stored, layout, user_id=user_id, position=position, now=now)
    out: list[int] = ids.tolist()
    return out


def _fmt(values: np.ndarray) -> pd.Series:
    if np.all(np.mod(values, 1) == 0):
        return pd.Series(values.astype(np.int64)).astype(str)
    return pd.Series(values).astype(str)


def box_vector_texts(c: dict[str, Any]) -> list[str]:
    """EXACT's ``{"x1", "y1", "x2", "y2"}`` JSON of each bounding box, as text."""
    parts = [_fmt(c[name]) for name in BBOX]
    text = '{"x1": ' + parts[0] + ', "y1": ' + parts[1] + ', "x2": ' + parts[2]
    out: list[str] = (text + ', "y2": ' + parts[3] + "}").tolist()
    return out


def _fixed_text(values: Any) -> np.ndarray | None:
    """Strings of one ASCII length as an ``S<w>`` array, else None."""
    try:
        arr = np.array(values, dtype=np.bytes_)
    except UnicodeEncodeError:
        return None
    width = arr.dtype.itemsize
    if any(len(v) != width for v in values):
        return None
    return arr


def _take(values: list[Any], order: np.ndarray) -> list[Any]:
    picked: list[Any] = np.array(values, dtype=object)[order].tolist()
    return picked


def _taken(values: np.ndarray, order: np.ndarray) -> pgcopy.Rows:
    """Rows ``start:stop`` of the stream of column ``values`` (input order) stored in ``order``.

    Gathered a chunk at a time, so the first chunk goes out without waiting for whole columns.
    """
    return lambda start, stop: values[order[start:stop]]


def _text_fields(
    c: dict[str, Any], order: np.ndarray, now: dt.datetime
) -> tuple[list[pgcopy.Fixed], list[tuple[str, list[bytes]]]]:
    """Encode the text and JSON columns: fixed width where every row has one length."""
    fixed: list[pgcopy.Fixed] = []
    varying: list[tuple[str, list[bytes]]] = []
    if c["unique_identifier"] is None:  # generated per chunk, ascending in COPY order
        made = lambda start, stop: new_uuids(stop - start, now, start=start)  # noqa: E731
        fixed.append(pgcopy.Fixed("unique_identifier", "S36", made))
    elif (uids := _fixed_text(c["unique_identifier"])) is not None:
        fixed.append(pgcopy.Fixed("unique_identifier", uids.dtype.str, _taken(uids, order)))
    else:
        texts = _take(c["unique_identifier"], order)
        varying.append(("unique_identifier", pgcopy.variable([u.encode() for u in texts])))
    if c["description"] is None:
        fixed.append(pgcopy.Fixed.empty("description"))
    else:
        texts = _take(c["description"], order)
        varying.append(("description", pgcopy.variable([t.encode() for t in texts])))
    # jsonb's binary form is a version byte (1) and the JSON text
    if c["meta_data"] is None:
        fixed.append(pgcopy.Fixed.empty("meta_data", null=True))
    else:
        texts = _take(c["meta_data"], order)
        varying.append(
            (
                "meta_data",
                pgcopy.variable([None if t is None else b"\x01" + t.encode() for t in texts]),
            )
        )
    # a box with integer corners gets no vector: its bounding box stands for it (see boxvec)
    if c["vector"] is not None or not boxvec.integral(*(c[name] for name in BBOX)):
        texts = box_vector_texts(c) if c["vector"] is None else c["vector"]
        texts = _take(texts, order)
        encoded_vectors = [None if t is None else b"\x01" + t.encode() for t in texts]
        varying.append(("vector", pgcopy.variable(encoded_vectors)))
    return fixed, varying


@dataclass
class Layout:
    """Where each row of a batch goes: computed from the batch alone, before ids exist."""

    cells: np.ndarray  # grid cell of each row's box (0 without one)
    has_box: np.ndarray
    order: np.ndarray  # the rows in storage order


def _layout(c: dict[str, Any]) -> Layout:
    """Return the rows' grid cells, which rows have a box, and the storage order.

    Rows are stored in (set, image, cell) order and take their ids and generated identifiers in
    that order: every index then grows at its right edge like an append, and a viewport's hits
    share a few pages.
    """
    boxes = [np.asarray(c[name], dtype=np.float64) for name in BBOX]
    has_box = ~np.isnan(boxes[0])
    cells = np.zeros(len(has_box), dtype=np.int64)
    if has_box.any():
        cells[has_box] = grid.cell_keys(*(b[has_box] for b in boxes))
    no_cell = np.where(has_box, cells, np.iinfo(np.int64).max)
    images, sets = c["image_id"], c["image_set_id"]
    if len(images) and (images == images[0]).all():  # one image (so one set): cells decide
        order = np.argsort(no_cell, kind="stable")  # as lexsort: ties keep input order
    else:
        order = np.lexsort((no_cell, images, sets))
    return Layout(cells, has_box, order)


def _write_postgres(
    raw: Any,
    batch: Prepared,
    ids: np.ndarray,
    layout: Layout,
    *,
    user_id: int,
    position: int,
    now: dt.datetime,
) -> None:
    """COPY the batch; ``ids`` are in storage order, every other column in input order."""
    c = batch.columns
    boxes = [c[name] for name in BBOX]
    cells, has_box, order = layout.cells, layout.has_box, layout.order
    stamp = pgcopy.micros(now)
    fixed = [
        pgcopy.Fixed("id", ">i8", ids),
        pgcopy.Fixed("image_id", ">i4", _taken(c["image_id"], order)),
        pgcopy.Fixed("image_set_id", ">i4", _taken(c["image_set_id"], order)),
        pgcopy.Fixed("annotation_type_id", ">i4", _taken(c["annotation_type_id"], order)),
        pgcopy.Fixed("frame", ">i4", _taken(c["frame"], order)),
        pgcopy.Fixed("user_id", ">i4", user_id),
        pgcopy.Fixed("last_editor_id", ">i4", user_id),
        pgcopy.Fixed("time", ">i8", stamp),
        pgcopy.Fixed("last_edit_time", ">i8", stamp),
        pgcopy.Fixed("revision", ">i4", 1),
        pgcopy.Fixed("position", ">i8", position),
        pgcopy.Fixed("action", "S6", b"create"),
        pgcopy.Fixed("verified_count", ">i4", 0),
        pgcopy.Fixed("deleted", "?", values=False),
        pgcopy.Fixed("concealed", "?", _taken(c["concealed"], order)),
        pgcopy.Fixed("blurred", "?", _taken(c["blurred"], order)),
    ]
    varying: list[tuple[str, list[bytes]]] = []
    if has_box.all():
        fixed += [
            pgcopy.Fixed(name, ">f8", _taken(b, order)) for name, b in zip(BBOX, boxes, strict=True)
        ]
        fixed.append(pgcopy.Fixed("cell", ">i8", _taken(cells, order)))
    else:
        for name, values in (*zip(BBOX, boxes, strict=True), ("cell", cells)):
            dtype = ">i8" if name == "cell" else ">f8"
            cut = np.asarray(values)[order].astype(dtype)
            flags = has_box[order].tolist()
            encoded = [
                v if ok else None for v, ok in zip(cut.view("V8").tolist(), flags, strict=True)
            ]
            varying.append((name, pgcopy.variable(encoded)))
    more_fixed, more_varying = _text_fields(c, order, now)
    fixed += more_fixed
    varying += more_varying
    names = [f.name for f in fixed] + [name for name, _ in varying]
    pgcopy.copy_in(raw, "annotations", names, batch.n, fixed, [values for _, values in varying])


def _write_sqlite(
    raw: Any,
    batch: Prepared,
    ids: np.ndarray,
    layout: Layout,
    *,
    user_id: int,
    position: int,
    now: dt.datetime,
) -> None:
    c = batch.columns
    n = batch.n
    cells, has_box, order = layout.cells, layout.has_box, layout.order
    flags = has_box[order].tolist()

    def listed(values: Any) -> list[Any]:
        return values[order].tolist() if isinstance(values, np.ndarray) else _take(values, order)

    uids = c["unique_identifier"]
    data: dict[str, list[Any]] = {
        "id": ids.tolist(),  # already in storage order
        "image_id": listed(c["image_id"]),
        "image_set_id": listed(c["image_set_id"]),
        "annotation_type_id": listed(c["annotation_type_id"]),
        "frame": listed(c["frame"]),
        # generated identifiers ascend in storage order, like on PostgreSQL
        "unique_identifier": new_uuids(n, now).astype(str).tolist()
        if uids is None
        else listed(uids),
        "description": [""] * n if c["description"] is None else listed(c["description"]),
        "meta_data": [None] * n if c["meta_data"] is None else listed(c["meta_data"]),
        "vector": listed(box_vector_texts(c) if c["vector"] is None else c["vector"]),
        "concealed": listed(c["concealed"]),
        "blurred": listed(c["blurred"]),
        "cell": [k if ok else None for k, ok in zip(listed(cells), flags, strict=True)],
        "user_id": [user_id] * n,
        "last_editor_id": [user_id] * n,
        "time": [now.replace(tzinfo=None).isoformat(sep=" ")] * n,
        "revision": [1] * n,
        "verified_count": [0] * n,
        "deleted": [False] * n,
        "action": ["create"] * n,
        "position": [position] * n,
    }
    data["last_edit_time"] = data["time"]
    for name in BBOX:
        values = listed(np.asarray(c[name], dtype=np.float64))
        data[name] = [v if ok else None for v, ok in zip(values, flags, strict=True)]
    columns = tuple(data)
    marks = ", ".join("?" for _ in columns)
    statement = f"INSERT INTO annotations ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
    raw.executemany(statement, zip(*(data[name] for name in columns), strict=True))
