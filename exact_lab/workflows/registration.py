"""Register a slide file into an image set: tiles computes the metadata, the store keeps it."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from exact_lab.entities import Image
from exact_lab.store.abstract import Ref, Store
from exact_lab.tiles import register_image

__all__ = ["add_slide"]


def add_slide(
    store: Store,
    image_set: Ref,
    path: Path | str,
    *,
    allowed_roots: Iterable[Path | str] | None = None,
    image_type: int = 0,
) -> tuple[Image, bool]:
    """Add the slide at ``path`` to ``image_set`` under a pseudonymised public name.

    The file is opened (or converted when OpenSlide cannot read it), its checksum computed and
    its public metadata stored; the original name and path are kept private to team admins.
    The same file (same checksum) is never added twice to one set.

    Parameters
    ----------
    store
        The store, acting as a member of the set's team.
    image_set
        The image set (id or entity).
    path
        The slide file.
    allowed_roots
        Folders the file must lie in (the server passes its configured slide folders).
    image_type
        EXACT's image type code (0 default, 1 server generated, 2 file link).

    Returns
    -------
    tuple[Image, bool]
        The image, and whether this call created it (``False``: it was already in the set).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from exact_lab.store import connect
    >>> from exact_lab.tiles.synthetic import make_synthetic_slide
    >>> slide = make_synthetic_slide(pathlib.Path(tempfile.mkdtemp()) / "case-17.tiff", 512, 512)
    >>> store = connect("sqlite://", user="alice")
    >>> cases = store.create_image_set(store.create_team("Lab"), "Cases")
    >>> image, created = add_slide(store, cases, slide)
    >>> created, image.width, image.name != "case-17.tiff"
    (True, 512, True)
    >>> add_slide(store, cases, slide)[1]
    False
    """
    existing = store.images(image_set)
    registration = register_image(
        path, taken_names=[image.name for image in existing], allowed_roots=allowed_roots
    )
    for image in existing:
        if image.checksum == registration.checksum:
            return image, False
    public = registration.public
    image = store.add_image(
        image_set,
        registration.public_name,
        width=int(public["width"]),
        height=int(public["height"]),
        mpp=float(public["mpp"] or 0.0),
        objective_power=float(public["objective_power"] or 0.0),
        frames=int(public["frames"] or 1),
        channels=int(public.get("channels") or 3),
        original_name=registration.private["original_name"],
        path=str(registration.private["path"]),
        checksum=registration.checksum,
        image_type=image_type,
    )
    return image, True
