"""Register an image into a set: checksum, public metadata, pseudonymised name, private fields.

The public name is ``yymmdd-hhmm-XXXX``: the registration date-time and four characters hashed
from the original file name, re-hashed until it is free within the set. Everything that may
identify a patient — original name and path, vendor properties (barcode, scanner user, dates,
free-text descriptions), label and macro images — stays in :attr:`Registration.private`.

Examples
--------
>>> from datetime import datetime
>>> pseudonym("patient-smith.svs", datetime(2024, 5, 17, 9, 30))
'240517-0930-C0FN'
>>> pseudonym("patient-smith.svs", datetime(2024, 5, 17, 9, 30), taken={"240517-0930-C0FN"})
'240517-0930-TE79'
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from exact_lab.errors import Conflict

from ._convert import file_checksum
from ._paths import StrPath
from ._slide import Slide, open_slide

__all__ = ["PUBLIC_PROPERTIES", "Registration", "pseudonym", "public_metadata", "register_image"]

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_MAX_ATTEMPTS = 100_000

#: OpenSlide properties that are safe to publish (geometry and optics, nothing free-text).
PUBLIC_PROPERTIES = (
    "openslide.mpp-x",
    "openslide.mpp-y",
    "openslide.objective-power",
    "openslide.vendor",
    "openslide.level-count",
    "openslide.bounds-x",
    "openslide.bounds-y",
    "openslide.bounds-width",
    "openslide.bounds-height",
    "openslide.background-color",
)


def _hash4(text: str) -> str:
    digest = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big")
    return "".join(_ALPHABET[(digest >> shift) & 31] for shift in (15, 10, 5, 0))


def pseudonym(original_name: str, when: datetime, taken: Collection[str] = ()) -> str:
    """Return ``yymmdd-hhmm-XXXX`` for ``original_name`` registered at ``when``, not in ``taken``.

    The same name at the same minute gives the same pseudonym unless it is taken; then the
    hash is salted (``name#1``, ``name#2``, ...) until the result is free.
    """
    stamp = when.strftime("%y%m%d-%H%M")
    for attempt in range(_MAX_ATTEMPTS):
        salted = original_name if attempt == 0 else f"{original_name}#{attempt}"
        candidate = f"{stamp}-{_hash4(salted)}"
        if candidate not in taken:
            return candidate
    raise Conflict(f"no free pseudonym for minute {stamp}; register the image a minute later")


def public_metadata(slide: Slide) -> dict[str, Any]:
    """Return the metadata of ``slide`` that may be shown to anyone with access to the set."""
    mpp = slide.mpp
    width, height = slide.dimensions
    return {
        "width": width,
        "height": height,
        "levels": slide.level_count,
        "level_dimensions": [list(dims) for dims in slide.level_dimensions],
        "level_downsamples": list(slide.level_downsamples),
        "mpp": (mpp[0] + mpp[1]) / 2 if mpp else 0.0,
        "mpp_x": mpp[0] if mpp else None,
        "mpp_y": mpp[1] if mpp else None,
        "objective_power": slide.objective_power,
        "frames": slide.frames,
        "channels": 3,
        "vendor": slide.vendor,
        "converted": slide.converted,
        "properties": {
            key: slide.properties[key] for key in PUBLIC_PROPERTIES if key in slide.properties
        },
    }


@dataclass(frozen=True)
class Registration:
    """An image registered into a set.

    Attributes
    ----------
    public_name
        The pseudonym ``yymmdd-hhmm-XXXX``; use it wherever the image is shown.
    checksum
        SHA-256 of the original file (duplicate detection).
    registered_at
        When the image was registered (timezone-aware).
    public
        Metadata safe to show: size, levels, mpp, objective power, frames, vendor.
    private
        Identifying data: ``original_name``, ``path``, ``properties`` (every vendor property),
        ``associated_images`` (label, macro, ...), ``barcode``, ``pyramids``. Never serve it.
    """

    public_name: str
    checksum: str
    registered_at: datetime
    public: dict[str, Any]
    private: dict[str, Any] = field(repr=False)


def register_image(
    path: StrPath,
    *,
    taken_names: Iterable[str] = (),
    now: datetime | None = None,
    allowed_roots: Iterable[StrPath] | None = None,
    conversion_dir: StrPath | None = None,
) -> Registration:
    """Open (converting when needed) and describe ``path`` for registration into a set.

    Parameters
    ----------
    path
        The image file.
    taken_names
        Public names already used in the target set; the new pseudonym avoids them.
    now
        Registration time (default: now, UTC).
    allowed_roots
        Folders the file must lie in (``None``: anywhere).
    conversion_dir
        Conversion cache folder.

    Raises
    ------
    BadInput, SlideReadError
        As :func:`open_slide`.
    """
    when = now or datetime.now(timezone.utc)
    with open_slide(path, allowed_roots=allowed_roots, conversion_dir=conversion_dir) as slide:
        checksum = slide.conversion.checksum if slide.conversion else file_checksum(slide.path)
        public = public_metadata(slide)
        properties = dict(slide.properties)
        barcode = next(
            (value for key, value in properties.items() if "barcode" in key.lower()), None
        )
        private = {
            "original_name": Path(path).name,
            "path": str(slide.path),
            "properties": properties,
            "associated_images": list(slide.associated_image_names),
            "barcode": barcode,
            "pyramids": [str(p) for p in slide.frame_paths],
        }
    name = pseudonym(Path(path).name, when, set(taken_names))
    public["checksum"] = checksum
    public["name"] = name
    return Registration(
        public_name=name, checksum=checksum, registered_at=when, public=public, private=private
    )
