"""A demo workspace: a team, a product with annotation types, an image set and seeded annotations.

``make demo`` calls :func:`seed_demo_workspace` with the metadata of the sample slides (computed
by the tiles package). Running it twice changes nothing: every object is looked up by name and
every seeded annotation has a fixed ``unique_identifier``.

Examples
--------
>>> from exact_lab.store import connect
>>> store = connect("sqlite://", user="demo")
>>> slides = [{"name": "260101-0900-DEMO", "width": 2048, "height": 1536, "mpp": 0.25}]
>>> first = seed_demo_workspace(store, slides)
>>> first["annotations"]
300
>>> seed_demo_workspace(store, slides)["added"]
0
"""

from __future__ import annotations

from typing import Any

import numpy as np

from exact_lab.entities import AnnotationType, ImageSet, Product, Team
from exact_lab.errors import NotFound
from exact_lab.store.abstract import Store

__all__ = ["DEMO_SET", "DEMO_TEAM", "seed_demo_workspace"]

DEMO_TEAM = "Demo pathology"
DEMO_PRODUCT = "Mitosis and tissue"
DEMO_SET = "Demo slides"
TYPES: list[dict[str, Any]] = [
    {
        "name": "mitotic figure",
        "vector_type": 1,
        "color_code": "#E6194B",
        "keyboard_shortcut": "m",
        "default_width": 50,
        "default_height": 50,
        "sort_order": 0,
    },
    {
        "name": "non-mitotic lookalike",
        "vector_type": 1,
        "color_code": "#3CB44B",
        "keyboard_shortcut": "n",
        "sort_order": 1,
    },
    {
        "name": "cell",
        "vector_type": 2,
        "color_code": "#4363D8",
        "keyboard_shortcut": "c",
        "default_width": 20,
        "default_height": 20,
        "sort_order": 2,
    },
    {
        "name": "tumour region",
        "vector_type": 5,
        "color_code": "#F58231",
        "keyboard_shortcut": "t",
        "sort_order": 3,
    },
]
PER_IMAGE = 300


def _team(store: Store) -> Team:
    try:
        return store.team_named(DEMO_TEAM)
    except NotFound:
        return store.create_team(DEMO_TEAM)


def _product(store: Store, team: Team) -> Product:
    try:
        return store.product_named(team, DEMO_PRODUCT)
    except NotFound:
        return store.create_product(
            team, DEMO_PRODUCT, description="Demo template: mitoses, lookalikes, cells, tumour"
        )


def _types(store: Store, product: Product) -> dict[str, AnnotationType]:
    have = {t.name: t for t in store.annotation_types(product)}
    for spec in TYPES:
        if spec["name"] not in have:
            fields = {k: v for k, v in spec.items() if k != "name"}
            have[spec["name"]] = store.create_annotation_type(product, spec["name"], **fields)
    return have


def _image_set(store: Store, team: Team, product: Product, main: AnnotationType) -> ImageSet:
    try:
        return store.image_set_named(team, DEMO_SET)
    except NotFound:
        return store.create_image_set(
            team,
            DEMO_SET,
            description="Sample slides with seeded annotations",
            location="demo",
            tags=["demo"],
            products=[product],
            main_annotation_type=main,
        )


def _rows(image: Any, types: dict[str, AnnotationType], seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    names = ["mitotic figure", "non-mitotic lookalike", "cell"]
    for i in range(PER_IMAGE - 2):
        kind = types[names[i % 3]]
        size = 20 if kind.vector_type == 2 else int(rng.integers(30, 70))  # noqa: PLR2004
        x = int(rng.integers(0, max(image.width - size, 1)))
        y = int(rng.integers(0, max(image.height - size, 1)))
        rows.append(
            {
                "image": image.id,
                "annotation_type": kind.id,
                "vector": {"x1": x, "y1": y, "x2": x + size, "y2": y + size},
                "unique_identifier": f"demo-{image.id}-{i}",
                "meta_data": {"score": round(float(rng.uniform(0.5, 1.0)), 3)},
            }
        )
    for j in range(2):
        cx, cy = image.width * (0.3 + 0.4 * j), image.height * 0.5
        r = min(image.width, image.height) * 0.15
        angles = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        vector: dict[str, Any] = {}
        for k, a in enumerate(angles, start=1):
            vector[f"x{k}"] = int(np.clip(cx + r * np.cos(a), 0, image.width))
            vector[f"y{k}"] = int(np.clip(cy + r * np.sin(a), 0, image.height))
        rows.append(
            {
                "image": image.id,
                "annotation_type": types["tumour region"].id,
                "vector": vector,
                "unique_identifier": f"demo-{image.id}-region-{j}",
                "description": "tumour region",
            }
        )
    return rows


def seed_demo_workspace(store: Store, images: list[dict[str, Any]]) -> dict[str, Any]:
    """Create (or complete) the demo workspace; safe to run any number of times.

    Parameters
    ----------
    store
        The store to seed, acting as the user who will own the demo team.
    images
        Image metadata dicts: ``name`` (public name), ``width``, ``height`` and optionally
        ``original_name``, ``path``, ``mpp``, ``objective_power``, ``frames``, ``channels``,
        ``image_type``, ``checksum``.

    Returns
    -------
    dict
        ``team``, ``product``, ``image_set`` (ids), ``images`` (ids), ``annotations`` (live
        annotations in the set) and ``added`` (annotations added by this call).
    """
    team = _team(store)
    product = _product(store, team)
    types = _types(store, product)
    image_set = _image_set(store, team, product, types["mitotic figure"])
    existing = {i.name: i for i in store.images(image_set)}
    added = 0
    image_ids: list[int] = []
    for seed, spec in enumerate(images):
        fields = {k: v for k, v in spec.items() if k not in {"name", "width", "height"}}
        image = existing.get(spec["name"]) or store.add_image(
            image_set, spec["name"], width=int(spec["width"]), height=int(spec["height"]), **fields
        )
        image_ids.append(image.id)
        have = set(
            store.annotations(image=image, deleted=None, with_vector=False)["unique_identifier"]
        )
        rows = [r for r in _rows(image, types, seed) if r["unique_identifier"] not in have]
        if rows:
            added += len(store.add_annotations(rows))
    total = len(store.annotations(image_set=image_set, with_vector=False))
    return {
        "team": team.id,
        "product": product.id,
        "image_set": image_set.id,
        "images": image_ids,
        "annotations": total,
        "added": added,
    }
