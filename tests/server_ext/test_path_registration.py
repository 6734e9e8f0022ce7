"""Registering a file already on the server: only inside the allowed roots, never a 500.

``POST images/images/`` with JSON ``{"image_set", "path"}``. Every refusal is a 4xx whose detail
names the cause, and leaves the image set as it was.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.server_ext.conftest import API, World, body, call

URL = f"{API}/images/images/"


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


async def _count(jp_fetch: Any, world: World) -> int:
    listed = await call(jp_fetch, URL, headers=world.auth("ann"),
                        params={"image_set": str(world.image_set.id)})  # fmt: skip
    count: int = body(listed)["count"]
    return count


async def test_hostile_and_broken_paths_are_refused(
    jp_fetch: Any, world: World, slide_root: Path, small_slide: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.tiff"
    shutil.copy(small_slide, outside)
    escape = slide_root / "escape.tiff"
    if not escape.is_symlink():
        escape.symlink_to(outside)
    folder_link = slide_root / "elsewhere"
    if not folder_link.is_symlink():
        folder_link.symlink_to(tmp_path, target_is_directory=True)
    corrupt = slide_root / "corrupt.svs"
    corrupt.write_bytes(b"II*\x00" + os.urandom(4096))  # a TIFF header and then noise
    empty = slide_root / "empty.tiff"
    empty.write_bytes(b"")
    (slide_root / "a-folder.svs").mkdir(exist_ok=True)
    before = await _count(jp_fetch, world)
    cases = [
        (str(outside), 400, "outside the allowed folders"),
        (str(escape), 400, "outside the allowed folders"),  # a link leaving the root
        (str(folder_link / "outside.tiff"), 400, "outside the allowed folders"),
        (str(slide_root / ".." / outside.name), 400, "outside the allowed folders"),
        ("relative/path.svs", 400, "outside the allowed folders"),
        (str(slide_root / "missing.svs"), 422, "no such file"),
        (str(slide_root / "a-folder.svs"), 400, "directory"),
        (str(corrupt), 422, ""),
        (str(empty), 422, ""),
        (str(slide_root / "nul\x00byte.svs"), 400, ""),
        ("", 400, "path"),
        ("/", 400, ""),
    ]
    for path, status, words in cases:
        answer = await call(jp_fetch, URL, method="POST", headers=world.auth("ann"),
                            body={"image_set": world.image_set.id, "path": path})  # fmt: skip
        assert answer.code == status, (path, answer.code, answer.body)
        assert words in body(answer)["detail"], (path, body(answer))
    for payload in ({"image_set": world.image_set.id, "path": 17},
                    {"image_set": world.image_set.id, "path": ["a"]},
                    {"image_set": "x", "path": str(slide_root / "a.tiff")}):  # fmt: skip
        answer = await call(jp_fetch, URL, method="POST", headers=world.auth("ann"), body=payload)
        assert answer.code == 400, (payload, answer.body)
    assert await _count(jp_fetch, world) == before  # nothing was registered


async def test_a_link_inside_the_root_is_fine(
    jp_fetch: Any, world: World, slide_root: Path, make_pyramid: Any
) -> None:
    real = slide_root / "real.tiff"
    if not real.exists():
        shutil.copy(make_pyramid(640, 480), real)
    link = slide_root / "alias.tiff"
    if not link.is_symlink():
        link.symlink_to(real)
    made = await call(jp_fetch, URL, method="POST", headers=world.auth("ann"),
                      body={"image_set": world.image_set.id, "path": str(link)})  # fmt: skip
    assert made.code == 201, made.body
    assert (body(made)["width"], body(made)["height"]) == (640, 480)
    again = await call(jp_fetch, URL, method="POST", headers=world.auth("ann"),
                       body={"image_set": world.image_set.id, "path": str(real)})  # fmt: skip
    assert again.code == 400  # the same file (by checksum) is in the set already
    assert "already" in body(again)["detail"]
