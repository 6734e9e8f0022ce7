"""Jupyter identity, server-side path registration and token commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from exact_lab.cli import main
from tests.server_ext.conftest import API, World, body, call


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    config = {**exact_server_config}
    config["ExactLabApp"] = {**config["ExactLabApp"], "local_user": "jupyter-owner"}
    return config


async def test_jupyter_user_acts_as_itself(jp_fetch: Any, world: World) -> None:
    status = json.loads((await jp_fetch("exact", "api", "status")).body)
    username = status["user"]
    assert username == "jupyter-owner"  # a plain Jupyter server acts as its owner
    before = await call(jp_fetch, f"{API}/images/image_sets/")  # Jupyter's own token
    assert body(before)["count"] == 0
    world.stores["ann"].add_member(world.team, username)
    try:
        after = await call(jp_fetch, f"{API}/images/image_sets/")
        assert [s["name"] for s in body(after)["results"]] == ["Breast cases"]
        tile = await call(
            jp_fetch, f"{API}/images/images/{world.image.id}/1/1/tile_files/11/0_0.jpeg"
        )
        assert tile.code == 200
        me = await call(jp_fetch, f"{API}/users/users/", params={"username": username})
        assert body(me)["count"] == 1
    finally:
        world.stores["ann"].remove_member(world.team, username)


async def test_register_a_server_side_path(
    jp_fetch: Any, world: World, slide_root: Path, make_pyramid: Any
) -> None:
    url = f"{API}/images/images/"
    target = slide_root / "c.tiff"
    if not target.exists():
        shutil.copy(make_pyramid(1024, 768), target)
    payload = {"image_set": world.image_set.id, "path": str(target)}
    # max is a member: he may register; the image gets a pseudonym, the path stays private
    made = await call(jp_fetch, url, method="POST", body=payload, headers=world.auth("max"))
    assert made.code == 201, made.body
    image = body(made)
    assert image["name"] != "c.tiff"
    assert image["filename"] == image["name"]
    as_admin = await call(jp_fetch, f"{url}{image['id']}/", headers=world.auth("ann"))
    assert body(as_admin)["filename"] == "c.tiff"
    dup = await call(jp_fetch, url, method="POST", body=payload, headers=world.auth("ann"))
    assert dup.code == 400
    outsider = await call(jp_fetch, url, method="POST", headers=world.auth("eve"),
                          body={**payload, "path": str(slide_root / "a.tiff")})  # fmt: skip
    assert outsider.code == 404
    sneaky = await call(jp_fetch, url, method="POST", headers=world.auth("ann"),
                        body={**payload, "path": str(slide_root / ".." / ".." / "etc" / "passwd")})  # fmt: skip
    assert sneaky.code == 400
    tile = await call(jp_fetch, f"{url}{image['id']}/1/1/tile/", headers=world.auth("max"))
    assert tile.code == 200


async def test_multipart_upload_of_a_real_slide(
    jp_fetch: Any, world: World, sample_slides_dir: Path, upload_dir: Path
) -> None:
    data = (sample_slides_dir / "small.svs").read_bytes()
    boundary = "exactlabboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="image_set"\r\n\r\n{world.image_set.id}\r\n',
        f'--{boundary}\r\nContent-Disposition: form-data; name="image_type"\r\n\r\n0\r\n',
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file_path"; '
            f'filename="../../evil/small.svs"\r\nContent-Type: application/octet-stream\r\n\r\n'
        ),
    ]
    payload = "".join(parts).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    headers = {**world.auth("max"), "Content-Type": f"multipart/form-data; boundary={boundary}"}
    response = await call(
        jp_fetch, f"{API}/images/images/", method="POST", body=payload, headers=headers
    )
    assert response.code == 200, response.body
    page = body(response)
    assert page["count"] == 1
    image = page["results"][0]
    stored = list(upload_dir.rglob("small.svs"))
    assert len(stored) == 1
    assert stored[0].is_relative_to(upload_dir)
    info = await call(jp_fetch, f"{API}/images/images/{image['id']}/slide_information/",
                      headers=world.auth("ann"))  # fmt: skip
    assert body(info)["level_dimensions"][0] == [image["width"], image["height"]]
    bad = payload.replace(str(world.image_set.id).encode() + b"\r\n", b"999999\r\n", 1)
    refused = await call(
        jp_fetch, f"{API}/images/images/", method="POST", body=bad, headers=headers
    )
    assert refused.code == 404
    garbage = payload.replace(data, b"not a slide at all")
    rejected = await call(
        jp_fetch, f"{API}/images/images/", method="POST", body=garbage, headers=headers
    )
    assert 400 <= rejected.code < 500
    assert len(list(upload_dir.rglob("small.svs"))) == 1  # the rejected file was removed


def test_token_commands(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["token", "create", "--user", "tina", "--name", "laptop", "--database-url", store_url])
        == 0
    )
    plain = capsys.readouterr().out.strip()
    assert plain.startswith("pat_")
    assert main(["token", "list", "--user", "tina", "--database-url", store_url]) == 0
    listing = capsys.readouterr().out
    assert "laptop" in listing
    assert plain not in listing
    ident = int(listing.split()[0])
    assert main(["token", "revoke", "--user", "tina", "--database-url", store_url, str(ident)]) == 0
    from exact_lab.errors import PermissionDenied
    from exact_lab.store import connect

    with connect(store_url, user="tina") as store, pytest.raises(PermissionDenied):
        store.authenticate_token(plain)


async def test_tokens_over_the_api(jp_fetch: Any, world: World) -> None:
    url = f"{API}/users/tokens/"
    made = await call(
        jp_fetch, url, method="POST", body={"name": "script"}, headers=world.auth("max")
    )
    assert made.code == 201
    plain = body(made)["token"]
    assert plain.startswith("pat_")
    mine = {"Authorization": f"Bearer {plain}"}
    listing = await call(jp_fetch, url, headers=mine)
    assert "script" in [t["name"] for t in body(listing)["results"]]
    assert plain not in listing.body.decode()
    others = await call(jp_fetch, url, headers=world.auth("ann"))
    assert "script" not in [t["name"] for t in body(others)["results"]]
    stolen = await call(
        jp_fetch, f"{url}{body(made)['id']}/", method="DELETE", headers=world.auth("ann")
    )
    assert stolen.code == 404
    revoked = await call(jp_fetch, f"{url}{body(made)['id']}/", method="DELETE", headers=mine)
    assert revoked.code == 204
    after = await call(jp_fetch, url, headers=mine)
    assert after.code == 403
