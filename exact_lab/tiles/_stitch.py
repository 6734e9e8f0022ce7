"""Re-encode a DeepZoom tile straight from the stored JPEG tiles it overlaps.

A DeepZoom tile that does not coincide with one stored tile (EXACT's 254/1 grid, edge tiles,
grids of another tile size) is built here from the stored JPEG tiles of a TIFF level: each
overlapped stored tile is decoded by libjpeg-turbo (through Pillow) straight to RGB, the
needed part is pasted, and the result is encoded once. This skips OpenSlide's ARGB decode,
its cairo compositing and the RGBA → RGB copies of ``DeepZoomGenerator``.

A DeepZoom level without a stored level of its own is read from the stored level 2, 4 or 8
times larger, decoded at 1/2, 1/4 or 1/8 scale by the JPEG decoder itself (DCT scaling,
Pillow's ``draft``): far less work than decoding at full size and resizing.

Decoded stored tiles are kept in a small LRU bounded in bytes, so neighbouring DeepZoom tiles
(a viewer panning) do not decode the stored tiles they share again.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "p.tiff"
>>> pyvips.Image.black(600, 500).bandjoin([0, 0]).copy(interpretation="srgb").tiffsave(
...     str(path), tile=True, tile_width=256, tile_height=256, pyramid=True, compression="jpeg")
>>> from exact_lab.tiles import RawTiles
>>> raw = RawTiles.open(path, [(600, 500)])
>>> stitcher = Stitcher(raw, DecodedLRU(1 << 20))
>>> stitcher.region(0, (253, 253, 256, 256), scale=1).size
(256, 256)
>>> stitcher.region(0, (0, 0, 150, 125), scale=4).size  # 1/4 scale, from the DCT
(150, 125)
>>> raw.close()
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from collections.abc import Hashable

from PIL import Image, ImageFile

from ._passthrough import RawTiles

__all__ = ["MAX_SCALE", "DecodedLRU", "Stitcher"]

#: Largest downscale the JPEG decoder does by itself (libjpeg's DCT scaling stops at 1/8).
MAX_SCALE = 8


class DecodedLRU:
    """A least-recently-used cache of decoded RGB tiles bounded by their pixel bytes.

    ``max_bytes == 0`` disables it.

    Examples
    --------
    >>> cache = DecodedLRU(3 * 16 * 16 * 2)
    >>> for key in "abc":
    ...     cache.put(key, Image.new("RGB", (16, 16)))
    >>> cache.get("a") is None, cache.get("c") is not None, cache.size_bytes
    (True, True, 1536)
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, Image.Image] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    @property
    def size_bytes(self) -> int:
        """Sum of the pixel bytes of the cached tiles."""
        return self._size

    def __len__(self) -> int:
        """Return the number of cached tiles."""
        return len(self._items)

    def get(self, key: Hashable) -> Image.Image | None:
        """Return the cached tile for ``key`` (marking it recently used), or ``None``."""
        if self.max_bytes == 0:
            return None
        with self._lock:
            image = self._items.get(key)
            if image is not None:
                self._items.move_to_end(key)
            return image

    def put(self, key: Hashable, image: Image.Image) -> None:
        """Store ``image``, evicting least recently used tiles to stay within the bound."""
        size = _nbytes(image)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= _nbytes(old)
            self._items[key] = image
            self._size += size
            while self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= _nbytes(evicted)

    def clear(self) -> None:
        """Drop every cached tile."""
        with self._lock:
            self._items.clear()
            self._size = 0


def _nbytes(image: Image.Image) -> int:
    return image.width * image.height * len(image.getbands())


