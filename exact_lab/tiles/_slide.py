"""Open a slide: the OpenSlide surface, with frames, over native or converted files.

OpenSlide reads the file when it can (Aperio, Hamamatsu, Leica, MIRAX, Philips, Sakura, Ventana,
DICOM WSI, generic tiled TIFF). Anything else goes through :func:`convert_to_pyramid` first and
the slide reads the converted pyramids, one per frame.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pyvips.Image.black(640, 480).write_to_file(str(folder / "black.png"))
>>> with open_slide(folder / "black.png", conversion_dir=folder / "cache") as slide:
...     print(slide.dimensions, slide.level_count, slide.frames, slide.converted)
...     print(slide.read_array((0, 0), 0, (4, 2)).shape)
(640, 480) 3 1 True
(2, 4, 3)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType

import numpy as np
import openslide
from numpy.typing import NDArray
from PIL import Image

from exact_lab.errors import BadInput, SlideReadError

from ._convert import Conversion, convert_to_pyramid
from ._paths import StrPath, check_input

__all__ = ["Slide", "open_slide"]

Array = NDArray[np.uint8]


def _reason(err: BaseException) -> str:
    text = str(err).strip()
    return text or type(err).__name__


class Slide:
    """A whole-slide image with OpenSlide's API, plus frames (z-stack planes, time points).

    Do not build directly: use :func:`open_slide`. Coordinates given to :meth:`read_region`
    are level-0 pixels, as in OpenSlide. Frame indices start at 0.

    Attributes
    ----------
    path
        The file the user gave (the original, also for converted images).
    frame_paths
        The files actually read: ``(path,)`` for native slides, the converted pyramids otherwise.
    converted
        Whether the pixels come from a conversion.
    """

    def __init__(
        self,
        path: Path,
        frame_paths: tuple[Path, ...],
        *,
        conversion: Conversion | None = None,
    ) -> None:
        self.path = path
        self.frame_paths = frame_paths
        self.converted = conversion is not None
        self.conversion = conversion
        self._handles: dict[int, openslide.OpenSlide] = {}
        self._lock = threading.Lock()
        self._closed = False
        base = self._handle(0)
        self.level_dimensions: tuple[tuple[int, int], ...] = tuple(base.level_dimensions)
        self.level_downsamples: tuple[float, ...] = tuple(base.level_downsamples)
        self.properties: Mapping[str, str] = dict(base.properties)
        self.associated_image_names: tuple[str, ...] = tuple(base.associated_images)

    # -- handles -------------------------------------------------------------------------------

    def _handle(self, frame: int) -> openslide.OpenSlide:
        if self._closed:
            raise SlideReadError(f"{self.path.name}: the slide was closed; open it again")
        with self._lock:
            handle = self._handles.get(frame)
            if handle is None:
                target = self.frame_paths[frame]
                try:
                    handle = openslide.OpenSlide(target)
                except (openslide.OpenSlideError, OSError) as err:
                    raise SlideReadError(
                        f"{self.path.name}: OpenSlide cannot open it ({_reason(err)})"
                    ) from err
                self._handles[frame] = handle
            return handle

    def close(self) -> None:
        """Close the OpenSlide handles."""
        with self._lock:
            self._closed = True
            for handle in self._handles.values():
                handle.close()
            self._handles.clear()

    def __enter__(self) -> Slide:  # noqa: PYI034 - Self needs Python 3.11
        """Return the slide itself."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the slide."""
        self.close()

    def __repr__(self) -> str:
        """Return a short description (file name, size, levels, frames)."""
        width, height = self.dimensions
        return (
            f"Slide({self.path.name!r}, {width}x{height}, levels={self.level_count}, "
            f"frames={self.frames})"
        )

    # -- metadata ------------------------------------------------------------------------------

    @property
    def dimensions(self) -> tuple[int, int]:
        """Width and height of level 0."""
        return self.level_dimensions[0]

    @property
    def level_count(self) -> int:
        """Number of stored resolution levels."""
        return len(self.level_dimensions)

    @property
    def frames(self) -> int:
        """Number of frames (1 for an ordinary slide)."""
        return len(self.frame_paths)

    @property
    def mpp(self) -> tuple[float, float] | None:
        """Microns per pixel (x, y) at level 0, or ``None`` when the file does not say."""
        if self.conversion is not None:
            return self.conversion.mpp
        try:
            mpp_x = float(self.properties[openslide.PROPERTY_NAME_MPP_X])
            mpp_y = float(self.properties[openslide.PROPERTY_NAME_MPP_Y])
        except (KeyError, ValueError):
            return None
        return (mpp_x, mpp_y)

    @property
    def objective_power(self) -> float | None:
        """Objective magnification of the scan, or ``None`` when the file does not say."""
        try:
            return float(self.properties[openslide.PROPERTY_NAME_OBJECTIVE_POWER])
        except (KeyError, ValueError):
            return None

    @property
    def vendor(self) -> str:
        """OpenSlide's format name (``aperio``, ``dicom``, ...), ``converted`` after conversion."""
        if self.converted:
            return "converted"
        return self.properties.get(openslide.PROPERTY_NAME_VENDOR, "unknown")

    def get_best_level_for_downsample(self, downsample: float) -> int:
        """Return the highest-resolution level needed for ``downsample`` (level-0 px per px)."""
        best = 0
        for level, level_ds in enumerate(self.level_downsamples):
            if level_ds <= downsample * (1 + 1e-6):
                best = level
        return best

    # -- pixels --------------------------------------------------------------------------------

    def check_frame(self, frame: int) -> None:
        """Raise :class:`~exact_lab.errors.BadInput` unless ``frame`` exists."""
        if not 0 <= frame < self.frames:
            raise BadInput(
                f"{self.path.name}: frame {frame} is out of range (0 to {self.frames - 1})",
                field="frame",
            )

    def check_level(self, level: int) -> None:
        """Raise :class:`~exact_lab.errors.BadInput` unless ``level`` exists."""
        if not 0 <= level < self.level_count:
            raise BadInput(
                f"{self.path.name}: level {level} is out of range (0 to {self.level_count - 1})",
                field="level",
            )

    def read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int], *, frame: int = 0
    ) -> Image.Image:
        """Return an RGBA PIL image of ``size`` at ``level``, top-left at level-0 ``location``.

        Pixels outside the image are transparent, as in OpenSlide.
        """
        self.check_frame(frame)
        self.check_level(level)
        width, height = size
        if width < 1 or height < 1:
            raise BadInput(
                f"{self.path.name}: region size must be positive, got {width}x{height}",
                field="size",
            )
        try:
            return self._handle(frame).read_region(location, level, size)
        except openslide.OpenSlideError as err:
            raise SlideReadError(
                f"{self.path.name}: reading pixels failed ({_reason(err)}); the file is damaged"
            ) from err

    def read_array(
        self,
        location: tuple[int, int],
        level: int,
        size: tuple[int, int],
        *,
        frame: int = 0,
        background: tuple[int, int, int] = (255, 255, 255),
    ) -> Array:
        """Return a ``(height, width, 3)`` uint8 RGB array; outside pixels get ``background``."""
        rgba = np.asarray(self.read_region(location, level, size, frame=frame))
        alpha = rgba[..., 3:4].astype(np.uint16)
        if alpha.min() == 255:  # noqa: PLR2004
            return np.ascontiguousarray(rgba[..., :3])
        bg = np.asarray(background, dtype=np.uint16)
        mixed = (rgba[..., :3] * alpha + bg * (255 - alpha) + 127) // 255
        return mixed.astype(np.uint8)

    def get_thumbnail(self, size: tuple[int, int], *, frame: int = 0) -> Image.Image:
        """Return an RGB thumbnail fitting in ``size``, keeping the aspect ratio."""
        self.check_frame(frame)
        width, height = self.dimensions
        scale = max(width / size[0], height / size[1], 1.0)
        target = (max(1, round(width / scale)), max(1, round(height / scale)))
        level = self.get_best_level_for_downsample(scale)
        level_w, level_h = self.level_dimensions[level]
        region = self.read_array((0, 0), level, (level_w, level_h), frame=frame)
        image = Image.fromarray(region)
        if image.size != target:
            image = image.resize(target, Image.Resampling.LANCZOS)
        return image

    def associated_image(self, name: str) -> Image.Image:
        """Return an associated image (label, macro, thumbnail) as RGBA: private data."""
        if name not in self.associated_image_names:
            raise BadInput(
                f"{self.path.name} has no associated image {name!r}; it has "
                f"{list(self.associated_image_names)}",
                field="name",
            )
        try:
            return self._handle(0).associated_images[name]
        except openslide.OpenSlideError as err:
            raise SlideReadError(f"{self.path.name}: {name} image unreadable ({err})") from err

    def level_for_mpp(self, mpp: float) -> int:
        """Return the level whose resolution is the finest not finer than ``mpp`` µm/px."""
        if self.mpp is None:
            raise BadInput(f"{self.path.name} has no mpp; pass a level instead", field="mpp")
        return self.get_best_level_for_downsample(mpp / math.sqrt(self.mpp[0] * self.mpp[1]))


