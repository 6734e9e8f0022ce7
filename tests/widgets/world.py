"""A small annotation world for viewer tests: a team, a product with four types, the real slide.

alice is the team's admin, bob a member, carol belongs to no team. Types, in sort order (the
digit keys 1-4): ``mitotic figure`` (bbox), ``look-alike`` (bbox), ``tumour`` (polygon),
``cell`` (point, 40×40 marker).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from exact_lab.store import Store, connect
from exact_lab.tiles import register_image


@dataclass
class World:
    url: str
    store: Store  # acting as alice
    types: dict[str, Any]
    image_set: Any
    image: Any
    second_image: Any


def add_slide(store: Store, image_set: Any, path: Path) -> Any:
    reg = register_image(path, taken_names=[i.name for i in store.images(image_set)])
    pub = reg.public
    return store.add_image(
        image_set,
        reg.public_name,
        width=pub["width"],
        height=pub["height"],
        mpp=pub["mpp"],
        objective_power=pub["objective_power"] or 0.0,
        frames=pub["frames"],
        original_name=reg.private["original_name"],
        path=str(path),
        checksum=reg.checksum,
    )


def make_world(url: str, slide: Path, slide_dir: Path, *, second: Path | None = None) -> World:
    """Build the world in the store at ``url``; slides are copied into ``slide_dir``."""
    slide_dir.mkdir(parents=True, exist_ok=True)
    local = slide_dir / slide.name
    shutil.copy(slide, local)
    store = connect(url, user="alice")
    team = store.create_team("Pathology")
    store.add_member(team, "bob")
    connect(url, user="carol").user  # noqa: B018 - carol exists, in no team
    product = store.create_product(team, "Mitosis")
    types = {
        "mitotic figure": store.create_annotation_type(
            product, "mitotic figure", vector_type=1, sort_order=1, color_code="#00C853"
        ),
        "look-alike": store.create_annotation_type(
            product, "look-alike", vector_type=1, sort_order=2, color_code="#FFAB00"
        ),
        "tumour": store.create_annotation_type(
            product, "tumour", vector_type=5, sort_order=3, color_code="#2962FF"
        ),
        "cell": store.create_annotation_type(
            product,
            "cell",
            vector_type=2,
            sort_order=4,
            color_code="#D500F9",
            default_width=40,
            default_height=40,
        ),
    }
    image_set = store.create_image_set(team, "Breast cases", products=[product])
    image = add_slide(store, image_set, local)
    second_image = None
    if second is not None:
        other = slide_dir / second.name
        shutil.copy(second, other)
        second_image = add_slide(store, image_set, other)
    return World(url, store, types, image_set, image, second_image)
