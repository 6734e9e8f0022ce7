"""The demo workspace that ``make demo`` and the quickstart notebook open.

It holds the real sample slide (``cmu_small_region.svs``) and two generated slides in an image
set of a demo team, with a product of annotation types and a few hundred seeded annotations.
Preparing it again reuses everything that is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from exact_lab.entities import Image, ImageSet, Team
from exact_lab.paths import data_dir, sample_slides_dir
from exact_lab.samples import SAMPLE_SLIDE, fetch_samples
from exact_lab.store import connect
from exact_lab.store.abstract import Store
from exact_lab.store.demo import seed_demo_workspace
from exact_lab.tiles.synthetic import make_synthetic_slide
from exact_lab.workflows.registration import add_slide

__all__ = ["DemoWorkspace", "prepare_demo_workspace"]

#: Generated slides of the demo (file name, width, height).
GENERATED = (("synthetic-tissue-a.tiff", 8192, 6144), ("synthetic-tissue-b.tiff", 4096, 4096))


@dataclass(frozen=True)
class DemoWorkspace:
    """What :func:`prepare_demo_workspace` made or found."""

    team: Team
    image_set: ImageSet
    images: list[Image]
    annotations: int


def prepare_demo_workspace(store: Store | None = None) -> DemoWorkspace:
    """Create (or find) the demo workspace in ``store`` (default: ``exact_lab.connect()``).

    Examples
    --------
    >>> from exact_lab.store import connect
    >>> demo = prepare_demo_workspace(connect("sqlite://", user="demo"))  # doctest: +SKIP
    >>> [image.width for image in demo.images]  # doctest: +SKIP
    [2220, 8192, 4096]
    """
    store = store if store is not None else connect()
    slides = [fetch_samples(sample_slides_dir()) / SAMPLE_SLIDE, *_generated_slides()]
    created = seed_demo_workspace(store, [])
    image_set = store.image_set(created["image_set"])
    images = [add_slide(store, image_set, path)[0] for path in slides]
    seeded = seed_demo_workspace(
        store,
        [{"name": image.name, "width": image.width, "height": image.height} for image in images],
    )
    return DemoWorkspace(
        team=store.team(created["team"]),
        image_set=image_set,
        images=images,
        annotations=int(seeded["annotations"]),
    )


def _generated_slides() -> list[Path]:
    folder = data_dir() / "demo-slides"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, width, height in GENERATED:
        path = folder / name
        if not path.is_file():
            partial = path.with_suffix(".partial.tiff")
            make_synthetic_slide(partial, width, height)
            partial.replace(path)  # never leave a half-written slide under the final name
        paths.append(path)
    return paths
