"""``?pad=1`` on the tile route: edge tiles grown to the full tile size, for Leaflet."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image as PILImage

from tests.server_ext.conftest import API, World, call


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


async def fetch(jp_fetch: Any, world: World, suffix: str, *, pad: bool = False) -> Any:
    url = f"{API}/images/images/{world.image.id}/1/1/tile_files/{suffix}"
    params = {"pad": "1"} if pad else {}
    response = await call(jp_fetch, url, params=params, headers=world.auth("ann"))
    assert response.code == 200, response.body
    return response


def pixels(response: Any) -> np.ndarray:
    return np.asarray(PILImage.open(io.BytesIO(response.body)))


async def test_edge_tile_is_padded_with_its_pixels_in_place(jp_fetch: Any, world: World) -> None:
    # level 7 of the 2048 x 1536 slide is 128 x 96: one tile, smaller than 256 both ways
    plain = await fetch(jp_fetch, world, "7/0_0.png")
    padded = await fetch(jp_fetch, world, "7/0_0.png", pad=True)
    assert pixels(plain).shape[:2] == (96, 128)
    grown = pixels(padded)
    assert grown.shape == (256, 256, 4)
    assert np.array_equal(grown[:96, :128, :3], pixels(plain)[..., :3])
    assert (grown[:96, :128, 3] == 255).all()
    assert (grown[96:, :, 3] == 0).all()  # transparent beyond the slide
    assert (grown[:, 128:, 3] == 0).all()
    assert padded.headers["ETag"] != plain.headers["ETag"]
    # JPEG has no transparency: white beyond the slide
    jpeg = pixels(await fetch(jp_fetch, world, "7/0_0.jpeg", pad=True))
    assert jpeg.shape == (256, 256, 3)
    assert jpeg[100:, :].min() >= 250
    assert jpeg[:, 132:].min() >= 250


async def test_full_tiles_are_unchanged(jp_fetch: Any, world: World) -> None:
    plain = await fetch(jp_fetch, world, "11/1_1.jpeg")
    padded = await fetch(jp_fetch, world, "11/1_1.jpeg", pad=True)
    assert padded.body == plain.body
