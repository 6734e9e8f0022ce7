"""Errors about a slide's file never show its private name or path to non-admin members."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from exact_lab.workflows import add_slide
from tests.server_ext.conftest import API, World, body, call


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


@pytest.fixture(scope="module")
def outside_image(world: World, tmp_path_factory: pytest.TempPathFactory, make_pyramid: Any) -> Any:
    """An image of team A whose file lies outside the server's allowed folders."""
    folder = tmp_path_factory.mktemp("not-served")
    private = folder / "Doe_Jane_1961-04-02.tiff"
    shutil.copyfile(make_pyramid(1024, 768), private)
    image, created = add_slide(world.stores["ann"], world.image_set, private)
    assert created
    return image


@pytest.mark.parametrize("suffix", ["1/1/tile/", "1/1/tile_files/11/0_0.jpeg", "thumbnail/"])
async def test_member_error_hides_file_name_and_path(
    jp_fetch: Any, world: World, outside_image: Any, suffix: str
) -> None:
    url = f"{API}/images/images/{outside_image.id}/{suffix}"
    response = await call(jp_fetch, url, headers=world.auth("max"))  # member, not admin
    assert response.code == 400
    detail = body(response)["detail"]
    assert "Doe_Jane" not in detail
    assert "not-served" not in detail
    assert f"image {outside_image.id} ({outside_image.name})" in detail
    assert "outside the allowed folders" in detail  # the cause is still named


async def test_admin_error_names_the_file(jp_fetch: Any, world: World, outside_image: Any) -> None:
    url = f"{API}/images/images/{outside_image.id}/1/1/tile/"
    response = await call(jp_fetch, url, headers=world.auth("ann"))  # team admin
    assert response.code == 400
    assert "Doe_Jane_1961-04-02.tiff" in body(response)["detail"]