class Stitcher:
    """Build regions of a stored JPEG-tiled level from its decoded tiles.

    Parameters
    ----------
    raw
        The stored tiles of one TIFF file (one frame).
    cache
        Decoded-tile cache; it may be shared between stitchers.
    ident
        Identifies ``raw`` in ``cache`` keys: unique per opened file (a replaced file at the
        same path must not be served from tiles decoded from the old one).
    """

    def __init__(self, raw: RawTiles, cache: DecodedLRU, ident: Hashable = None) -> None:
        self.raw = raw
        self.cache = cache
        self.ident = (str(raw.path), id(raw)) if ident is None else ident

    def decoded(
        self, level: int, col: int, row: int, scale: int, rows: int | None = None
    ) -> Image.Image | None:
        """Return stored tile ``(col, row)`` of ``level`` decoded to RGB at ``1/scale``.

        ``rows`` asks for the top rows only: without a cache the decoder stops there (the
        stored tile below a DeepZoom tile is often needed for a few rows only); with a cache
        the whole tile is decoded, as the DeepZoom tile below will need the rest. The result
        may have more rows. ``None`` when the tile is not stored (sparse) or the decoder does
        not give the size expected (then the caller falls back to another reader).
        """
        key = (self.ident, level, col, row, scale)
        image = self.cache.get(key)
        if image is not None:
            return image
        if self.cache.max_bytes:
            rows = None
        data = self.raw.get(level, col, row)
        tile_size = self.raw.level_tile_size(level)
        if data is None or tile_size is None:
            return None
        image = _decode_direct(data, tile_size, scale, rows)
        if image is None:  # not a plain baseline JPEG of the stored size: the general path
            image = _decode_opened(data, tile_size // scale, scale, rows)
        if image is not None:
            self.cache.put(key, image)
        return image

    def region(
        self, level: int, box: tuple[int, int, int, int], *, scale: int = 1
    ) -> Image.Image | None:
        """Return pixels ``(x, y, w, h)`` of stored ``level`` seen at ``1/scale``, as RGB.

        ``box`` is in the scaled coordinates (pixels of the level divided by ``scale``). Returns
        ``None`` when the level is not stored as JPEG tiles whose edge ``scale`` divides, or a
        stored tile is missing.
        """
        tile_size = self.raw.level_tile_size(level)
        if tile_size is None or scale < 1 or scale > MAX_SCALE or tile_size % scale:
            return None
        edge = tile_size // scale
        x, y, w, h = box
        cols = range(x // edge, (x + w - 1) // edge + 1)
        rows = range(y // edge, (y + h - 1) // edge + 1)
        if len(cols) == 1 and len(rows) == 1:
            left, top = x - cols[0] * edge, y - rows[0] * edge
            image = self.decoded(level, cols[0], rows[0], scale, top + h)
            if image is None:
                return None
            return image.crop((left, top, left + w, top + h))
        out = Image.new("RGB", (w, h))
        for row in rows:
            needed = min(edge, y + h - row * edge)  # rows of this tile row inside the box
            for col in cols:
                image = self.decoded(level, col, row, scale, needed)
                if image is None:
                    return None
                out.paste(image, (col * edge - x, row * edge - y))
        return out


def _decode_opened(data: bytes, edge: int, scale: int, rows: int | None) -> Image.Image | None:
    """Decode with ``Image.open`` (which parses the headers in Python), DCT-scaled."""
    image = Image.open(io.BytesIO(data))
    if scale > 1:
        image.draft("RGB", (edge, edge))
    if image.size != (edge, edge) or image.mode != "RGB":
        return None
    if rows is not None and rows < edge:
        return _top_rows(image, data, rows)
    image.load()
    return image


def _decode_direct(data: bytes, size: int, scale: int, rows: int | None) -> Image.Image | None:
    """Decode a baseline 3-channel JPEG of ``size`` × ``size`` straight into an RGB image.

    This skips ``Image.open``'s parse of the tables in Python (about a fifth of the cost of
    a 256 px tile): libjpeg reads them anyway. Pillow has no public call for it; its decoder
    is driven as ``ImageFile.load`` does. Returns ``None`` when the frame header does not
    match (then :func:`_decode_opened` decides) or if Pillow's internals ever change.
    """
    if _frame_size(data) != (size, size, 3):
        return None
    edge = size // scale
    height = edge if rows is None else max(1, min(rows, edge))
    try:
        decoder = Image._getdecoder(  # noqa: SLF001 - see the docstring
            "RGB", "jpeg", ("RGB", ""), (scale, 0)
        )
        out = Image.new("RGB", (edge, height))
        decoder.setimage(out.im, (0, 0, edge, height))
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - Pillow internals moved
        return None
    try:
        consumed, error = decoder.decode(data)
    finally:
        decoder.cleanup()
    if height == edge and (consumed >= 0 or error < 0):  # full decode must finish cleanly
        raise OSError(f"damaged JPEG tile (decoder status {consumed}, {error})")
    return out


#: Frame markers other than sequential Huffman (SOF2-SOF15 without DHT, JPG, DAC).
_OTHER_FRAMES = frozenset(range(0xC2, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOS = 0xDA


def _frame_size(data: bytes) -> tuple[int, int, int] | None:
    """Return (width, height, components) of a baseline/extended JPEG frame header, else None."""
    at = 2
    while at + 10 <= len(data) and data[at] == 0xFF:  # noqa: PLR2004 - marker byte
        marker = data[at + 1]
        if marker in (0xC0, 0xC1):  # SOF0/SOF1: sequential Huffman
            height = int.from_bytes(data[at + 5 : at + 7], "big")
            width = int.from_bytes(data[at + 7 : at + 9], "big")
            return width, height, data[at + 9]
        if marker == _SOS or marker in _OTHER_FRAMES:
            return None  # scan before a frame header, or progressive/lossless/arithmetic
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return None


def _top_rows(image: ImageFile.ImageFile, data: bytes, rows: int) -> Image.Image:
    """Decode only the top ``rows`` of an opened (not loaded) single-scan JPEG ``image``.

    libjpeg decodes top to bottom, so stopping after the rows needed saves the rest of the
    work. Pillow has no public call for this; its decoder is driven directly (as
    ``ImageFile.load`` does) and the whole image is decoded if that API ever changes.
    """
    try:
        (tile,) = image.tile
        decoder = Image._getdecoder(  # noqa: SLF001 - no public call decodes part of a JPEG
            image.mode, tile.codec_name, tile.args, image.decoderconfig
        )
        out = Image.new(image.mode, (image.width, rows))
        decoder.setimage(out.im, (0, 0, image.width, rows))
    except (AttributeError, TypeError, ValueError):  # pragma: no cover - Pillow internals moved
        image.load()
        return image
    try:
        decoder.decode(data[tile.offset :])  # stops with an error code after `rows`
    finally:
        decoder.cleanup()
    return out
