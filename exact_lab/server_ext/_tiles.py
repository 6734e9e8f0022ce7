"""Slide pixels over HTTP at EXACT's paths: DZI, tiles, thumbnail, slide information, patches.

Every request checks that the user may see the image (outsiders get 404 and no bytes), then
reads pixels in the executor. Tiles and thumbnails carry a strong ETag derived from the image's
checksum and the tile address, so a browser revalidates with ``If-None-Match`` and gets 304
without any pixel work.

Tiles have a fast path that stays on the event loop: when the user's permission for the image
was granted moments ago (:mod:`exact_lab.server_ext._permits`, dropped by the change feed when
access changes) and the tile needs neither disk nor pixel work (an encoded-tile cache hit, or a
pass-through JPEG that the operating system holds in memory), the answer goes out without a
thread hop. Anything else (first check, cold disk, re-encoding, any error) goes to the executor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_server.prometheus.log_functions import prometheus_log_method
from tornado import web

from exact_lab.entities import Image
from exact_lab.errors import BadInput, ExactLabError, NotFound
from exact_lab.server_ext._base import ExactHandler
from exact_lab.server_ext._pad import needs_padding, pad_tile
from exact_lab.tiles import Tile

__all__ = [
    "DziHandler",
    "GetPatchHandler",
    "Grant",
    "SlideInformationHandler",
    "ThumbnailHandler",
    "TileHandler",
    "tile_routes",
]

MAX_ID = 2**31 - 1
#: Jupyter's request-duration metric (the part of its access log that tiles keep).
record_metric: Callable[[web.RequestHandler], None] = prometheus_log_method
CACHE_CONTROL = "private, max-age=86400"


def parse_id(text: str, what: str = "image") -> int:
    """Return an id from a URL; ids beyond the database's range cannot exist (404)."""
    value = int(text)
    if value > MAX_ID:
        raise NotFound(f"No {what} matches the given query.")
    return value


def frame_index(z: str, frame: str) -> int:
    """0-based frame of EXACT's 1-based ``z`` and ``frame`` (one of them must be 1).

    >>> frame_index("1", "1"), frame_index("1", "3"), frame_index("2", "1")
    (0, 2, 1)
    """
    z_value, f_value = int(z), int(frame)
    if z_value < 1 or f_value < 1:
        raise BadInput("z and frame are 1-based: use /1/1/ for the first frame", field="frame")
    if z_value > 1 and f_value > 1:
        raise BadInput("give either a z-level or a frame above 1, not both", field="frame")
    return max(z_value, f_value) - 1


def scrub_file_names(message: str, image: Image, path: str) -> str:
    """Replace a slide's path and file name in ``message`` by the image's public name.

    The original name and path of a slide may identify a patient; the store shows them to team
    admins only, so errors served to other members must not carry them either.

    >>> from types import SimpleNamespace
    >>> image = SimpleNamespace(id=7, name="260101-0900-A1B2")
    >>> scrub_file_names("/data/Smith_John.svs: not a slide", image, "/data/Smith_John.svs")
    'the file of image 7 (260101-0900-A1B2): not a slide'
    """
    public = f"the file of image {image.id} ({image.name})"
    candidates = {path, str(Path(path).resolve()), Path(path).name}
    for text in sorted(candidates, key=len, reverse=True):
        if text:
            message = message.replace(text, public)
    return message


@dataclass(frozen=True)
class Grant:
    """A granted check: the user may see ``image``, whose file is ``path``.

    ``stem`` hashes the image's id and checksum once; tile ETags append the tile address to it.
    """

    image: Image
    path: str
    stem: str

    @classmethod
    def of(cls, image: Image, path: str) -> Grant:
        """Return the grant of ``image`` (as the user read it) stored at ``path``."""
        stamp = image.checksum or image.created_at.isoformat()
        stem = hashlib.sha1(f"{image.id}/{stamp}".encode()).hexdigest()[:20]  # noqa: S324
        return cls(image, path, stem)