def open_slide(
    path: StrPath,
    *,
    allowed_roots: Iterable[StrPath] | None = None,
    conversion_dir: StrPath | None = None,
    convert: bool = True,
    progress: bool | None = None,
) -> Slide:
    """Open ``path`` as a :class:`Slide`, converting it with pyvips when OpenSlide cannot read it.

    Parameters
    ----------
    path
        The image file.
    allowed_roots
        Folders the file must lie in (``None``: anywhere).
    conversion_dir
        Conversion cache folder (default ``exact_lab.paths.data_dir() / "converted"``).
    convert
        Convert files OpenSlide cannot read, and single-level generic TIFFs (which OpenSlide
        reads without a pyramid, slowly when zoomed out); with ``False`` unsupported files raise
        SlideReadError instead.
    progress
        Progress bar for conversions (default: for large inputs only).

    Raises
    ------
    BadInput
        The path is outside the allowed roots or is a directory.
    SlideReadError
        The file is missing, empty, damaged or in no format OpenSlide or pyvips reads.
    """
    resolved = check_input(path, allowed_roots=allowed_roots)
    name = Path(path).name
    try:
        vendor = openslide.OpenSlide.detect_format(resolved)
    except (openslide.OpenSlideError, OSError) as err:
        raise SlideReadError(f"{name}: cannot read the file ({_reason(err)})") from err
    slide, native_error = _open_native(resolved, vendor, convert=convert)
    if slide is not None:
        return slide
    if not convert:
        raise SlideReadError(
            native_error or f"{name}: OpenSlide does not read this format; convert it first"
        )
    if vendor is not None and vendor != "generic-tiff":
        raise SlideReadError(native_error or f"{name}: OpenSlide cannot open it")
    try:
        conversion = convert_to_pyramid(resolved, cache_dir=conversion_dir, progress=progress)
    except SlideReadError as err:
        if native_error is None:
            raise
        raise SlideReadError(f"{native_error}; pyvips cannot convert it either") from err
    if conversion.frame_count == 0:
        raise SlideReadError(f"{name}: the file holds no image frames")
    return Slide(resolved, conversion.frames, conversion=conversion)


def _open_native(
    resolved: Path, vendor: str | None, *, convert: bool
) -> tuple[Slide | None, str | None]:
    """Open with OpenSlide; return ``(slide, None)``, or ``(None, why not)`` to convert instead."""
    if vendor is None:
        return None, None
    try:
        slide = Slide(resolved, (resolved,))
    except SlideReadError as err:
        return None, str(err)
    _probe(slide)
    if convert and vendor == "generic-tiff" and slide.level_count == 1:
        slide.close()  # a flat generic TIFF: convert it into a pyramid
        return None, None
    return slide, None


def _probe(slide: Slide) -> None:
    """Read one pixel of the smallest level so that damaged files fail at open time."""
    last = slide.level_count - 1
    try:
        slide.read_region((0, 0), last, (1, 1))
    except SlideReadError:
        slide.close()
        raise
