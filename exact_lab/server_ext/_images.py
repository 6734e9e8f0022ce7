"""Images into a set: multipart upload (EXACT's ``POST images/images/``) and server-side paths.

An upload is written below the server's upload folder (``<upload_dir>/<set>/<random>/<name>``),
opened (converted when OpenSlide cannot read it) and registered under a pseudonymised public
name; the original name and path stay private to team admins. A JSON body
``{"image_set": id, "path": "..."}`` registers a file already on the server, which must lie in
one of the configured ``allowed_roots`` (anything else, ``..`` tricks and links included, is a
400). A file whose checksum is already in the set is skipped, as EXACT does.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from exact_lab.entities import Image
from exact_lab.errors import BadInput, ExactLabError
from exact_lab.server_ext._context import Ctx, as_id
from exact_lab.server_ext._rest import ListHandler
from exact_lab.server_ext._serialize import image_row
from exact_lab.store import Store
from exact_lab.tiles import check_allowed
from exact_lab.workflows import add_slide

__all__ = ["ImageListHandler", "register_path", "safe_filename"]

MAX_NAME = 200
MAX_PATH = 4096  # PATH_MAX on Linux


def safe_filename(name: str) -> str:
    r"""Return the last path component of an uploaded file name (400 when there is none).

    >>> safe_filename("../../etc/passwd"), safe_filename("C:\\slides\\a.svs")
    ('passwd', 'a.svs')
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1].replace("\x00", "").strip()
    if base in {"", ".", ".."}:
        raise BadInput(f"file: {name!r} is not a usable file name", field="file")
    return base[-MAX_NAME:]


def register_path(
    store: Store, image_set: int, path: Path, *, roots: tuple[Path, ...], image_type: int = 0
) -> Image | None:
    """Register ``path`` into ``image_set``; ``None`` when the same file is already there."""
    image, created = add_slide(store, image_set, path, allowed_roots=roots, image_type=image_type)
    return image if created else None


def _image_type(value: Any) -> int:
    if value in (None, ""):
        return 0
    try:
        code = int(value)
    except (TypeError, ValueError):
        raise BadInput(
            f"image_type: expected 0, 1 or 2, got {value!r}", field="image_type"
        ) from None
    if code not in {0, 1, 2}:
        raise BadInput(f"image_type: expected 0, 1 or 2, got {code}", field="image_type")
    return code


class ImageListHandler(ListHandler):
    """``images/images/``: the listing plus uploads (multipart) and path registration (JSON)."""

    async def post(self) -> None:
        """Upload files (200 with a page of the new images) or register a path (201)."""
        if self.request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            await self._upload()
            return
        data = self.json_body()
        if not isinstance(data, dict) or data.get("path") is None:
            raise BadInput("send files as multipart/form-data, or JSON {image_set, path}")
        set_id = as_id(data.get("image_set"), "image_set")
        if not isinstance(data["path"], str) or not data["path"].strip():
            raise BadInput("path: expected a file path on the server", field="path")
        if "\x00" in data["path"] or len(data["path"]) > MAX_PATH:
            raise BadInput(
                f"path: a file path has no NUL character and at most {MAX_PATH} characters",
                field="path",
            )
        path = Path(data["path"])
        image_type = _image_type(data.get("image_type"))
        roots = self.state.allowed_roots

        def work() -> tuple[Any, int]:
            resolved = check_allowed(path, roots)
            ctx = Ctx(self.store)
            ctx.store.image_set(set_id)  # NotFound before touching the file
            image = register_path(ctx.store, set_id, resolved, roots=roots, image_type=image_type)
            if image is None:
                raise BadInput(f"path: this file is already in image set {set_id}", field="path")
            return self.shaped(ctx, image_row(ctx, image), self.params()), 201

        payload, status = await self.run(work)
        self.write_json(payload, status)

    async def _upload(self) -> None:
        args = {k: v[-1].decode("utf-8", "replace") for k, v in self.request.body_arguments.items()}
        set_id = as_id(args.get("image_set"), "image_set")
        image_type = _image_type(args.get("image_type"))
        files = [f for parts in self.request.files.values() for f in parts]
        if not files:
            raise BadInput("file: no file in the upload", field="file")
        upload_dir = self.state.upload_dir
        params = self.params()

        def work() -> dict[str, Any]:
            ctx = Ctx(self.store)
            ctx.store.image_set(set_id)  # NotFound before writing anything
            images = []
            for part in files:
                name = safe_filename(part["filename"])
                folder = upload_dir / str(set_id) / uuid.uuid4().hex[:16]
                folder.mkdir(parents=True, exist_ok=False)
                target = folder / name
                target.write_bytes(part["body"])
                try:
                    image = register_path(
                        ctx.store, set_id, target, roots=(upload_dir,), image_type=image_type
                    )
                except ExactLabError:
                    shutil.rmtree(folder, ignore_errors=True)
                    raise
                if image is None:
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    images.append(image_row(ctx, image))
            results = self.shaped(ctx, images, params)
            return {"count": len(results), "next": None, "previous": None, "results": results}

        self.write_json(await self.run(work))