class _SlideHandler(ExactHandler):
    """Resolve an image the user may see to its file (in the executor)."""

    #: The image and file of this request, once resolved (for scrubbing error messages).
    _slide: tuple[Image, str] | None = None

    def _handle_request_exception(self, e: BaseException) -> None:
        """Serve slide errors to non-admins without the private file name and path."""
        if isinstance(e, ExactLabError) and self._slide is not None:
            image, path = self._slide
            if not image.path:  # the store hid the path: the user is not a team admin
                e.args = (scrub_file_names(str(e), image, path), *e.args[1:])
        super()._handle_request_exception(e)

    async def image_and_path(self, image_id: str) -> tuple[Image, str]:
        ident = parse_id(image_id)
        grant = self.granted(ident)
        if grant is None:
            grant = await self.run(self.lookup, ident)
        return grant.image, grant.path

    def granted(self, ident: int) -> Grant | None:
        """Return the user's recent grant for image ``ident`` (lock-free, on the event loop)."""
        grant: Grant | None = self.state.permits.get(self.exact_username, ident)
        if grant is not None:
            self._slide = grant.image, grant.path
        return grant

    def lookup(self, ident: int) -> Grant:
        """Read the image as the user (the permission check) and find its file (blocking).

        A grant is reused for ``ExactLabApp.permission_ttl`` seconds per user and image, or
        until the change feed reports a change of access; refusals are never reused.
        """
        grant = self.granted(ident)
        if grant is not None:
            return grant
        state = self.state
        permits = state.permits
        permits.watch(state.root)
        generation = permits.generation  # read before the check: see Permits.put
        store = self.store
        image = store.image(ident)
        grant = Grant.of(image, state.image_path(store, image))
        permits.put(self.exact_username, ident, grant, generation)
        self._slide = grant.image, grant.path
        return grant

    def etag(self, image: Image, *parts: Any) -> str:
        """Return the strong ETag of a resource of ``image``."""
        stamp = image.checksum or image.created_at.isoformat()
        key = "/".join(str(p) for p in (image.id, stamp, *parts))
        return f'"{hashlib.sha1(key.encode()).hexdigest()}"'  # noqa: S324

    def cache_headers(self, image: Image, *parts: Any) -> bool:
        """Set ETag and Cache-Control; return True when the client's copy is current."""
        self.set_header("ETag", self.etag(image, *parts))
        self.set_header("Cache-Control", CACHE_CONTROL)
        return bool(self.check_etag_header())

    def not_modified(self) -> None:
        self.set_status(304)
        self.finish()


class DziHandler(_SlideHandler):
    """``GET images/images/{id}/{z}/{frame}/tile/``: the DeepZoom descriptor (XML)."""

    async def get(self, image_id: str, z: str, frame: str) -> None:
        """Answer with the DZI XML."""
        frame_index(z, frame)
        image, path = await self.image_and_path(image_id)
        tiles = self.state.tiles
        fmt = self.get_query_argument("format", "jpeg")
        if self.cache_headers(image, "dzi", fmt, tiles.tile_size, tiles.overlap):
            self.not_modified()
            return
        xml = await self.run(lambda: tiles.dzi(path, image_format=fmt))
        self.set_header("Content-Type", "application/xml; charset=utf-8")
        self.finish(xml)


