"""PostgreSQL's binary COPY stream, encoded a whole column at a time with numpy.

psycopg's ``Copy.write_row`` encodes row by row in Python, about 5 µs for an annotation row:
5 s of client time per million rows, as much as the server needs to store them. Here every
fixed-width column (integers, floats, booleans, timestamps, strings of one length, constant
NULLs or empty strings) becomes a field of one numpy structured array whose records *are* the
binary tuples, so the stream is ``array.tobytes()``. Columns whose length varies from row to row
(a JSON vector of a polygon, free-text descriptions) are appended per row in Python, after the
fixed part; the COPY statement lists the columns in the same order.

:func:`copy_in` streams: a fixed column may be a function giving rows ``start:stop`` of the
stream, so each chunk is gathered and encoded just before it is sent, and psycopg's queued writer
sends a chunk from a thread of its own while the next one is encoded. The server starts on the
first chunk instead of waiting for the whole stream, and the client's encoding (about 0.6 s per
million rows) runs beside the server's work instead of between its pieces.

Example:
    >>> import numpy as np
    >>> body = encode(2, [Fixed("id", ">i8", np.array([1, 2])), Fixed.empty("note")], [])
    >>> body[:11] == HEADER[:11], len(body) == len(HEADER) + 2 * (2 + 4 + 8 + 4) + 2
    (True, True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
from psycopg.copy import QueuedLibpqWriter

HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, header-extension length
TRAILER = b"\xff\xff"
PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
CHUNK = 65_536  # rows per piece handed to the server: bounds the client's memory
_NULL = -1

#: a column given by rows: ``rows(start, stop)`` returns the values of stream rows start..stop-1
Rows = Callable[[int, int], np.ndarray]


@dataclass(frozen=True)
class Fixed:
    """A column whose values all have the same binary width.

    ``dtype`` is the big-endian numpy type of the value (``">i4"`` int4, ``">i8"`` int8 or
    timestamptz in µs since 2000, ``">f8"`` float8, ``"?"`` bool, ``"S<w>"`` text/jsonb bytes of
    width w); ``values`` is an array of length n, a :data:`Rows` function, or one scalar for
    every row. ``dtype=None`` writes no value: a NULL, or with ``length=0`` an empty string.
    """

    name: str
    dtype: str | None
    values: Any = None
    length: int = _NULL

    @classmethod
    def empty(cls, name: str, *, null: bool = False) -> Fixed:
        """Make a column of empty strings (or of NULLs with ``null=True``)."""
        return cls(name, None, None, _NULL if null else 0)


def micros(stamp: dt.datetime) -> int:
    """Return a timestamptz value: microseconds since 2000-01-01 UTC."""
    return (stamp - PG_EPOCH) // dt.timedelta(microseconds=1)


def variable(values: Sequence[bytes | None]) -> list[bytes]:
    """Per-row fields (length prefix and bytes, or the NULL marker) of a varying-width column."""
    null = _NULL.to_bytes(4, "big", signed=True)
    return [null if v is None else len(v).to_bytes(4, "big") + v for v in values]


def _rows(values: Any, start: int, stop: int) -> Any:
    """Return the values of stream rows ``start:stop`` (a scalar stands for every row)."""
    if callable(values):
        return values(start, stop)
    return values[start:stop] if np.ndim(values) else values


def _record(n: int, fixed: Sequence[Fixed], fields: int) -> np.ndarray:
    layout: list[tuple[str, str]] = [("count", ">i2")]
    for i, col in enumerate(fixed):
        layout.append((f"len{i}", ">i4"))
        if col.dtype is not None:
            layout.append((f"val{i}", col.dtype))
    records = np.empty(n, dtype=layout)
    records["count"] = fields
    for i, col in enumerate(fixed):
        if col.dtype is None:
            records[f"len{i}"] = col.length
            continue
        records[f"len{i}"] = np.dtype(col.dtype).itemsize
        records[f"val{i}"] = col.values
    return records


def chunks(
    n: int, fixed: Sequence[Fixed], variable_fields: Sequence[list[bytes]]
) -> Iterator[bytes]:
    """Yield the COPY stream of ``n`` rows, header and trailer included, CHUNK rows a piece.

    ``variable_fields`` holds, per varying column, the output of :func:`variable`.
    """
    yield HEADER
    fields = len(fixed) + len(variable_fields)
    for start in range(0, n, CHUNK):
        stop = min(start + CHUNK, n)
        part = [Fixed(c.name, c.dtype, _rows(c.values, start, stop), c.length) for c in fixed]
        records = _record(stop - start, part, fields)
        if not variable_fields:
            yield records.tobytes()
            continue
        heads = records.view(np.dtype((np.void, records.dtype.itemsize))).tolist()
        tails = [column[start:stop] for column in variable_fields]
        yield b"".join(chain.from_iterable(zip(heads, *tails, strict=True)))
    yield TRAILER


def encode(n: int, fixed: Sequence[Fixed], variable_fields: Sequence[list[bytes]]) -> bytes:
    """Return the whole COPY stream as one bytes object (see :func:`chunks`)."""
    return b"".join(chunks(n, fixed, variable_fields))


def copy_in(  # noqa: PLR0917 - the stream's parts, as chunks() takes them
    raw: Any,
    table: str,
    names: Sequence[str],
    n: int,
    fixed: Sequence[Fixed],
    variable_fields: Sequence[list[bytes]],
) -> None:
    """COPY ``n`` rows into ``table`` on the psycopg connection ``raw``, chunk by chunk.

    ``names`` lists the columns: the fixed ones, then the varying ones, as in :func:`chunks`.
    The queued writer holds a bounded number of pieces, so a server slower than the encoding
    makes the encoding wait rather than the client's memory grow without end.
    """
    statement = f"COPY {table} ({', '.join(names)}) FROM STDIN (FORMAT BINARY)"
    with raw.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        for piece in chunks(n, fixed, variable_fields):
            copy.write(memoryview(piece))  # the writer slices it without copying
