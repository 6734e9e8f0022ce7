"""Tiles over HTTP at EXACT's paths, with identity, caching headers and permission checks."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image as PILImage

from tests.server_ext.conftest import API, World, body, call


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


def base(world: World, image: Any = None) -> str:
    return f"{API}/images/images/{(image or world.image).id}"


async def test_dzi_describes_the_slide(jp_fetch: Any, world: World) -> None:
    for suffix in ("1/1/tile/", "1/1/tile"):
        response = await call(jp_fetch, f"{base(world)}/{suffix}", headers=world.auth("max"))
        assert response.code == 200, response.body
        assert response.headers["Content-Type"].startswith("application/xml")
        text = response.body.decode()
        assert 'Width="2048"' in text
        assert 'Height="1536"' in text
        assert "deepzoom" in text


@pytest.mark.parametrize(
    ("suffix", "media", "pil"),
    [
        ("11/0_0.jpeg", "image/jpeg", "JPEG"),
        ("11/0_0.jpeg/", "image/jpeg", "JPEG"),
        ("10/1_1.png", "image/png", "PNG"),
        ("8/0_0.webp/", "image/webp", "WEBP"),
    ],
)
async def test_tiles_have_content_type_and_decode(
    jp_fetch: Any, world: World, suffix: str, media: str, pil: str
) -> None:
    response = await call(
        jp_fetch, f"{base(world)}/1/1/tile_files/{suffix}", headers=world.auth("ann")
    )
    assert response.code == 200, response.body
    assert response.headers["Content-Type"] == media
    assert "max-age" in response.headers["Cache-Control"]
    decoded = PILImage.open(io.BytesIO(response.body))
    assert decoded.format == pil
    assert decoded.size[0] > 0


async def test_etag_revalidation_gives_304(jp_fetch: Any, world: World) -> None:
    url = f"{base(world)}/1/1/tile_files/11/1_0.jpeg"
    first = await call(jp_fetch, url, headers=world.auth("max"))
    etag = first.headers["ETag"]
    again = await call(jp_fetch, url, headers={**world.auth("max"), "If-None-Match": etag})
    assert again.code == 304
    assert again.body == b""
    other = await call(
        jp_fetch, f"{base(world)}/1/1/tile_files/11/0_0.jpeg", headers=world.auth("max")
    )
    assert other.headers["ETag"] != etag


async def test_jupyter_identity_reads_tiles_of_its_own_team(jp_fetch: Any, world: World) -> None:
    # The Jupyter user (server token) belongs to no team yet: 404, no bytes.
    response = await call(jp_fetch, f"{base(world)}/1/1/tile_files/11/0_0.jpeg")
    assert response.code == 404
    assert body(response)["detail"]


@pytest.mark.parametrize("user", ["eve", "olga"])
@pytest.mark.parametrize(
    "suffix",
    ["1/1/tile/", "1/1/tile_files/11/0_0.jpeg", "thumbnail/", "slide_information/",
     "get_patch/?x=0&y=0&level=0&width=10&height=10"],
)  # fmt: skip
async def test_outsiders_get_no_bytes(jp_fetch: Any, world: World, user: str, suffix: str) -> None:
    path, _, query = suffix.partition("?")
    params = dict(part.split("=") for part in query.split("&")) if query else None
    response = await call(
        jp_fetch, f"{base(world)}/{path}", params=params, headers=world.auth(user)
    )
    assert response.code == 404
    assert set(body(response)) == {"detail"}


async def test_member_reads_other_team_only_with_access(jp_fetch: Any, world: World) -> None:
    ok = await call(
        jp_fetch, f"{base(world, world.other_image)}/thumbnail/", headers=world.auth("olga")
    )
    assert ok.code == 200
    assert ok.headers["Content-Type"] == "image/png"
    thumb = PILImage.open(io.BytesIO(ok.body))
    assert max(thumb.size) == 128


@pytest.mark.parametrize(
    ("headers", "detail"),
    [
        ({"Authorization": "Bearer pat_nope.nope"}, "Invalid token."),
        ({"Authorization": "Basic !!!"}, "Invalid basic header"),
        ({"Authorization": "Basic " + "YW5uOndyb25n"}, "Invalid username/password."),  # ann:wrong
        ({"Authorization": ""}, "Authentication credentials were not provided."),
    ],
)
async def test_bad_credentials_are_403_json(
    jp_fetch: Any, world: World, headers: dict[str, str], detail: str
) -> None:
    response = await call(jp_fetch, f"{base(world)}/1/1/tile/", headers=headers)
    assert response.code == 403
    assert detail in body(response)["detail"]


async def test_basic_auth_with_a_token_as_password(jp_fetch: Any, world: World) -> None:
    ok = await call(
        jp_fetch, f"{base(world)}/slide_information/", headers=world.auth("max", basic=True)
    )
    assert ok.code == 200
    info = body(ok)
    assert info["id"] == str(world.image.id)
    assert info["level_dimensions"][0] == [2048, 1536]
    assert info["levels"] == len(info["level_tiles"])
    # someone else's token with max's name is refused
    import base64

    raw = base64.b64encode(f"max:{world.tokens['ann']}".encode()).decode()
    bad = await call(
        jp_fetch, f"{base(world)}/slide_information/", headers={"Authorization": f"Basic {raw}"}
    )
    assert bad.code == 403


async def test_get_patch_png_and_bad_input(jp_fetch: Any, world: World) -> None:
    url = f"{base(world)}/get_patch"
    ok = await call(
        jp_fetch, url, params={"x": 100, "y": 50, "level": 0, "width": 64, "height": 32},
        headers=world.auth("max"),
    )  # fmt: skip
    assert ok.code == 200
    assert PILImage.open(io.BytesIO(ok.body)).size == (64, 32)
    for params in (
        {"x": "a", "y": 0, "level": 0, "width": 1, "height": 1},
        {"y": 0, "level": 0, "width": 1, "height": 1},
        {"x": 0, "y": 0, "level": 0, "width": 5000, "height": 5000},
        {"x": 0, "y": 0, "level": 99, "width": 5, "height": 5},
    ):
        bad = await call(jp_fetch, url, params=params, headers=world.auth("max"))
        assert bad.code == 400, (params, bad.body)
        assert body(bad)["detail"]


@pytest.mark.parametrize(
    "suffix",
    ["1/1/tile_files/99/0_0.jpeg", "1/1/tile_files/11/999_0.jpeg", "0/1/tile/",
     "2/2/tile/", "1/9/tile_files/0/0_0.png"],
)  # fmt: skip
async def test_out_of_range_tiles_are_4xx(jp_fetch: Any, world: World, suffix: str) -> None:
    response = await call(jp_fetch, f"{base(world)}/{suffix}", headers=world.auth("ann"))
    assert 400 <= response.code < 500, response.body
    assert body(response)["detail"]


async def test_unknown_and_huge_ids_are_404(jp_fetch: Any, world: World) -> None:
    for ident in (999999, 10**15):
        response = await call(
            jp_fetch, f"{API}/images/images/{ident}/1/1/tile/", headers=world.auth("ann")
        )
        assert response.code == 404


class TestStrictPermissions:
    """With ``permission_ttl = 0`` a removed member loses tile access at the next request."""

    @pytest.fixture
    def jp_server_config(self, exact_server_config: dict[str, Any]) -> dict[str, Any]:
        config = {**exact_server_config}
        config["ExactLabApp"] = {**config["ExactLabApp"], "permission_ttl": 0}
        return config

    async def test_removed_member_is_refused_at_once(self, jp_fetch: Any, world: World) -> None:
        url = f"{base(world)}/1/1/tile_files/11/0_0.jpeg"
        ann = world.stores["ann"]
        ann.add_member(world.team, "eve")
        try:
            assert (await call(jp_fetch, url, headers=world.auth("eve"))).code == 200
        finally:
            ann.remove_member(world.team, "eve")
        refused = await call(jp_fetch, url, headers=world.auth("eve"))
        assert refused.code == 404
        assert set(body(refused)) == {"detail"}