class TileHandler(_SlideHandler):
    """``GET images/images/{id}/{z}/{frame}/tile_files/{level}/{col}_{row}.{jpeg|png|webp}``."""

    async def get(  # noqa: PLR0917 - one per URL part
        self, image_id: str, z: str, frame: str, level: str, col: str, row: str, fmt: str
    ) -> None:
        """Answer with the tile's bytes (on the event loop when that needs no waiting)."""
        index = frame_index(z, frame)
        ident, lvl, c, r = parse_id(image_id), int(level), int(col), int(row)
        tiles = self.state.tiles
        # ?pad=1: edge tiles grown to the full tile size (Leaflet stretches each tile to it)
        self._pad_to = tiles.tile_size if self.get_query_argument("pad", "") == "1" else 0
        address = f"{index}-{tiles.tile_size}-{tiles.overlap}-{lvl}-{c}-{r}-{fmt}"
        address += "-pad" if self._pad_to else ""
        known = self.request.headers.get("If-None-Match", "")
        grant = self.granted(ident)
        if grant is not None:  # fast path: no thread hop
            etag = f'"{grant.stem}-{address}"'
            if etag in known:
                self._answer(etag, None)
                return
            tile = tiles.tile_nowait(grant.path, lvl, c, r, frame=index, image_format=fmt)
            # an edge tile to pad needs pixel work: that goes to the executor below
            if tile is not None and not (self._pad_to and needs_padding(tile, self._pad_to)):
                self._answer(etag, tile)
                return

        def work() -> tuple[str, Tile | None]:  # one executor hop: check, then pixels
            found = self.lookup(ident)
            etag = f'"{found.stem}-{address}"'
            if etag in known:
                return etag, None
            tile = tiles.tile(found.path, lvl, c, r, frame=index, image_format=fmt)
            return etag, pad_tile(tile, self._pad_to) if self._pad_to else tile

        self._answer(*await self.run(work))

    def _log(self) -> None:
        """Count every tile in Jupyter's request metric; write log lines for failures only.

        A viewer fetches hundreds of tiles a second, and Jupyter's access log builds a debug
        record for each (dropped at its default level): a tenth of a tile's cost here.
        """
        if self.get_status() in {200, 304}:
            record_metric(self)
            return
        super()._log()

    def _answer(self, etag: str, tile: Tile | None) -> None:
        """Finish with the tile, or with 304 when ``tile`` is None (the client's is current)."""
        self.set_header("ETag", etag)
        self.set_header("Cache-Control", CACHE_CONTROL)
        if tile is None:
            self.not_modified()
            return
        self.set_header("Content-Type", tile.media_type)
        self.finish(tile.data)


class ThumbnailHandler(_SlideHandler):
    """``GET images/images/{id}/thumbnail/``: a PNG of at most 128 px (``?size=`` up to 1024)."""

    async def get(self, image_id: str) -> None:
        """Answer with the thumbnail PNG."""
        size = _int_argument(self, "size", 128, low=8, high=1024)
        image, path = await self.image_and_path(image_id)
        if self.cache_headers(image, "thumbnail", size):
            self.not_modified()
            return
        data = await self.run(lambda: self.state.tiles.thumbnail(path, max_size=size))
        self.set_header("Content-Type", "image/png")
        self.finish(data)


class SlideInformationHandler(_SlideHandler):
    """``GET images/images/{id}/slide_information/``: EXACT's levels and DeepZoom tile counts."""

    async def get(self, image_id: str) -> None:
        """Answer with the slide information JSON."""
        image, path = await self.image_and_path(image_id)
        info = await self.run(lambda: self.state.tiles.slide_information(path))
        self.write_json({"id": str(image.id), **info})


class GetPatchHandler(_SlideHandler):
    """``GET images/images/{id}/get_patch/?x&y&level&width&height[&frame]`` → PNG (≤ 2048²)."""

    async def get(self, image_id: str) -> None:
        """Answer with the patch PNG."""
        args = {
            name: _int_argument(self, name, None, low=0)
            for name in ("x", "y", "level", "width", "height")
        }
        frame = _int_argument(self, "frame", 1, low=1)
        _image, path = await self.image_and_path(image_id)
        data = await self.run(lambda: self.state.tiles.get_patch(path, frame=frame - 1, **args))
        self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", CACHE_CONTROL)
        self.finish(data)


def _int_argument(
    handler: web.RequestHandler, name: str, default: int | None, *, low: int, high: int = MAX_ID
) -> int:
    raw = handler.get_query_argument(name, None)
    if raw is None:
        if default is None:
            raise BadInput(f"{name}: this query parameter is required", field=name)
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadInput(f"{name}: expected an integer, got {raw!r}", field=name) from None
    if not low <= value <= high:
        raise BadInput(f"{name}: expected {low}..{high}, got {value}", field=name)
    return value


def tile_routes(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """Routes below ``prefix`` (``/exact/api/v1/images/images``), with or without a final slash."""
    image = rf"{prefix}/(\d{{1,18}})"
    zf = rf"{image}/(\d{{1,9}})/(\d{{1,9}})"
    tile = r"(\d{1,4})/(\d{1,9})_(\d{1,9})\.(jpeg|jpg|png|webp)"
    return [
        (rf"{zf}/tile/?", DziHandler),
        (rf"{zf}/tile(?:_files|/_files)/{tile}/?", TileHandler),
        (rf"{image}/thumbnail/?", ThumbnailHandler),
        (rf"{image}/slide_information/?", SlideInformationHandler),
        (rf"{image}/get_patch/?", GetPatchHandler),
    ]
