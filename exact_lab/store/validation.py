"""Input checks shared by every store implementation.

Each check raises :class:`~exact_lab.errors.BadInput` naming the field and what is expected, before
anything is written, so a rejected call leaves the store unchanged.

Examples
--------
>>> check_vector({"x1": 1, "y1": 2, "x2": 30, "y2": 40}, vector_type=1, node_count=0,
...              width=100, height=100)
(1.0, 2.0, 30.0, 40.0)
>>> check_vector({"x1": 1, "y1": 2}, vector_type=5, node_count=0, width=100, height=100)
Traceback (most recent call last):
...
exact_lab.errors.BadInput: vector: a polygon needs at least 3 nodes, got 1
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from exact_lab.errors import BadInput

__all__ = [
    "MAX_DESCRIPTION",
    "MAX_META_BYTES",
    "MAX_NODES",
    "check_choice",
    "check_color",
    "check_meta",
    "check_name",
    "check_text",
    "check_vector",
    "node_rule",
]

MAX_NODES = 100_000
MAX_DESCRIPTION = 1000
MAX_META_BYTES = 64 * 1024
MAX_NAME = 200

_KEY = re.compile(r"^([xy])([1-9][0-9]*)$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")

# vector_type -> (minimum nodes, exact nodes or None, label)
_RULES: dict[int, tuple[int, int | None, str]] = {
    1: (2, 2, "a bounding box"),
    2: (2, 2, "a point (the bounding box of its marker)"),
    3: (2, 2, "a line"),
    4: (2, None, "a multi-line"),
    5: (3, None, "a polygon"),
    6: (2, 2, "a fixed-size bounding box"),
    7: (0, 0, "a global annotation"),
    8: (3, None, "a segmentation outline"),
}


def node_rule(vector_type: int) -> tuple[int, int | None, str]:
    """Return ``(min_nodes, exact_nodes_or_None, label)`` for an EXACT vector type."""
    try:
        return _RULES[vector_type]
    except KeyError:
        raise BadInput(
            f"vector_type: {vector_type!r} is not an EXACT vector type (1-8)", field="vector_type"
        ) from None


def check_vector(  # noqa: C901, PLR0912 - one rule per EXACT vector constraint
    vector: Any,
    *,
    vector_type: int,
    node_count: int,
    width: int,
    height: int,
    field: str = "vector",
) -> tuple[float, float, float, float] | None:
    """Validate an EXACT flat vector and return its bounding box (``None`` for no vector).

    Parameters
    ----------
    vector
        ``{"x1":..,"y1":..,"x2":..,...}`` plus an optional ``"frame"``, or ``None`` (not in the
        image, or a global annotation).
    vector_type, node_count
        From the annotation type; ``node_count > 0`` demands exactly that many nodes.
    width, height
        The image size; every coordinate must lie in ``[0, width]`` x ``[0, height]``.
    field
        The name used in error messages.

    Returns
    -------
    tuple or None
        ``(x_min, y_min, x_max, y_max)``.
    """
    name = field.split(" (", maxsplit=1)[0]  # "vector (row 3)" -> "vector"
    if vector is None:
        return None
    if not isinstance(vector, dict):
        raise BadInput(
            f"{field}: expected a dict like {{'x1': 10, 'y1': 20, ...}} or None, "
            f"got {type(vector).__name__}",
            field=name,
        )
    minimum, exact, label = node_rule(vector_type)
    if vector_type == 7:  # noqa: PLR2004 - GLOBAL
        raise BadInput(f"{field}: {label} has no vector; pass None", field=name)
    xs: dict[int, float] = {}
    ys: dict[int, float] = {}
    for key, value in vector.items():
        if key == "frame":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BadInput(
                    f"{field}: 'frame' must be an integer >= 1, got {value!r}", field=name
                )
            continue
        match = _KEY.match(str(key))
        if match is None:
            raise BadInput(
                f"{field}: unexpected key {key!r}; keys are x1, y1, x2, y2, ... and 'frame'",
                field=name,
            )
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not math.isfinite(value)
        ):
            raise BadInput(f"{field}: {key} must be a finite number, got {value!r}", field=name)
        (xs if match.group(1) == "x" else ys)[int(match.group(2))] = float(value)
    nodes = len(xs)
    if set(xs) != set(ys) or set(xs) != set(range(1, nodes + 1)):
        raise BadInput(
            f"{field}: keys must pair up as x1..xN and y1..yN without gaps, got {sorted(vector)}",
            field=name,
        )
    if nodes > MAX_NODES:
        raise BadInput(f"{field}: {nodes} nodes exceed the limit of {MAX_NODES}", field=name)
    if nodes < minimum:
        raise BadInput(f"{field}: {label} needs at least {minimum} nodes, got {nodes}", field=name)
    if exact is not None and nodes != exact:
        raise BadInput(f"{field}: {label} needs exactly {exact} nodes, got {nodes}", field=name)
    if node_count > 0 and nodes != node_count:
        raise BadInput(
            f"{field}: this annotation type demands {node_count} nodes, got {nodes}", field=name
        )
    x_min, x_max = min(xs.values()), max(xs.values())
    y_min, y_max = min(ys.values()), max(ys.values())
    if x_min < 0 or y_min < 0 or x_max > width or y_max > height:
        raise BadInput(
            f"{field}: coordinates ({x_min:g}, {y_min:g})-({x_max:g}, {y_max:g}) lie outside "
            f"the image (0, 0)-({width}, {height})",
            field=name,
        )
    return (x_min, y_min, x_max, y_max)


def check_name(value: Any, field: str = "name", *, max_length: int = MAX_NAME) -> str:
    """Return a stripped, non-empty name of at most ``max_length`` characters."""
    if not isinstance(value, str) or not value.strip():
        raise BadInput(f"{field}: expected a non-empty string, got {value!r}", field=field)
    if len(value) > max_length:
        raise BadInput(f"{field}: at most {max_length} characters, got {len(value)}", field=field)
    _no_nul(value, field)
    return value.strip()


def check_text(value: Any, field: str, *, max_length: int = MAX_DESCRIPTION) -> str:
    """Return a string of at most ``max_length`` characters (``None`` becomes ``""``)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput(f"{field}: expected a string, got {type(value).__name__}", field=field)
    if len(value) > max_length:
        raise BadInput(f"{field}: at most {max_length} characters, got {len(value)}", field=field)
    _no_nul(value, field)
    return value


