"""The viewer's request/response commands (``anywidget.experimental.command``).

The browser calls them with ``experimental.invoke("_cmd_<name>", msg)``. Every command answers,
also on failure: errors of exact_lab come back as ``{"error": kind, "message": ...}`` (a conflict
is shown in the widget, never retried over someone else's change), so the browser never waits
for an answer that will not come.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from anywidget.experimental import command

from exact_lab.errors import BadInput, Conflict, ExactLabError
from exact_lab.widgets._columns import detail_payload, points_vector
from exact_lab.widgets._density import cell_size, density_payload, region_counts
from exact_lab.widgets._edits import describe
from exact_lab.widgets._region import covers_image, region_rows

if TYPE_CHECKING:
    from exact_lab.widgets.viewer import SlideViewer

__all__ = [
    "CELL",
    "DETAIL_FLOOR",
    "DETAIL_LIMIT",
    "create",
    "delete",
    "describe_tiles",
    "detail_limit",
    "redo",
    "region",
    "thumbnail",
    "tile",
    "undo",
    "update",
]

log = logging.getLogger(__name__)
#: Above this many annotations in the requested region the browser gets a density grid.
DETAIL_LIMIT = 150_000
#: Screen density rule: detail while there is at least one CELL x CELL square of screen pixels
#: per annotation of the region (denser, shapes cannot be told apart and a grid says more) ...
CELL = 4
#: ... or while the region holds at most this many annotations, however small they look.
DETAIL_FLOOR = 2_000
#: EXACT's vector type of global (whole-image) labels.
GLOBAL = 7

Reply = tuple[Any, list[bytes]]
Handler = Callable[["SlideViewer", Any, list[bytes]], Reply]


def _answering(fn: Handler) -> Handler:
    @functools.wraps(fn)
    def wrapper(widget: SlideViewer, msg: Any, buffers: list[bytes]) -> Reply:
        try:
            return fn(widget, msg, buffers)
        except ExactLabError as err:
            if isinstance(err, Conflict):
                widget.message = f"Not saved: {err}"
            return describe(err), []
        except Exception as err:
            log.exception("viewer command %s failed", fn.__name__)
            return {"error": type(err).__name__, "message": str(err)}, []

    return command(wrapper)


def _image_id(widget: SlideViewer) -> int:
    if widget.image is None:
        raise BadInput("no image is shown")
    return widget.image.id


@_answering
def region(widget: SlideViewer, msg: Any, _buffers: list[bytes]) -> Reply:
    """Annotations intersecting ``msg["bbox"]`` as binary columns, or a density grid.

    The database counts the region's annotations per grid cell first (one ``GROUP BY``); only
    when they are few enough for the page's scale are their vectors read.
    """
    started = time.perf_counter()
    image = _image_id(widget)
    x0, y0, x1, y1 = (float(v) for v in msg["bbox"])
    bbox = (x0, y0, x1, y1)
    frame = int(msg.get("frame", widget.frame))
    frame_arg = frame if widget.image is not None and widget.image.frames > 1 else None
    size = (widget.image.width, widget.image.height) if widget.image is not None else (0, 0)
    cell = cell_size(x1 - x0, y1 - y0)
    whole = covers_image(bbox, *size)
    counts = widget._home_counts(image, frame_arg, cell) if whole else None  # noqa: SLF001
    if counts is None:
        window = None if whole else bbox
        counts = region_counts(widget.store, image, window, cell, frame=frame_arg)
    limit = detail_limit(bbox, msg.get("scale"), int(msg.get("limit", DETAIL_LIMIT)))
    if int(counts["count"].sum()) > limit:
        meta, buffers = density_payload(counts, bbox, cell)
    else:
        full = region_rows(widget.store, image, bbox, size=size, frame=frame_arg, with_vector=True)
        meta, buffers = detail_payload(full)
    meta.update(image=image, request=msg.get("request"), globals=_global_labels(widget, image))
    meta["took_ms"] = round((time.perf_counter() - started) * 1000, 1)  # for traces
    return meta, buffers


def detail_limit(bbox: tuple[float, float, float, float], scale: Any, limit: int) -> int:
    """How many annotations a region may hold and still be sent one by one.

    ``scale`` is the browser's screen pixels per level-0 pixel (None: not sent, only ``limit``
    counts). The whole of a 40,000 px slide in a 600 px widget (scale 0.015, 360,000 screen
    px²) keeps detail up to 22,500 annotations:

    >>> detail_limit((0, 0, 40_000, 40_000), 0.015, DETAIL_LIMIT)
    22500
    >>> detail_limit((0, 0, 40_000, 40_000), 0.0005, DETAIL_LIMIT)  # tiny on screen: the floor
    2000
    >>> detail_limit((0, 0, 1000, 1000), 4.0, DETAIL_LIMIT), detail_limit((0, 0, 1, 1), None, 5)
    (150000, 5)
    """
    if scale is None:
        return limit
    x0, y0, x1, y1 = bbox
    screen = (x1 - x0) * (y1 - y0) * float(scale) ** 2
    return min(limit, max(DETAIL_FLOOR, round(screen / CELL**2)))


def _global_labels(widget: SlideViewer, image: int) -> list[list[int]]:
    """``[id, type, revision]`` of the image's global (whole-image) labels.

    They have no place, so no region query finds them; the type picker shows them as ticks.
    """
    kinds = [row["id"] for row in widget.types if row["vector_type"] == GLOBAL]
    if not kinds:
        return []
    frame = widget.store.annotations(image=image, annotation_type=kinds, with_vector=False)
    return [
        [int(i), int(t), int(r)]
        for i, t, r in zip(frame["id"], frame["annotation_type"], frame["revision"], strict=True)
    ]


def _row(annotation: Any) -> dict[str, Any]:
    return {
        "id": annotation.id,
        "annotation_type": annotation.annotation_type,
        "revision": annotation.revision,
        "deleted": annotation.deleted,
    }


@_answering
def create(widget: SlideViewer, msg: Any, _buffers: list[bytes]) -> Reply:
    """Save a drawn annotation: ``{"type": id, "points": [x1, y1, ...]}`` (level-0 pixels)."""
    widget._forget_home()  # noqa: SLF001 - early counts no longer hold
    image = _image_id(widget)
    frame = widget.frame if widget.image is not None and widget.image.frames > 1 else None
    points = msg.get("points")
    vector = None if points is None else points_vector(points, frame)
    made = widget.editor.create(image, int(msg["type"]), vector)
    widget.message = ""
    return {"ok": _row(made)}, []


@_answering
def update(widget: SlideViewer, msg: Any, _buffers: list[bytes]) -> Reply:
    """Change one annotation seen at ``base_revision``: new ``points`` and/or ``type``."""
    widget._forget_home()  # noqa: SLF001 - early counts no longer hold
    changes: dict[str, Any] = {}
    if "points" in msg:
        frame = widget.frame if widget.image is not None and widget.image.frames > 1 else None
        changes["vector"] = points_vector(msg["points"], frame)
    if "type" in msg:
        changes["annotation_type"] = int(msg["type"])
    changed = widget.editor.update(
        int(msg["id"]), base_revision=int(msg["base_revision"]), **changes
    )
    widget.message = ""
    return {"ok": _row(changed)}, []


@_answering
def delete(widget: SlideViewer, msg: Any, _buffers: list[bytes]) -> Reply:
    """Soft-delete annotations: ``{"items": [[id, base_revision], ...]}``, one operation each."""
    widget._forget_home()  # noqa: SLF001 - early counts no longer hold
    done = []
    for ident, base in msg["items"]:
        done.append(_row(widget.editor.delete(int(ident), base_revision=int(base))))
    widget.selected = []
    widget.message = ""
    return {"ok": done}, []


@_answering
def undo(widget: SlideViewer, _msg: Any, _buffers: list[bytes]) -> Reply:
    """Undo the newest edit of this viewer."""
    widget._forget_home()  # noqa: SLF001 - early counts no longer hold
    changed = widget.editor.undo()
    widget.message = "" if changed else "Nothing to undo."
    return {"ok": None if changed is None else _row(changed)}, []


@_answering
def redo(widget: SlideViewer, _msg: Any, _buffers: list[bytes]) -> Reply:
    """Redo the newest undone edit."""
    widget._forget_home()  # noqa: SLF001 - early counts no longer hold
    changed = widget.editor.redo()
    widget.message = "" if changed else "Nothing to redo."
    return {"ok": None if changed is None else _row(changed)}, []


@_answering
def describe_tiles(widget: SlideViewer, _msg: Any, _buffers: list[bytes]) -> Reply:
    """Size and grid of the slide for tiles over the widget channel."""
    info, problem = widget._comm_tiles.safe_describe()  # noqa: SLF001 - the viewer's own helper
    if info is None:
        return {"error": "SlideReadError", "message": problem}, []
    return {"ok": info}, []


@_answering
def tile(widget: SlideViewer, msg: Any, _buffers: list[bytes]) -> Reply:
    """JPEG bytes of one DeepZoom tile of the shown image."""
    data = widget._comm_tiles.tile(  # noqa: SLF001
        int(msg["level"]), int(msg["x"]), int(msg["y"]), frame=int(msg.get("frame", widget.frame))
    )
    return {"ok": True}, [data]


@_answering
def thumbnail(widget: SlideViewer, msg: Any, _buffers: list[bytes]) -> Reply:
    """PNG thumbnail of an image of the viewer's set (the strip, when no extension serves it)."""
    ident = int(msg["image"])
    if ident not in {row["id"] for row in widget.images}:
        raise BadInput(f"image {ident} is not in this viewer's image set")
    size = min(max(int(msg.get("size", 96)), 16), 256)
    image = widget.store.image(ident)  # checks the store user's rights
    path = widget._slide_path(image)  # noqa: SLF001 - the viewer's own helper
    if path is None:
        return {"error": "SlideReadError", "message": "the kernel does not know this file"}, []
    data = widget._comm_tiles.service().thumbnail(path, max_size=size)  # noqa: SLF001
    return {"ok": True}, [data]
