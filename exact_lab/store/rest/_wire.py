"""The wire format of the RestStore: HTTP session, error mapping, entity and frame decoding."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import time
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

__all__ = ["ARROW_STREAM", "Http", "decode", "error_for", "wire"]

ARROW_STREAM = "application/vnd.apache.arrow.stream"
TIMEOUT = 300.0
#: Store methods that only read: safe to send again when the server could not be reached.
READS = frozenset(
    {
        "user", "users", "get_user", "tokens", "teams", "team", "memberships", "products",
        "product", "annotation_types", "annotation_type", "image_sets", "image_set", "images",
        "image", "annotation", "annotations", "annotations_in", "history", "verifications",
        "media_files", "media_file", "image_actions", "screening", "versions", "version", "diff",
    }
)  # fmt: skip
#: Answers of a proxy or a server that is (re)starting: worth waiting for.
RETRY_STATUSES = frozenset({502, 503, 504})
RETRY_FOR = 30.0  # seconds a read keeps retrying before the error is raised
RETRY_FIRST, RETRY_MAX = 0.25, 4.0  # backoff: 0.25 s, doubling, at most 4 s apart
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


class Http:
    """A keep-alive session against ``{base}/api`` that raises exact_lab's errors.

    Reads (:data:`READS`) are retried with exponential backoff for up to ``retry_for``
    seconds when the server cannot be reached or answers 502/503/504, so a restart of the
    server or its proxy does not fail them. Writes are never sent twice: a lost answer could
    mean the write happened.
    """

    def __init__(self, base: str, token: str, *, retry_for: float = RETRY_FOR) -> None:
        """Talk to the server at ``base`` (``http://host:port/exact``) with ``token``."""
        self.base = base.rstrip("/")
        self.token = token
        self.retry_for = retry_for
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def request(
        self, method: str, path: str, *, retry: bool = False, **kwargs: Any
    ) -> requests.Response:
        """Send one request below ``{base}/api/``; raise the mapped error on 4xx/5xx.

        With ``retry``, connection errors and 502/503/504 are retried (see the class).
        """
        deadline = time.monotonic() + (self.retry_for if retry else 0.0)
        delay = RETRY_FIRST
        while True:
            try:
                answer = self.session.request(
                    method, f"{self.base}/api/{path}", timeout=TIMEOUT, **kwargs
                )
            except requests.exceptions.InvalidJSONError as err:  # never sent, not "unreachable"
                raise BadInput(f"the request cannot be sent as JSON: {err}") from err
            except requests.RequestException as err:
                if not _again(deadline, delay, err):
                    waited = f" (retried for {self.retry_for:g} s)" if retry else ""
                    raise ExactLabError(
                        f"cannot reach the exact_lab server at {self.base}{waited}: {err}; "
                        "check that it runs and the URL is right"
                    ) from err
            else:
                if answer.status_code not in RETRY_STATUSES or not _again(deadline, delay):
                    break
            time.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
        if answer.status_code >= 400:  # noqa: PLR2004 - HTTP errors
            raise error_for(answer.status_code, answer.content)
        return answer

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a store method on the server; return the decoded JSON ``result``."""
        body = {"args": wire(list(args)), "kwargs": wire(kwargs)}
        answer = self.request("POST", f"native/store/{method}", json=body, retry=method in READS)
        return answer.json()["result"]

    def call_as_basic(self, username: str, password: str, method: str) -> Any:
        """Call a store method authenticated by HTTP Basic instead of the session's token."""
        raw = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {raw}"}
        answer = self.request("POST", f"native/store/{method}", json={}, headers=headers)
        return answer.json()["result"]

    def arrow(self, method: str, *args: Any, **kwargs: Any) -> pa.Table:
        """Call a store method answering with an Arrow IPC stream."""
        body = {"args": wire(list(args)), "kwargs": wire(kwargs)}
        answer = self.request("POST", f"native/store/{method}", json=body, retry=method in READS)
        return read_arrow(answer.content)

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()


def _again(deadline: float, delay: float, err: BaseException | None = None) -> bool:
    """Tell whether a failed read should be sent again after ``delay`` seconds."""
    if err is not None and not isinstance(err, (requests.ConnectionError, requests.Timeout)):
        return False  # a malformed request or answer: sending it again would not help
    return time.monotonic() + delay <= deadline


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
