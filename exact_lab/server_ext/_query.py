"""EXACT's query language: django-filter style filters, limit/offset pages, flex fields.

Rows are plain dicts whose values may be zero-argument callables (lazy fields such as an image's
annotation ids): they are evaluated only when a filter, ``fields`` or the output needs them.

Examples
--------
>>> rows = [{"id": 1, "name": "alpha", "ok": True}, {"id": 2, "name": "beta", "ok": False}]
>>> specs = {"id": Filter("int", EXACT_IN), "name": Filter("str", TEXT), "ok": Filter("bool")}
>>> [r["id"] for r in apply_filters(rows, {"name__contains": "et"}, specs)]
[2]
>>> [r["id"] for r in apply_filters(rows, {"id__in": "[1, 2]", "ok": "True"}, specs)]
[1]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from exact_lab.errors import BadInput

__all__ = [
    "EXACT_IN",
    "NUMERIC",
    "RESERVED",
    "TEXT",
    "Filter",
    "FlexFields",
    "apply_filters",
    "page",
    "parse_bool",
    "resolve",
]

EXACT_IN = frozenset({"exact", "in"})
TEXT = frozenset({"exact", "contains", "in"})
NUMERIC = frozenset({"exact", "in", "lte", "gte", "lt", "gt", "range"})
TIME = frozenset({"exact", "contains", "lte", "gte", "range"})
#: Query parameters that are not filters.
RESERVED = frozenset({"limit", "offset", "expand", "fields", "omit", "format", "ordering"})
DEFAULT_LIMIT = 50
MAX_LIMIT = 100_000

_TRUE = {"true", "1", "t", "yes", "y", "on"}
_FALSE = {"false", "0", "f", "no", "n", "off"}


@dataclass(frozen=True)
class Filter:
    """One filterable field: its kind (int, float, bool, str, time) and allowed lookups.

    ``getter`` reads a virtual value from the row (default: the field of the same name); a
    list value matches ``exact`` when it contains the wanted value (many-to-many fields).
    """

    kind: str
    lookups: frozenset[str] = frozenset({"exact"})
    getter: Callable[[dict[str, Any]], Any] | None = None


def resolve(value: Any) -> Any:
    """Evaluate a lazy field."""
    return value() if callable(value) else value


def parse_bool(text: str, name: str) -> bool:
    """Parse ``True/False/true/false/1/0/t/f`` (400 otherwise)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadInput(f"{name}: expected True or False, got {text!r}", field=name)