def _no_nul(value: str, field: str) -> None:
    """PostgreSQL text cannot hold NUL: refuse it on every backend alike."""
    if "\x00" in value:
        raise BadInput(f"{field}: remove the NUL character (\\x00) from the text", field=field)


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


def check_meta(value: Any, field: str = "meta_data") -> Any:
    """Check that ``value`` is JSON-serialisable and at most :data:`MAX_META_BYTES` long."""
    if value is None:
        return None
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise BadInput(f"{field}: must be JSON-serialisable ({err})", field=field) from None
    if len(text) > MAX_META_BYTES:
        raise BadInput(
            f"{field}: {len(text)} bytes of JSON exceed the limit of {MAX_META_BYTES}", field=field
        )
    if "\\u0000" in text and _has_nul(value):  # PostgreSQL's jsonb refuses NUL in strings
        raise BadInput(f"{field}: remove the NUL characters (\\u0000) from the JSON", field=field)
    return json.loads(text)


def check_choice(value: Any, choices: type[Any], field: str) -> int:
    """Return ``int(value)`` when it is one of the codes of the IntEnum ``choices``."""
    codes = [int(c) for c in choices]
    if isinstance(value, bool) or not isinstance(value, int) or int(value) not in codes:
        raise BadInput(f"{field}: expected one of {codes}, got {value!r}", field=field)
    return int(value)


def check_color(value: Any, field: str = "color_code") -> str:
    """Return a ``#RRGGBB`` colour."""
    if not isinstance(value, str) or not _COLOR.match(value):
        raise BadInput(f"{field}: expected '#RRGGBB', got {value!r}", field=field)
    return value.upper()
