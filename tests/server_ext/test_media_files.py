"""Annotation media files: multipart upload, list, retrieve, download, delete; types and size."""

from __future__ import annotations

import io
import os
import uuid
import wave
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from tests.server_ext.conftest import API, World, body, call

URL = f"{API}/annotations/annotation_media_files/"
LIMIT_MB = 0.02  # about 20 KiB, so that the size limit is cheap to reach


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    config = {**exact_server_config}
    config["ExactLabApp"] = {**config["ExactLabApp"], "media_max_mb": LIMIT_MB}
    return config


def png(size: int = 16, *, noise: bool = False) -> bytes:
    image = PILImage.new("RGB", (size, size), (200, 30, 30))
    if noise:
        image = PILImage.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(2)
        sound.setframerate(8000)
        sound.writeframes(bytes(1600))
    return out.getvalue()


def multipart(fields: dict[str, Any], files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    chunks = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    for filename, data in files:
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n')  # fmt: skip
        chunks.append(head.encode() + data + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


async def upload(jp_fetch: Any, world: World, user: str, fields: dict[str, Any],
                 files: list[tuple[str, bytes]]) -> Any:  # fmt: skip
    payload, content_type = multipart(fields, files)
    headers = {**world.auth(user), "Content-Type": content_type}
    return await call(jp_fetch, URL, method="POST", body=payload, headers=headers)


def media_files(upload_dir: Path) -> list[Path]:
    return sorted(p for p in (upload_dir / "media").rglob("*") if p.is_file())


@pytest.fixture
def annotation(world: World) -> Any:
    vector = {"x1": 5, "y1": 5, "x2": 50, "y2": 50}
    return world.stores["ann"].add_annotation(world.image, world.box, vector)


async def test_upload_list_download_delete(
    jp_fetch: Any, world: World, annotation: Any, upload_dir: Path
) -> None:
    picture = png()
    made = await upload(jp_fetch, world, "max", {"annotation": annotation.id, "name": "close-up"},
                        [("../../cell.png", picture)])  # fmt: skip
    assert made.code == 201, made.body
    record = body(made)
    assert record["name"] == "close-up"
    assert record["media_file_type"] == 2  # recognised as an image
    assert record["annotation"] == annotation.id
    assert record["file"].startswith("http")
    assert record["file"].endswith(f"annotation_media_files/{record['id']}/download/")
    stored = [p for p in media_files(upload_dir) if p.read_bytes() == picture]
    assert len(stored) == 1
    assert stored[0].name == "cell.png"  # the client's folders are dropped

    listed = await call(jp_fetch, URL, headers=world.auth("ann"),
                        params={"annotation": str(annotation.id)})  # fmt: skip
    assert [r["id"] for r in body(listed)["results"]] == [record["id"]]
    got = await call(jp_fetch, f"{URL}{record['id']}/", headers=world.auth("ann"))
    assert body(got) == record
    row = await call(jp_fetch, f"{API}/annotations/annotations/{annotation.id}/",
                     headers=world.auth("ann"))  # fmt: skip
    assert body(row)["uploaded_media_files"] == [record["id"]]

    download = await call(jp_fetch, f"{URL}{record['id']}/download/", headers=world.auth("max"))
    assert download.code == 200
    assert download.body == picture
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"].startswith("attachment;")

    for user in ("olga", "eve"):  # outside the team: as if nothing existed
        assert (await call(jp_fetch, f"{URL}{record['id']}/", headers=world.auth(user))).code == 404
        hidden = await call(jp_fetch, f"{URL}{record['id']}/download/", headers=world.auth(user))
        assert hidden.code == 404
        assert (await call(jp_fetch, f"{URL}{record['id']}/", method="DELETE",
                           headers=world.auth(user))).code == 404  # fmt: skip

    gone = await call(jp_fetch, f"{URL}{record['id']}/", method="DELETE", headers=world.auth("max"))
    assert gone.code == 204
    assert stored[0].exists() is False
    after = await call(jp_fetch, f"{URL}{record['id']}/download/", headers=world.auth("max"))
    assert after.code == 404


async def test_types_are_checked_by_content(
    jp_fetch: Any, world: World, annotation: Any, upload_dir: Path
) -> None:
    before = media_files(upload_dir)
    page = b"<html><script>alert(1)</script></html>"
    for fields, data, words in (
        ({}, page, "not an image"),  # unknown content, no type: refused
        ({"media_file_type": 2}, page, "not an image"),
        ({"media_file_type": 4}, png(), "image/png"),  # a picture claimed to be audio
        ({"media_file_type": 3}, wav(), "audio/wav"),
        ({"media_file_type": 9}, png(), "media_file_type"),
        ({"media_file_type": "x"}, png(), "media_file_type"),
        ({}, b"", "empty"),
    ):
        answer = await upload(jp_fetch, world, "max", {"annotation": annotation.id, **fields},
                              [("f.bin", data)])  # fmt: skip
        assert answer.code == 400, (fields, answer.body)
        assert words in body(answer)["detail"], body(answer)
    assert media_files(upload_dir) == before  # nothing was written

    sound = await upload(jp_fetch, world, "max", {"annotation": annotation.id},
                         [("note.wav", wav())])  # fmt: skip
    assert body(sound)["media_file_type"] == 4
    anything = await upload(jp_fetch, world, "max",
                            {"annotation": annotation.id, "media_file_type": 1},
                            [("page.html", page)])  # fmt: skip
    assert anything.code == 201
    served = await call(jp_fetch, f"{URL}{body(anything)['id']}/download/",
                        headers=world.auth("max"))  # fmt: skip
    assert served.body == page
    assert served.headers["Content-Type"] == "application/octet-stream"  # never rendered as HTML
    assert served.headers["Content-Disposition"].startswith("attachment;")


async def test_limits_and_malformed_uploads(
    jp_fetch: Any, world: World, annotation: Any, upload_dir: Path
) -> None:
    before = media_files(upload_dir)
    big = png(120, noise=True)
    assert len(big) > LIMIT_MB * 1024 * 1024
    too_big = await upload(jp_fetch, world, "max", {"annotation": annotation.id}, [("b.png", big)])
    assert too_big.code == 413
    assert "limit" in body(too_big)["detail"]
    two = await upload(jp_fetch, world, "max", {"annotation": annotation.id},
                       [("a.png", png()), ("b.png", png())])  # fmt: skip
    assert two.code == 400
    none = await upload(jp_fetch, world, "max", {"annotation": annotation.id}, [])
    assert none.code == 400
    no_annotation = await upload(jp_fetch, world, "max", {}, [("a.png", png())])
    assert body(no_annotation)["field"] == "annotation"
    foreign = await upload(jp_fetch, world, "olga", {"annotation": annotation.id},
                           [("a.png", png())])  # fmt: skip
    assert foreign.code == 404
    missing = await upload(jp_fetch, world, "max", {"annotation": 10**8}, [("a.png", png())])
    assert missing.code == 404
    assert media_files(upload_dir) == before
    unfiltered = await call(jp_fetch, URL, headers=world.auth("max"))
    assert unfiltered.code == 400


async def test_a_link_without_content(jp_fetch: Any, world: World, annotation: Any) -> None:
    link = await call(jp_fetch, URL, method="POST", headers=world.auth("max"),
                      body={"annotation": annotation.id, "name": "atlas",
                            "file": "https://example.org/atlas.png"})  # fmt: skip
    assert link.code == 201, link.body
    assert body(link)["file"] == "https://example.org/atlas.png"
    download = await call(jp_fetch, f"{URL}{body(link)['id']}/download/", headers=world.auth("max"))
    assert download.code == 404
    assert "link" in body(download)["detail"]
    forged = await call(jp_fetch, URL, method="POST", headers=world.auth("max"),
                        body={"annotation": annotation.id, "name": "x",
                              "file": "exact-lab-upload:../../etc/passwd"})  # fmt: skip
    assert forged.code == 400


async def test_openapi_documents_uploads_and_downloads(jp_fetch: Any, world: World) -> None:
    doc = body(await call(jp_fetch, f"{API}/openapi", headers=world.auth("max")))
    media = "/api/v1/annotations/annotation_media_files"
    upload_body = doc["paths"][f"{media}/"]["post"]["requestBody"]["content"]
    assert upload_body["multipart/form-data"]["schema"]["required"] == ["annotation", "file"]
    assert "get" in doc["paths"][f"{media}/{{id}}/download/"]
    tags = doc["paths"]["/api/v1/images/set_tags/"]["get"]["parameters"]
    assert {"name__contains", "imagesets"} <= {p["name"] for p in tags}
