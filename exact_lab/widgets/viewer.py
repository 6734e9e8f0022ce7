"""SlideViewer: a deep-zoom slide with annotation drawing, editing and live sync in a cell.

The browser half (one esbuild bundle, ``static/viewer.js``) shows the slide with OpenSeadragon and
draws annotations on one canvas. The kernel half owns the store: it answers region queries with
binary columns, saves every edit as one store operation with its base revision, keeps undo/redo,
and pushes changes from the store's change feed to the browser.

Examples
--------
>>> from exact_lab.store import connect
>>> store = connect("sqlite://", user="alice")
>>> team = store.create_team("Lab")
>>> product = store.create_product(team, "Mitosis")
>>> figure = store.create_annotation_type(product, "figure", vector_type=1, sort_order=1)
>>> cases = store.create_image_set(team, "Cases", products=[product])
>>> image = store.add_image(cases, "260101-0900-A1B2", width=4000, height=3000, mpp=0.25)
>>> viewer = SlideViewer(image, store=store, live=False)
>>> viewer.tool, viewer.active_type == figure.id, viewer.image_info["width"]
('bbox', True, 4000)
>>> viewer.add(figure, {"x1": 10, "y1": 10, "x2": 60, "y2": 60}).revision
1
>>> len(viewer.annotations)
1
>>> viewer.undo().deleted
True
>>> viewer.gamma = 0.7      # brighter mid-tones, on the slide's tiles only
>>> viewer.contrast = 12
Traceback (most recent call last):
...
traitlets.traitlets.TraitError: contrast: 12.0 is outside 0.0 to 3.0 (1.0 leaves the slide as it is)
>>> viewer.reset_filters()
>>> viewer.brightness, viewer.contrast, viewer.gamma
(0.0, 1.0, 1.0)
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anywidget
import pandas as pd
import traitlets
from ipywidgets import CallbackDispatcher

from exact_lab.entities import Annotation, Change, Image, ImageSet
from exact_lab.errors import ExactLabError
from exact_lab.store.abstract import Ref, Store, Subscription, ref
from exact_lab.widgets import _commands
from exact_lab.widgets._bundle import bundle
from exact_lab.widgets._density import HomeCounts, cell_size, concurrent_reads
from exact_lab.widgets._edits import Editor
from exact_lab.widgets._model import (
    FILTERS,
    TOOLS,
    check_filter,
    check_tool,
    image_info,
    tool_for,
    type_rows,
)
from exact_lab.widgets._tiles import CommTiles, dzi_path

__all__ = ["SlideViewer"]
log = logging.getLogger(__name__)

Target = Image | ImageSet | int


class SlideViewer(anywidget.AnyWidget):
    """Show and annotate the slides of an image (or image set) of a store.

    Parameters
    ----------
    target
        An :class:`~exact_lab.entities.Image` (or an image id) or an
        :class:`~exact_lab.entities.ImageSet` (its images, with previous/next navigation).
    store
        The store to read and write through (default: ``exact_lab.connect()``).
    height
        Height of the viewer in CSS pixels.
    tool, active_type
        The initial tool (``"select"``, ``"bbox"``, ``"point"``, ``"fixed"``, ``"line"``,
        ``"multiline"``, ``"polygon"``, ``"freehand"``, ``"global"``) and annotation type.
    tiles
        ``"auto"`` (HTTP from the server extension, else over the widget channel), ``"http"``
        or ``"comm"``.
    live
        Follow the store's change feed, so edits by others appear without a reload.
    """

    _esm = bundle("viewer")

    height = traitlets.Int(600).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    #: The shown image: id, name, width, height, mpp, frames, index and count in its set.
    image_info = traitlets.Dict().tag(sync=True)
    #: The images that previous/next walk through: ``[{"id":..,"name":..}, ...]``.
    images: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    image_index = traitlets.Int(0).tag(sync=True)
    frame = traitlets.Int(1).tag(sync=True)
    dzi_url = traitlets.Unicode("").tag(sync=True)
    tile_mode = traitlets.Unicode("auto").tag(sync=True)
    comm_tiles = traitlets.Dict().tag(sync=True)
    #: Annotation types of the set's products, ordered by sort order (the type picker).
    types: traitlets.List[dict[str, Any]] = traitlets.List().tag(sync=True)
    tool = traitlets.Unicode("select").tag(sync=True)
    active_type = traitlets.Int(None, allow_none=True).tag(sync=True)
    #: Ids of the selected annotations.
    selected = traitlets.List(traitlets.Int()).tag(sync=True)
    #: The visible region in level-0 pixels: ``{"x", "y", "width", "height", "zoom"}``.
    viewport = traitlets.Dict().tag(sync=True)
    annotations_visible = traitlets.Bool(default_value=True).tag(sync=True)
    #: The last error shown in the widget (no access, unreadable slide); "" if none.
    error = traitlets.Unicode("").tag(sync=True)
    #: The last notice shown (for example a conflicting edit); "" if none.
    message = traitlets.Unicode("").tag(sync=True)
    user = traitlets.Dict().tag(sync=True)
    blind = traitlets.Bool(default_value=False).tag(sync=True)
    #: Added to every channel of the slide's tiles (-1 to 1; 0: unchanged).
    brightness = traitlets.Float(FILTERS["brightness"][2]).tag(sync=True)
    #: Stretches the tiles' values around mid-grey (0 to 3; 1: unchanged).
    contrast = traitlets.Float(FILTERS["contrast"][2]).tag(sync=True)
    #: Exponent on the tiles' values (0.2 to 5; 1: unchanged; below 1 brightens mid-tones).
    gamma = traitlets.Float(FILTERS["gamma"][2]).tag(sync=True)

    def __init__(
        self,
        target: Target,
        *,
        store: Store | None = None,
        height: int = 600,
        tool: str | None = None,
        active_type: Ref | None = None,
        tiles: str = "auto",
        live: bool = True,
    ) -> None:
        if tiles not in {"auto", "http", "comm"}:
            raise ValueError(f"tiles: expected 'auto', 'http' or 'comm', got {tiles!r}")
        super().__init__(height=height, tile_mode=tiles)
        if store is None:
            from exact_lab.store import connect  # noqa: PLC0415 - only without a store

            store = connect()
        self.store = store
        self.editor = Editor(store)
        self._change_handlers = CallbackDispatcher()
        self._select_handlers = CallbackDispatcher()
        self._subscription: Subscription | None = None
        self._image: Image | None = None
        self._comm_tiles = CommTiles(None)
        self._home: HomeCounts | None = None
        self.on_msg(self._on_custom_msg)
        self.user = {"id": store.user.id, "username": store.user.username}
        self._open_target(target)
        if self.error:
            return
        if active_type is not None:
            self.active_type = ref(active_type)
        if tool is not None:
            self.tool = tool
        elif self.active_type is not None:
            self.tool = tool_for(self._type_row(self.active_type)["vector_type"])
        if live:
            self._subscribe()

    # ------------------------------------------------------------------ opening
    def _open_target(self, target: Target) -> None:
        try:
            if isinstance(target, ImageSet):
                image_set = self.store.image_set(target.id)
                images = self.store.images(image_set)
                if not images:
                    self.error = f"The image set {image_set.name!r} holds no images."
                    return
                first = images[0]
            elif isinstance(target, (Image, int)) and not isinstance(target, bool):
                first = self.store.image(ref(target))
                image_set = self.store.image_set(first.image_set)
                images = self.store.images(image_set)
            else:
                raise TypeError(
                    f"SlideViewer shows an Image or an ImageSet, not {type(target).__name__}"
                )
            self._image_set = image_set
            self.blind = image_set.collaboration_type == 1
            self.images = [{"id": i.id, "name": i.name} for i in images]
            rows = type_rows(self.store.annotation_types(image_set=image_set))
            self.types = rows
            usable = [r for r in rows if r["vector_type"] != 7]  # noqa: PLR2004 - global labels
            main = image_set.main_annotation_type
            self.active_type = (
                main
                if main in {r["id"] for r in rows}
                else (usable or rows or [{"id": None}])[0]["id"]
            )
            self.tool = (
                tool_for(self._type_row(self.active_type)["vector_type"])
                if self.active_type
                else "select"
            )
            self._show(next(i for i, img in enumerate(images) if img.id == first.id))
        except ExactLabError as err:
            self.error = f"You cannot open this slide: {err}"

    def _show(self, index: int) -> None:
        """Show ``self.images[index]``."""
        ident = self.images[index]["id"]
        try:
            image = self.store.image(ident)
        except ExactLabError as err:
            self.error = f"You cannot open this slide: {err}"
            return
        self._image = image
        self.selected = []
        self.frame = min(max(1, image.default_frame or 1), max(1, image.frames))
        self.image_info = image_info(
            image, index=index, count=len(self.images), set_name=self._image_set.name
        )
        self.title = f"{self._image_set.name} · {image.name}"
        self._comm_tiles = CommTiles(self._slide_path(image))
        self.comm_tiles = {"available": self._comm_tiles.available}
        if self.image_index != index:
            self.image_index = index
        self.error = ""
        self.dzi_url = dzi_path(image.id, frame=self.frame)
        # the home view's region is the whole image: count it while the page loads
        frame = self.frame if image.frames > 1 else None
        self._home = (
            HomeCounts(self.store, image.id, cell_size(image.width, image.height), frame=frame)
            if concurrent_reads(self.store)
            else None
        )

    def _slide_path(self, image: Image) -> str | None:
        """Return the slide file for tiles over the widget channel (trusted stores only)."""
        if image.path:
            return image.path
        try:
            team = self.store.image_set(image.image_set).team
            for member in self.store.memberships(team):
                if member.is_admin:
                    path = self.store.as_user(member.username).image(image.id).path
                    if path:
                        return path
        except (ExactLabError, NotImplementedError):
            return None
        return None

    @traitlets.observe("image_index")
    def _image_index_changed(self, change: dict[str, Any]) -> None:
        index = int(change["new"])
        if (
            self._image is not None
            and 0 <= index < len(self.images)
            and self.images[index]["id"] != self._image.id
        ):
            self._show(index)

    @traitlets.observe("frame")
    def _frame_changed(self, change: dict[str, Any]) -> None:
        if self._image is not None:
            self.dzi_url = dzi_path(self._image.id, frame=int(change["new"]))

    @traitlets.validate("brightness", "contrast", "gamma")
    def _check_filter(self, proposal: dict[str, Any]) -> float:
        return check_filter(proposal["trait"].name, proposal["value"])

    @traitlets.validate("frame")
    def _check_frame(self, proposal: dict[str, Any]) -> int:
        frame = int(proposal["value"])
        count = max(1, self._image.frames) if self._image is not None else 1
        if not 1 <= frame <= count:
            raise traitlets.TraitError(
                f"frame: {frame} is outside 1 to {count} (frames count from 1; "
                f"this image has {count} frame{'s' if count > 1 else ''})"
            )
        return frame

    @traitlets.validate("tool")
    def _check_tool(self, proposal: dict[str, Any]) -> str:
        return check_tool(str(proposal["value"]))

    @traitlets.observe("tool")
    def _tool_changed(self, change: dict[str, Any]) -> None:
        """Pick a type that the tool can draw when the active one cannot."""
        wanted = TOOLS[change["new"]]
        if wanted is None or self.active_type is None:
            return
        if self._type_row(self.active_type)["vector_type"] != wanted:
            for row in self.types:
                if row["vector_type"] == wanted:
                    self.active_type = row["id"]
                    break

    @traitlets.observe("selected")
    def _selected_changed(self, change: dict[str, Any]) -> None:
        self._select_handlers(list(change["new"]))

    def _type_row(self, type_id: int | None) -> dict[str, Any]:
        for row in self.types:
            if row["id"] == type_id:
                return dict(row)
        return {"id": type_id, "vector_type": 0}

    # ------------------------------------------------------------------ the Python API
    @property
    def image(self) -> Image | None:
        """The image shown."""
        return self._image

    @property
    def annotations(self) -> pd.DataFrame:
        """The shown image's annotations (one row each, the store's columns)."""
        if self._image is None:
            from exact_lab.store.frames import empty_frame  # noqa: PLC0415 - rare path

            return empty_frame()
        frame: pd.DataFrame = self.store.annotations(image=self._image.id)
        return frame

    def goto(
        self,
        target: Ref | tuple[float, float] | tuple[float, float, float, float] | None = None,
        *,
        image: Ref | None = None,
    ) -> None:
        """Move the view to an annotation, a point, a region and/or another image of the set.

        ``target`` is an annotation (id or entity), a point ``(x, y)`` or a region
        ``(x0, y0, x1, y1)`` in level-0 pixels; ``image`` is an image of the viewer's set.
        """
        if image is not None:
            ident = ref(image)
            index = next((i for i, row in enumerate(self.images) if row["id"] == ident), None)
            if index is None:
                raise ValueError(f"image {ident} is not in this viewer's image set")
            self.image_index = index
        if target is None:
            return
        if isinstance(target, tuple):
            values = [float(v) for v in target]
            if len(values) == 2:  # noqa: PLR2004
                half = 256.0
                values = [values[0] - half, values[1] - half, values[0] + half, values[1] + half]
            bbox = values
        else:
            found = self.store.annotation(target)
            if self._image is None or found.image != self._image.id:
                self.goto(image=found.image)
            pad = 0.25 * max(
                (found.x_max or 0) - (found.x_min or 0), (found.y_max or 0) - (found.y_min or 0), 64
            )
            bbox = [
                (found.x_min or 0) - pad,
                (found.y_min or 0) - pad,
                (found.x_max or 0) + pad,
                (found.y_max or 0) + pad,
            ]
            self.selected = [found.id]
        self.send({"kind": "goto", "bbox": bbox})

    def reset_filters(self) -> None:
        """Show the slide's own pixels again (brightness 0, contrast 1, gamma 1)."""
        with self.hold_sync():
            for name, (_low, _high, neutral) in FILTERS.items():
                setattr(self, name, neutral)

    def next_image(self) -> None:
        """Show the next image of the set (stays on the last)."""
        self.image_index = min(self.image_index + 1, len(self.images) - 1)

    def previous_image(self) -> None:
        """Show the previous image of the set (stays on the first)."""
        self.image_index = max(self.image_index - 1, 0)

    def add(self, annotation_type: Ref, vector: Any, **fields: Any) -> Annotation:
        """Add an annotation to the shown image (undoable, like a drawing)."""
        if self._image is None:
            raise ValueError("no image is shown")
        made = self.editor.create(self._image.id, annotation_type, vector, **fields)
        self._refresh()
        return made

    def undo(self) -> Annotation | None:
        """Undo the newest edit made in this viewer (a store operation; Conflict if stale)."""
        done = self.editor.undo()
        self._refresh()
        return done

    def redo(self) -> Annotation | None:
        """Redo the newest undone edit."""
        done = self.editor.redo()
        self._refresh()
        return done

    def on_change(self, callback: Callable[[Change], None], *, remove: bool = False) -> None:
        """Call ``callback(change)`` for every committed annotation change of the shown set.

        Changes come from the store's change feed: this viewer's edits and everyone else's.
        """
        self._change_handlers.register_callback(callback, remove=remove)

    def on_select(self, callback: Callable[[list[int]], None], *, remove: bool = False) -> None:
        """Call ``callback(ids)`` whenever the selection changes."""
        self._select_handlers.register_callback(callback, remove=remove)

    def close(self) -> None:
        """Stop following the change feed and close the widget."""
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        super().close()

    # ------------------------------------------------------------------ live updates
    def _subscribe(self) -> None:
        try:
            self._subscription = self.store.subscribe(
                self._on_store_change, image_set=self._image_set.id
            )
        except ExactLabError as err:  # pragma: no cover - depends on the store
            log.warning("no live updates: %s", err)

    def _on_store_change(self, change: Change) -> None:
        if change.kind != "annotation":
            return
        self._forget_home()
        if self._image is not None and change.image in (None, self._image.id):
            self._refresh(change)
        try:
            self._change_handlers(change)
        except Exception:
            log.exception("an on_change callback failed")

    def _home_counts(self, image: int, frame: int | None, cell: float) -> pd.DataFrame | None:
        """Return the whole image's early counts if they match and nothing changed since."""
        return None if self._home is None else self._home.take(image, frame, cell)

    def _forget_home(self) -> None:
        if self._home is not None:
            self._home.stale()

    def _refresh(self, change: Change | None = None) -> None:
        self._forget_home()
        payload: dict[str, Any] = {"kind": "refresh"}
        if change is not None:
            payload.update(action=change.action, ids=list(change.ids), user=change.user)
        try:
            self.send(payload)
        except Exception:
            log.debug("refresh not sent", exc_info=True)

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: list[bytes]) -> None:
        if isinstance(content, dict) and content.get("kind") == "select":
            self.selected = [int(i) for i in content.get("ids", [])]

    # ------------------------------------------------------------------ browser requests
    # anywidget commands (``experimental.invoke("_cmd_...")`` in the bundle)
    _cmd_region = _commands.region
    _cmd_create = _commands.create
    _cmd_update = _commands.update
    _cmd_delete = _commands.delete
    _cmd_undo = _commands.undo
    _cmd_redo = _commands.redo
    _cmd_tile = _commands.tile
    _cmd_describe_tiles = _commands.describe_tiles
    _cmd_thumbnail = _commands.thumbnail

    def __repr__(self) -> str:
        """Cheap: no trait serialisation."""
        name = self._image.name if self._image is not None else "-"
        return (
            f"SlideViewer(image={name!r}, tool={self.tool!r}, user={self.user.get('username')!r})"
        )
