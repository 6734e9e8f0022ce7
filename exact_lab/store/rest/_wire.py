"""The wire format of the RestStore: HTTP session, error mapping, entity and frame decoding."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import types
import typing
from typing import Any, TypeVar, Union

import numpy as np
import pandas as pd
import pyarrow as pa
import requests

from exact_lab.errors import (
    BadInput,
    Conflict,
    ExactLabError,
    NotFound,
    PermissionDenied,
    SchemaMismatch,
    SlideReadError,
)
from exact_lab.store import frames

__all__ = ["ARROW_STREAM", "Http", "decode", "error_for", "frame_from_arrow", "wire"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
TIMEOUT = 300.0
E = TypeVar("E")

_ERRORS: dict[int, type[ExactLabError]] = {
    400: BadInput,
    401: PermissionDenied,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    413: BadInput,
    422: SlideReadError,
}


def error_for(status: int, body: bytes) -> ExactLabError:
    """Return the exact_lab error for an HTTP error answer ``{"detail": ..., "field"?: ...}``."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        payload = {}
    if not isinstance(payload, dict):
        payload = {}
    detail = str(payload.get("detail") or body[:200].decode("utf-8", "replace") or status)
    kind = _ERRORS.get(status)
    if kind is BadInput:
        field = payload.get("field")
        return BadInput(detail, field=field if isinstance(field, str) else None)
    if kind is not None:
        return kind(detail)
    if status >= 500 and "exact-lab db upgrade" in detail:  # noqa: PLR2004 - server errors
        return SchemaMismatch(detail)
    return ExactLabError(f"HTTP {status}: {detail}")


def wire(value: Any) -> Any:  # noqa: PLR0911 - one case per kind of value
    """``value`` ready for JSON: entities become their ids, numpy scalars Python values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        ident = getattr(value, "id", None)
        if isinstance(ident, int):
            return ident
        return {k: wire(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, (list, tuple, set, frozenset, pd.Index, np.ndarray)):
        return [wire(v) for v in value]
    if isinstance(value, dict):
        return {str(k): wire(v) for k, v in value.items()}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (dt.datetime, pd.Timestamp)):
        return value.isoformat()
    return value


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(value)
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        item = typing.get_args(hint)[0]
        return tuple(_convert(item, v) for v in value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return decode(hint, value)
    return value


def decode(kind: type[E], data: Any) -> E:
    """Rebuild the entity ``kind`` from its JSON fields."""
    if not isinstance(data, dict):
        raise ExactLabError(f"the server sent {data!r} where a {kind.__name__} was expected")
    hints = typing.get_type_hints(kind)
    values = {
        f.name: _convert(hints[f.name], data.get(f.name))
        for f in dataclasses.fields(kind)  # type: ignore[arg-type]
    }
    return kind(**values)


def _json_or_none(text: Any) -> Any:
    return None if text is None else json.loads(text)


def frame_from_arrow(table: pa.Table, *, with_vector: bool) -> pd.DataFrame:
    """Build the documented DataFrame (see :mod:`exact_lab.store.frames`) from Arrow."""
    data: dict[str, Any] = {}
    for name in frames.columns(with_vector=with_vector):
        column = table.column(name)
        if name in ("vector", "meta_data"):
            data[name] = [_json_or_none(v) for v in column.to_pylist()]
        elif name in ("user", "last_editor"):
            data[name] = column.to_pylist()
        else:
            data[name] = column.to_pandas()
    return frames.from_columns(data, with_vector=with_vector)


class Http:
    """A keep-alive session against ``{base}/api`` that raises exact_lab's errors."""

    def __init__(self, base: str, token: str) -> None:
        """Talk to the server at ``base`` (``http://host:port/exact``) with ``token``."""
        self.base = base.rstrip("/")
        self.token = token
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request below ``{base}/api/``; raise the mapped error on 4xx/5xx."""
        try:
            answer = self.session.request(
                method, f"{self.base}/api/{path}", timeout=TIMEOUT, **kwargs
            )
        except requests.RequestException as err:
            raise ExactLabError(f"cannot reach the exact_lab server at {self.base}: {err}") from err
        if answer.status_code >= 400:  # noqa: PLR2004 - HTTP errors
            raise error_for(answer.status_code, answer.content)
        return answer

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a store method on the server; return the decoded JSON ``result``."""
        body = {"args": wire(list(args)), "kwargs": wire(kwargs)}
        return self.request("POST", f"native/store/{method}", json=body).json()["result"]

    def call_as_basic(self, username: str, password: str, method: str) -> Any:
        """Call a store method authenticated by HTTP Basic instead of the session's token."""
        raw = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {raw}"}
        answer = self.request("POST", f"native/store/{method}", json={}, headers=headers)
        return answer.json()["result"]

    def arrow(self, method: str, *args: Any, **kwargs: Any) -> pa.Table:
        """Call a store method answering with an Arrow IPC stream."""
        body = {"args": wire(list(args)), "kwargs": wire(kwargs)}
        answer = self.request("POST", f"native/store/{method}", json=body)
        return read_arrow(answer.content)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


def read_arrow(data: bytes) -> pa.Table:
    """Read an Arrow IPC stream."""
    table: pa.Table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    return table


def arrow_bytes(table: pa.Table) -> bytes:
    """Serialize ``table`` as an Arrow IPC stream."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    data: bytes = sink.getvalue().to_pybytes()
    return data