def _parse(kind: str, text: str, name: str) -> Any:
    text = text.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "time":
            return _time(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        raise BadInput(f"{name}: {text!r} is not a valid {kind}", field=name) from None
    if kind == "bool":
        return parse_bool(text, name)
    return text


def _time(value: Any) -> Any:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value


def _values(text: str) -> list[str]:
    return [v.strip() for v in text.strip().strip("[]").split(",") if v.strip()]


def _predicate(spec: Filter, lookup: str, text: str, name: str) -> Callable[[Any], bool]:
    kind = spec.kind
    if lookup == "isnull":
        wanted_null = parse_bool(text, name)
        return lambda v: (v is None) == wanted_null
    if lookup == "in":
        wanted = {_parse(kind, v, name) for v in _values(text)}
        return lambda v: _norm(kind, v) in wanted or _any(v, lambda x: _norm(kind, x) in wanted)
    if lookup == "range":
        bounds = _values(text)
        if len(bounds) != 2:  # noqa: PLR2004 - a range has two ends
            raise BadInput(f"{name}: a range needs two comma-separated values", field=name)
        low, high = (_parse(kind, b, name) for b in bounds)
        return lambda v: v is not None and low <= _norm(kind, v) <= high
    if lookup == "contains":
        part = text
        return lambda v: v is not None and part in str(v)
    value = _parse(kind, text, name)
    compare: dict[str, Callable[[Any], bool]] = {
        "exact": lambda v: _norm(kind, v) == value or _any(v, lambda x: _norm(kind, x) == value),
        "lte": lambda v: v is not None and _norm(kind, v) <= value,
        "gte": lambda v: v is not None and _norm(kind, v) >= value,
        "lt": lambda v: v is not None and _norm(kind, v) < value,
        "gt": lambda v: v is not None and _norm(kind, v) > value,
    }
    return compare[lookup]


def _norm(kind: str, value: Any) -> Any:
    if kind == "time" and value is not None and not isinstance(value, list):
        return _time(value)
    return value


def _any(value: Any, test: Callable[[Any], bool]) -> bool:
    return isinstance(value, (list, tuple)) and any(test(x) for x in value)


def _field_getter(key: str) -> Callable[[dict[str, Any]], Any]:
    def get(row: dict[str, Any]) -> Any:
        return resolve(row.get(key))

    return get


def apply_filters(
    rows: Sequence[dict[str, Any]], params: Mapping[str, str], specs: Mapping[str, Filter]
) -> Sequence[dict[str, Any]]:
    """Keep the rows matching every filter in ``params``; unknown filters are a 400.

    Without filters ``rows`` is returned as it is (it may serialize lazily).
    """
    tests: list[tuple[Callable[[dict[str, Any]], Any], Callable[[Any], bool]]] = []
    for name, text in params.items():
        if name in RESERVED:
            continue
        field, _, lookup = name.partition("__")
        lookup = lookup or "exact"
        spec = specs.get(field)
        if spec is None or (lookup not in spec.lookups and lookup != "isnull"):
            known = ", ".join(sorted(specs)) or "none"
            raise BadInput(f"{name}: unknown filter; filters here: {known}", field=name)
        if text == "" and lookup == "exact":
            continue  # django-filter ignores empty values
        tests.append((spec.getter or _field_getter(field), _predicate(spec, lookup, text, name)))
    if not tests:
        return rows
    return [row for row in rows if all(test(get(row)) for get, test in tests)]


def _int_param(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name}: expected an integer, got {raw!r}", field=name) from None
    if value < 0:
        raise BadInput(f"{name}: expected an integer >= 0, got {value}", field=name)
    return value


def page(
    rows: Sequence[Any], params: Mapping[str, str], url: str
) -> tuple[list[Any], str | None, str | None]:
    """Slice ``rows`` by ``limit``/``offset``; return the slice and absolute next/previous URLs."""
    limit = min(_int_param(params, "limit", DEFAULT_LIMIT), MAX_LIMIT) or DEFAULT_LIMIT
    offset = _int_param(params, "offset", 0)
    chunk = list(rows[offset : offset + limit])
    next_url = _with(url, limit, offset + limit) if offset + limit < len(rows) else None
    prev_url = _with(url, limit, max(offset - limit, 0)) if offset > 0 else None
    return chunk, next_url, prev_url


def _with(url: str, limit: int, offset: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    query = [(k, v) for k, v in query if k not in {"limit", "offset"}]
    query += [("limit", str(limit)), ("offset", str(offset))]
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class FlexFields:
    """``expand``, ``fields`` and ``omit`` of a request (drf-flex-fields semantics)."""

    expand: dict[str, Any]
    fields: frozenset[str] | None
    omit: frozenset[str]

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> FlexFields:
        """Read the three parameters (comma separated; ``expand`` may use dots and ``*``)."""
        tree: dict[str, Any] = {}
        for path in _values(params.get("expand", "")):
            node = tree
            for part in path.split("."):
                node = node.setdefault(part, {})
        fields = _values(params.get("fields", ""))
        return cls(
            tree, frozenset(fields) if fields else None, frozenset(_values(params.get("omit", "")))
        )

    def keep(self, key: str) -> bool:
        """Whether ``key`` is part of the output."""
        return key not in self.omit and (self.fields is None or key in self.fields)
