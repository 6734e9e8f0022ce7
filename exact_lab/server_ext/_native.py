"""Native bulk endpoints: annotations as Arrow IPC streams, both ways, and version diffs.

``GET  {base}exact/api/native/images/{id}/annotations`` — the image's annotations as one Arrow
IPC stream (schema :func:`exact_lab.store.frames.arrow_schema`: the columns of
:data:`exact_lab.store.COLUMNS`, ``vector`` and ``meta_data`` as the JSON text the store holds,
so the server never parses or re-encodes them). The stream goes out in record batches of
:data:`BATCH_ROWS` rows, each flushed as it is written. Query: ``bbox=x0,y0,x1,y1``
(intersecting bounding boxes), ``types=1,2``, ``version=ID`` (the state frozen in a version),
``deleted=true|false|all``, ``vector=false``; with ``bbox`` also ``columns=id,vector`` (only
those columns, in that order: see ``Store.annotations_in``).

``POST {base}exact/api/native/annotations`` — an Arrow IPC stream of new annotations (columns
as for ``Store.add_annotations``) → ``{"ids": [...]}`` in input order, atomically.

``GET  {base}exact/api/native/versions/{id}/diff?to=ID`` — Arrow table ``id``, ``change``
(added, removed, changed) from a version to another version (default: now).
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from exact_lab.errors import BadInput
from exact_lab.server_ext._base import ExactHandler
from exact_lab.server_ext._context import as_id, as_ids
from exact_lab.server_ext._query import parse_bool
from exact_lab.server_ext._tiles import parse_id

__all__ = ["ARROW_STREAM", "BATCH_ROWS", "native_routes", "stream_pieces", "table_bytes"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
MAX_ARROW_BYTES = 512 * 1024 * 1024
#: Rows per record batch of a streamed answer (about 2 MB of boxes).
BATCH_ROWS = 10_000


def table_bytes(table: pa.Table) -> bytes:
    """Serialize ``table`` as an Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data


class _Pieces:
    """A write-only file for Arrow's IPC writer that keeps what it is given until taken."""

    closed = False

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        """Nothing to flush: pieces wait in memory for :meth:`take`."""

    def take(self) -> bytes:
        """Return and forget everything written so far."""
        data, self._parts = b"".join(self._parts), []
        return data


def stream_pieces(table: pa.Table, rows: int = BATCH_ROWS) -> Any:
    """Yield ``table`` as consecutive pieces of one Arrow IPC stream, one per record batch.

    >>> table = pa.table({"id": list(range(5))})
    >>> data = b"".join(stream_pieces(table, rows=2))
    >>> pa.ipc.open_stream(data).read_all().equals(table)
    True
    """
    pieces = _Pieces()
    with pa.ipc.new_stream(pa.PythonFile(pieces, mode="w"), table.schema) as writer:
        for batch in table.to_batches(max_chunksize=rows):
            writer.write_batch(batch)
            yield pieces.take()
    yield pieces.take()  # the end-of-stream marker


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadInput(f"bbox: expected x0,y0,x1,y1, got {text!r}", field="bbox") from None
    if len(values) != 4:  # noqa: PLR2004 - four corners
        raise BadInput(f"bbox: expected x0,y0,x1,y1, got {text!r}", field="bbox")
    return values[0], values[1], values[2], values[3]


def _deleted(text: str | None) -> bool | None:
    if text is None or text == "":
        return False
    if text.lower() == "all":
        return None
    return parse_bool(text, "deleted")


class _ArrowHandler(ExactHandler):
    async def write_arrow(self, table: pa.Table) -> None:
        """Stream ``table`` batch by batch; memory holds one serialized batch at a time."""
        self.set_header("Content-Type", ARROW_STREAM)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Row-Count", str(table.num_rows))
        for piece in stream_pieces(table):
            if piece:
                self.write(piece)
                await self.flush()
        self.finish()


class ImageAnnotationsArrowHandler(_ArrowHandler):
    """``GET native/images/{id}/annotations``."""

    async def get(self, image_id: str) -> None:
        """Answer with the Arrow stream."""
        image = parse_id(image_id)
        bbox_text = self.get_query_argument("bbox", None)
        types_text = self.get_query_argument("types", None)
        version_text = self.get_query_argument("version", None)
        deleted = _deleted(self.get_query_argument("deleted", None))
        with_vector = parse_bool(self.get_query_argument("vector", "true"), "vector")
        types = as_ids(types_text, "types") if types_text else None
        version = as_id(version_text, "version") if version_text else None
        bbox = _bbox(bbox_text) if bbox_text else None
        if bbox is not None and version is not None:
            raise BadInput("bbox and version cannot be combined yet", field="bbox")
        columns_text = self.get_query_argument("columns", None)
        columns = columns_text.split(",") if columns_text is not None else None
        if columns is not None and bbox is None:
            raise BadInput(
                "columns: give bbox too; columns pick a viewport's columns", field="columns"
            )

        def work() -> pa.Table:
            store = self.store
            if bbox is not None:
                found: Any = store.annotations_in(
                    image, bbox, annotation_type=types, deleted=deleted,
                    with_vector=with_vector, columns=columns, format="arrow",
                )  # fmt: skip
            else:
                found = store.annotations(
                    image=image, annotation_type=types, version=version, deleted=deleted,
                    with_vector=with_vector, format="arrow",
                )  # fmt: skip
            table: pa.Table = found
            return table

        await self.write_arrow(await self.run(work))


class AnnotationsArrowWriteHandler(_ArrowHandler):
    """``POST native/annotations`` with an Arrow IPC stream body."""

    async def post(self) -> None:
        """Add the rows atomically; answer with their ids."""
        body = self.request.body
        if len(body) > MAX_ARROW_BYTES:
            raise BadInput(f"the body exceeds {MAX_ARROW_BYTES} bytes; send smaller batches")
        try:
            table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
        except (pa.ArrowInvalid, OSError) as err:
            raise BadInput(f"the body is not an Arrow IPC stream: {err}") from None
        if table.num_rows == 0:
            self.write_json({"ids": []}, 201)
            return
        ids = await self.run(lambda: self.store.add_annotations(table))
        self.write_json({"ids": [int(i) for i in ids]}, 201)


class VersionDiffArrowHandler(_ArrowHandler):
    """``GET native/versions/{id}/diff?to=ID``."""

    async def get(self, version_id: str) -> None:
        """Answer with the diff as Arrow (``id``, ``change``)."""
        v1 = parse_id(version_id, "version")
        to_text = self.get_query_argument("to", None)
        v2 = as_id(to_text, "to") if to_text else None

        def work() -> pa.Table:
            diff = self.store.diff(v1, v2)
            ids: list[Any] = [*diff.added, *diff.removed, *diff.changed]
            changes = (
                ["added"] * len(diff.added)
                + ["removed"] * len(diff.removed)
                + ["changed"] * len(diff.changed)
            )
            return pa.table({"id": pa.array(ids, pa.int64()), "change": pa.array(changes)})

        await self.write_arrow(await self.run(work))


def native_routes(prefix: str) -> list[tuple[str, type[ExactHandler]]]:
    """Routes below ``prefix`` (``/exact/api/native``)."""
    return [
        (rf"{prefix}/images/(\d{{1,18}})/annotations/?", ImageAnnotationsArrowHandler),
        (rf"{prefix}/annotations/?", AnnotationsArrowWriteHandler),
        (rf"{prefix}/versions/(\d{{1,18}})/diff/?", VersionDiffArrowHandler),
    ]
