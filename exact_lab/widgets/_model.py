"""Plain data the viewer syncs to the browser: tools, the type picker, image facts.

Examples
--------
>>> tool_for(5), tool_for(2), TOOLS["fixed"]
('polygon', 'point', 6)
>>> check_tool("rectangle")
Traceback (most recent call last):
...
traitlets.traitlets.TraitError: tool: 'rectangle' is not one of select, bbox, point, ...
>>> check_filter("gamma", 0.5)
0.5
>>> check_filter("contrast", 9)
Traceback (most recent call last):
...
traitlets.traitlets.TraitError: contrast: 9.0 is outside 0.0 to 3.0 (1.0 leaves the slide as it is)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import traitlets

from exact_lab.entities import AnnotationType, Image

__all__ = ["FILTERS", "TOOLS", "check_filter", "check_tool", "image_info", "tool_for", "type_rows"]

#: Tool name -> the EXACT vector_type it draws (None: select).
TOOLS: dict[str, int | None] = {
    "select": None,
    "bbox": 1,
    "point": 2,
    "fixed": 6,
    "line": 3,
    "multiline": 4,
    "polygon": 5,
    "freehand": 5,
    "global": 7,
}
_DEFAULT_TOOL = {
    1: "bbox",
    2: "point",
    3: "line",
    4: "multiline",
    5: "polygon",
    6: "fixed",
    7: "global",
}


#: Slide filters: name -> (lowest, highest, neutral). The browser applies them to the tiles only:
#: ``out = contrast * (in ** gamma - 0.5) + 0.5 + brightness`` per channel, values in 0..1, so a
#: gamma below 1 brightens mid-tones and above 1 darkens them.
FILTERS: dict[str, tuple[float, float, float]] = {
    "brightness": (-1.0, 1.0, 0.0),
    "contrast": (0.0, 3.0, 1.0),
    "gamma": (0.2, 5.0, 1.0),
}


def check_filter(name: str, value: float) -> float:
    """Return ``value`` as a float if it lies in the filter's range, else raise TraitError."""
    low, high, neutral = FILTERS[name]
    number = float(value)
    if not low <= number <= high:  # also rejects NaN
        raise traitlets.TraitError(
            f"{name}: {number} is outside {low} to {high} ({neutral} leaves the slide as it is)"
        )
    return number


def tool_for(vector_type: int) -> str:
    """Return the natural tool of a vector type (``select`` for types the viewer cannot draw)."""
    return _DEFAULT_TOOL.get(int(vector_type), "select")


def check_tool(name: str) -> str:
    """Return ``name`` if it is a tool, else raise TraitError naming the tools."""
    if name not in TOOLS:
        raise traitlets.TraitError(f"tool: {name!r} is not one of {', '.join(TOOLS)}")
    return name


def type_rows(types: Iterable[AnnotationType]) -> list[dict[str, Any]]:
    """Active types ordered by sort order then name, with their shortcut keys.

    A type without its own ``keyboard_shortcut`` gets the digit of its place (1-9, then 0), as
    EXACT's number keys do.
    """
    active = sorted(
        (t for t in types if t.active), key=lambda t: (t.sort_order, t.name.lower(), t.id)
    )
    rows = []
    for place, t in enumerate(active):
        digit = str((place + 1) % 10) if place < 10 else ""  # noqa: PLR2004 - ten digit keys
        rows.append(
            {
                "id": t.id,
                "name": t.name,
                "color": t.color_code,
                "vector_type": t.vector_type,
                "default_width": t.default_width,
                "default_height": t.default_height,
                "sort_order": t.sort_order,
                "closed": t.closed,
                "key": t.keyboard_shortcut or digit,
                "product": t.product,
            }
        )
    return rows


def image_info(image: Image, *, index: int, count: int, set_name: str) -> dict[str, Any]:
    """Return what the browser shows of an image (never its private path or original name)."""
    return {
        "id": image.id,
        "name": image.name,
        "width": image.width,
        "height": image.height,
        "mpp": image.mpp,
        "frames": image.frames,
        "index": index,
        "count": count,
        "set": image.image_set,
        "set_name": set_name,
    }
