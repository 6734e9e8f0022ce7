"""Convert images OpenSlide cannot read into pyramidal tiled JPEG TIFFs, cached by checksum.

PNG, JPEG, BMP, WebP, untiled or non-pyramidal TIFFs, multi-page TIFF stacks, 16-bit and
single-channel images go through pyvips. Each frame (page of a multi-page input with the size of
the first page) becomes one pyramid ``frame-00000.tiff``, ... in a folder named by the SHA-256 of
the input's content, so converting the same content again costs only the checksum.

Examples
--------
>>> import pyvips, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> pyvips.Image.black(300, 200).write_to_file(str(folder / "in.png"))
>>> result = convert_to_pyramid(folder / "in.png", cache_dir=folder / "cache")
>>> result.frame_count, result.frames[0].name, result.dimensions
(1, 'frame-00000.tiff', (300, 200))
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyvips
from PIL import Image
from tqdm.auto import tqdm

from exact_lab.errors import SlideReadError
from exact_lab.paths import data_dir

from ._paths import StrPath

__all__ = ["Conversion", "convert_to_pyramid", "default_conversion_dir", "file_checksum"]

#: Inputs with more pixels than this show a progress bar while converting.
PROGRESS_PIXELS = 50_000_000
#: Resolutions below this many pixels per mm (above 100 µm/px) count as unknown.
MIN_PIXELS_PER_MM = 10.0
_MANIFEST = "manifest.json"
_FORMAT_VERSION = 1


def default_conversion_dir() -> Path:
    """Return the default conversion cache, ``exact_lab.paths.data_dir() / "converted"``."""
    return data_dir() / "converted"


def file_checksum(path: StrPath, *, chunk: int = 1 << 20) -> str:
    """Return the SHA-256 hex digest of a file's content.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(delete=False) as f:
    ...     _ = f.write(b"abc")
    >>> file_checksum(f.name)[:16]
    'ba7816bf8f01cfea'
    """
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class Conversion:
    """The result of a conversion: one pyramidal TIFF per frame.

    Attributes
    ----------
    source
        The input file.
    checksum
        SHA-256 of the input's content; the name of the cache folder.
    frames
        Paths of the pyramids, one per frame, in input order.
    dimensions
        Width and height of every frame.
    mpp
        Microns per pixel (x, y) read from the input's resolution, or ``None`` when unknown.
    """

    source: Path
    checksum: str
    frames: tuple[Path, ...]
    dimensions: tuple[int, int]
    mpp: tuple[float, float] | None

    @property
    def frame_count(self) -> int:
        """Number of frames."""
        return len(self.frames)


def _to_rgb8(image: pyvips.Image) -> pyvips.Image:
    """Return ``image`` as 3-band 8-bit sRGB: scale deep images, flatten alpha, expand grey."""
    if image.interpretation == "cmyk":
        image = image.colourspace("srgb")
    bands = image.bands
    if bands in (2, 4):  # flatten alpha onto white, in the image's own value range
        white = 65535 if image.format in ("ushort", "uint") else 255
        image = image.flatten(background=[white] * (bands - 1))
    elif bands > 4:  # noqa: PLR2004 - keep the first three channels of multichannel data
        image = image.extract_band(0, n=3)
    if image.format != "uchar":
        low, high = image.min(), image.max()
        scale = 255.0 / (high - low) if high > low else 1.0
        image = ((image - low) * scale).cast("uchar")
    if image.bands == 1:
        image = image.bandjoin([image, image])
    return image.copy(interpretation="srgb")


def _mpp_of(image: pyvips.Image) -> tuple[float, float] | None:
    """Microns per pixel from vips' xres/yres (pixels per mm), ``None`` when not microscopic.

    Coarser than 100 µm/px (under 10 px/mm: vips' 1.0 default, 72 or 96 dpi screen defaults)
    is no microscope's resolution, so it counts as unknown.
    """
    xres, yres = float(image.xres), float(image.yres)
    if min(xres, yres) < MIN_PIXELS_PER_MM:
        return None
    return (1000.0 / xres, 1000.0 / yres)


def _attach_progress(image: pyvips.Image, label: str) -> Callable[[], None]:
    """Show a tqdm bar while ``image`` is computed; return a function that closes it."""
    bar = tqdm(total=100, desc=label, unit="%", leave=False)

    def on_eval(_image: pyvips.Image, progress: Any) -> None:
        bar.update(max(0, int(progress.percent) - bar.n))

    image.set_progress(True)
    image.signal_connect("eval", on_eval)

    def close() -> None:
        bar.close()

    return close


def _load(path: Path, page: int | None, *, access: str = "sequential") -> pyvips.Image:
    """Load one page with pyvips, or with Pillow for formats this libvips lacks (BMP, ...)."""
    kwargs: dict[str, Any] = {"access": access, "fail_on": "error"}
    if page is not None:
        kwargs["page"] = page
    try:
        return pyvips.Image.new_from_file(str(path), **kwargs)
    except pyvips.Error as err:
        if "not a known file format" not in str(err):
            raise
        return _load_with_pillow(path, page or 0, err)


def _load_with_pillow(path: Path, page: int, vips_error: pyvips.Error) -> pyvips.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # damaged files warn, then fail below
            with Image.open(path) as picture:
                frames = int(getattr(picture, "n_frames", 1))
                picture.seek(page)
                picture.load()
                rgb = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    except (OSError, ValueError, EOFError, SyntaxError) as err:
        raise vips_error from err
    image = pyvips.Image.new_from_array(np.asarray(rgb)).copy(interpretation="srgb")
    if frames > 1:
        image = image.copy()
        image.set_type(pyvips.GValue.gint_type, "n-pages", frames)
    dpi = rgb.info.get("dpi") or picture.info.get("dpi")
    if dpi and float(dpi[0]) > 1:
        image = image.copy(xres=float(dpi[0]) / 25.4, yres=float(dpi[1]) / 25.4)
    return image


def _read_manifest(folder: Path, source: Path) -> Conversion | None:
    try:
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if manifest.get("version") != _FORMAT_VERSION:
        return None
    frames = tuple(folder / name for name in manifest["frames"])
    if not all(frame.is_file() for frame in frames):
        return None
    mpp = manifest.get("mpp")
    return Conversion(
        source=source,
        checksum=manifest["checksum"],
        frames=frames,
        dimensions=(int(manifest["width"]), int(manifest["height"])),
        mpp=(float(mpp[0]), float(mpp[1])) if mpp else None,
    )


def _vips_reason(err: pyvips.Error) -> str:
    """Return the first useful line of a pyvips error."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return "; ".join(lines[:2]) or "unknown error"


def _write_frames(
    source: Path,
    first: pyvips.Image,
    pages: int,
    work: Path,
    *,
    show: bool,
    quality: int,
    tile: int,
) -> list[str]:
    """Write one pyramid per frame of ``source`` into ``work``; return the file names."""
    names: list[str] = []
    for page in range(pages):
        image = first if pages == 1 else _load(source, page)
        if image.format != "uchar":  # scaling needs two passes: min/max, then the pixels
            image = _load(source, page if pages > 1 else None, access="random")
        if (image.width, image.height) != (first.width, first.height):
            continue  # reduced-resolution or thumbnail pages are not frames
        rgb = _to_rgb8(image)
        close = _attach_progress(rgb, f"{source.name} frame {page}") if show else None
        name = f"frame-{len(names):05d}.tiff"
        known = _mpp_of(image) is not None
        try:
            rgb.tiffsave(
                str(work / name),
                tile=True,
                tile_width=tile,
                tile_height=tile,
                pyramid=True,
                compression="jpeg",
                Q=quality,
                xres=float(image.xres) if known else 1.0,
                yres=float(image.yres) if known else 1.0,
                bigtiff=first.width * first.height > 2**31,
                strip=True,
            )
        finally:
            if close is not None:
                close()
        names.append(name)
    return names


def convert_to_pyramid(
    path: StrPath,
    *,
    cache_dir: StrPath | None = None,
    checksum: str | None = None,
    progress: bool | None = None,
    quality: int = 90,
    tile_size: int = 256,
) -> Conversion:
    """Convert ``path`` into pyramidal tiled JPEG TIFFs (one per frame) in the conversion cache.

    Parameters
    ----------
    path
        Any image pyvips can load.
    cache_dir
        Folder of the conversion cache; default :func:`default_conversion_dir`.
    checksum
        The SHA-256 of the file when already known (skips hashing it again).
    progress
        Show a tqdm progress bar; default: only for inputs above 50 megapixels.
    quality
        JPEG quality of the pyramid tiles.
    tile_size
        Edge of the stored tiles; 256 lets DeepZoom tiles pass through undecoded.

    Returns
    -------
    Conversion
        The pyramids; a second call with the same content returns the cached ones.

    Raises
    ------
    SlideReadError
        pyvips cannot load or convert the file; the message names the file and pyvips' reason.
    """
    source = Path(path)
    digest = checksum or file_checksum(source)
    root = Path(cache_dir) if cache_dir is not None else default_conversion_dir()
    folder = root / digest
    cached = _read_manifest(folder, source)
    if cached is not None:
        return cached
    try:
        first = _load(source, None)
        pages = int(first.get("n-pages")) if "n-pages" in first.get_fields() else 1
    except pyvips.Error as err:
        raise SlideReadError(
            f"{source.name}: neither OpenSlide nor pyvips can read this file ({_vips_reason(err)})"
        ) from err
    show = (
        progress if progress is not None else first.width * first.height * pages > PROGRESS_PIXELS
    )
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{digest[:12]}-", dir=root))
    try:
        names = _write_frames(
            source, first, pages, work, show=show, quality=quality, tile=tile_size
        )
        mpp = _mpp_of(first)
        manifest = {
            "version": _FORMAT_VERSION,
            "checksum": digest,
            "frames": names,
            "width": first.width,
            "height": first.height,
            "mpp": list(mpp) if mpp else None,
        }
        (work / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        if folder.exists() and _read_manifest(folder, source) is None:
            shutil.rmtree(folder, ignore_errors=True)  # left over from an interrupted run
        try:
            work.replace(folder)
        except OSError:  # another process finished the same conversion first
            shutil.rmtree(work, ignore_errors=True)
    except pyvips.Error as err:
        shutil.rmtree(work, ignore_errors=True)
        raise SlideReadError(
            f"{source.name}: conversion to a pyramid failed ({_vips_reason(err)})"
        ) from err
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    result = _read_manifest(folder, source)
    if result is None:
        raise SlideReadError(f"{source.name}: the converted pyramid in {folder} is incomplete")
    return result
