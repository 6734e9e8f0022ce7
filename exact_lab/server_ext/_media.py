"""``annotations/annotation_media_files``: files attached to annotations, uploaded or linked.

- ``POST`` multipart/form-data with ``annotation``, a ``file`` part and optionally ``name``
  and ``media_file_type`` (1 undefined, 2 image, 3 video, 4 audio) stores the file below
  ``upload_dir/media/<annotation>/<random>/`` and records it. The type is recognised from the
  file's first bytes, never from its name; an image, video or audio type must match them, and
  type 1 takes any file. Files above ``ExactLabApp.media_max_mb`` are refused with 413.
- ``POST`` JSON ``{"annotation", "name", "file"}`` records a link (a URL) without content.
- ``GET .../{id}/download/`` sends an uploaded file as an attachment (``nosniff``), so a file
  cannot run as a page of this server.
- ``DELETE .../{id}/`` removes the record and the uploaded file.

The store keeps an upload as ``exact-lab-upload:media/...`` (relative to ``upload_dir``); the
API shows its download URL in ``file`` instead.
"""

from __future__ import annotations

import shutil
import urllib.parse
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from tornado import web

from exact_lab.entities import MediaFile
from exact_lab.errors import BadInput, ExactLabError, NotFound
from exact_lab.server_ext._context import Ctx, as_id
from exact_lab.server_ext._images import safe_filename
from exact_lab.server_ext._query import EXACT_IN, TEXT, Filter
from exact_lab.server_ext._resources import ID, Resource, Row
from exact_lab.server_ext._rest import ListHandler, _ResourceHandler
from exact_lab.server_ext._tiles import parse_id
from exact_lab.tiles import check_allowed

__all__ = ["MediaDownloadHandler", "MediaFiles", "MediaListHandler", "sniff"]

PATH = "annotations/annotation_media_files"
UPLOAD = "exact-lab-upload:"
UNDEFINED, IMAGE, VIDEO, AUDIO = 1, 2, 3, 4
KINDS = {UNDEFINED: "undefined", IMAGE: "image", VIDEO: "video", AUDIO: "audio"}
_PREFIXES: tuple[tuple[bytes, frozenset[int], str], ...] = (
    (b"\x89PNG\r\n\x1a\n", frozenset({IMAGE}), "image/png"),
    (b"\xff\xd8\xff", frozenset({IMAGE}), "image/jpeg"),
    (b"GIF87a", frozenset({IMAGE}), "image/gif"),
    (b"GIF89a", frozenset({IMAGE}), "image/gif"),
    (b"II*\x00", frozenset({IMAGE}), "image/tiff"),
    (b"MM\x00*", frozenset({IMAGE}), "image/tiff"),
    (b"BM", frozenset({IMAGE}), "image/bmp"),
    (b"\x1aE\xdf\xa3", frozenset({VIDEO, AUDIO}), "video/webm"),
    (b"OggS", frozenset({AUDIO, VIDEO}), "audio/ogg"),
    (b"fLaC", frozenset({AUDIO}), "audio/flac"),
    (b"ID3", frozenset({AUDIO}), "audio/mpeg"),
)
_RIFF = {b"WEBP": ({IMAGE}, "image/webp"), b"WAVE": ({AUDIO}, "audio/wav"),
         b"AVI ": ({VIDEO}, "video/x-msvideo")}  # fmt: skip
_KNOWN = (
    "an image (PNG, JPEG, GIF, TIFF, BMP, WebP), video (MP4, QuickTime, WebM, AVI, Ogg) or "
    "audio (MP3, WAV, FLAC, Ogg, M4A) file"
)


def sniff(head: bytes) -> tuple[frozenset[int], str] | None:
    r"""Return (possible media types, MIME type) recognised from a file's first bytes.

    >>> sniff(b"\x89PNG\r\n\x1a\n" + bytes(8))
    (frozenset({2}), 'image/png')
    >>> sniff(b"<html><script>") is None
    True
    """
    for prefix, kinds, mime in _PREFIXES:
        if head.startswith(prefix):
            return kinds, mime
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        kinds_set, mime = _RIFF[head[8:12]]
        return frozenset(kinds_set), mime
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in {b"M4A ", b"M4B "}:
            return frozenset({AUDIO}), "audio/mp4"
        return frozenset({VIDEO}), "video/quicktime" if brand == b"qt  " else "video/mp4"
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # noqa: PLR2004 - MPEG sync
        return frozenset({AUDIO}), "audio/mpeg"
    return None


def check_media(data: bytes, wanted: int | None, *, limit: int) -> int:
    """Return the media type of an upload, or raise BadInput (413 when it is too large)."""
    if len(data) > limit:
        raise web.HTTPError(
            413, f"file: {len(data)} bytes exceed the limit of {limit} bytes for media files"
        )
    if not data:
        raise BadInput("file: the file is empty", field="file")
    if wanted is not None and wanted not in KINDS:
        raise BadInput(
            f"media_file_type: expected 1, 2, 3 or 4, got {wanted}", field="media_file_type"
        )
    if wanted == UNDEFINED:
        return UNDEFINED
    found = sniff(data[:16])
    if found is None:
        raise BadInput(
            f"file: not {_KNOWN}; send media_file_type=1 to attach any other file", field="file"
        )
    kinds, mime = found
    if wanted is None:
        return min(kinds)
    if wanted not in kinds:
        raise BadInput(
            f"file: its content is {mime}, not {KINDS[wanted]} (media_file_type={wanted}); "
            "send the matching media_file_type",
            field="file",
        )
    return wanted


def _media_type(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadInput(
            f"media_file_type: expected 1, 2, 3 or 4, got {value!r}", field="media_file_type"
        ) from None


class MediaFiles(Resource):
    """The resource; uploads arrive through :class:`MediaListHandler`."""

    path = PATH
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "media_file_type": Filter("int", EXACT_IN),
        "annotation": ID,
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {"annotation": "annotations/annotations"}

    @staticmethod
    def public(ctx: Ctx, media: MediaFile) -> Row:
        """Return the record as EXACT shows it: an upload's ``file`` is its download URL."""
        row: Row = {
            "id": media.id,
            "name": media.name,
            "media_file_type": media.media_file_type,
            "file": media.file,
            "annotation": media.annotation,
        }
        if media.file.startswith(UPLOAD):
            row["file"] = f"{ctx.api_root}{PATH}/{media.id}/download/"
        return row

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:
        wanted = params.get("annotation")
        if not (wanted and wanted.isdigit()):
            raise BadInput(
                "annotation: filter media files by annotation (?annotation=ID)", field="annotation"
            )
        return [self.public(ctx, f) for f in ctx.store.media_files(as_id(wanted, "annotation"))]

    def row(self, ctx: Ctx, ident: int) -> Row:
        return self.public(ctx, ctx.store.media_file(ident))

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        if not isinstance(data, dict):
            raise BadInput("expected a JSON object, or multipart/form-data with a file part")
        for key in ("annotation", "name", "file"):
            if data.get(key) is None:
                raise BadInput(f"{key}: This field is required.", field=key)
        if str(data["file"]).startswith(UPLOAD):
            raise BadInput("file: upload the file as multipart/form-data", field="file")
        made = ctx.store.add_media_file(
            as_id(data["annotation"], "annotation"), str(data["name"]), file=str(data["file"]),
            media_file_type=_media_type(data.get("media_file_type")) or IMAGE,
        )  # fmt: skip
        return self.public(ctx, made), 201

    def delete(self, ctx: Ctx, ident: int) -> None:
        media = ctx.store.media_file(ident)
        ctx.store.delete_media_file(ident)
        if media.file.startswith(UPLOAD) and ctx.upload_dir is not None:
            target = uploaded_path(ctx.upload_dir, media)
            shutil.rmtree(target.parent, ignore_errors=True)


def uploaded_path(upload_dir: Path, media: MediaFile) -> Path:
    """Return the file of an uploaded media record (it must lie in ``upload_dir/media``)."""
    relative = media.file[len(UPLOAD) :]
    return check_allowed(upload_dir / relative, [upload_dir / "media"])


class MediaListHandler(ListHandler):
    """``GET`` a page, ``POST`` a multipart upload or a JSON link."""

    async def post(self) -> None:
        """Store an uploaded file (201 with the record), or record a link (JSON)."""
        if not self.request.headers.get("Content-Type", "").startswith("multipart/form-data"):
            await super().post()
            return
        fields = {
            k: v[-1].decode("utf-8", "replace") for k, v in self.request.body_arguments.items()
        }
        parts = [p for group in self.request.files.values() for p in group]
        if len(parts) != 1:
            raise BadInput(f"file: send exactly one file part, got {len(parts)}", field="file")
        part = parts[0]
        annotation = as_id(fields.get("annotation"), "annotation")
        kind = check_media(
            part["body"], _media_type(fields.get("media_file_type")),
            limit=self.state.media_max_bytes,
        )  # fmt: skip
        filename = safe_filename(part["filename"] or "file")
        name = fields.get("name") or filename
        upload_dir, params = self.state.upload_dir, self.params()

        def work() -> Any:
            ctx = self.ctx()
            ctx.store.annotation(annotation)  # NotFound before anything is written
            relative = Path("media") / str(annotation) / uuid.uuid4().hex[:16] / filename
            target = upload_dir / relative
            target.parent.mkdir(parents=True)
            target.write_bytes(part["body"])
            try:
                made = ctx.store.add_media_file(
                    annotation, name, file=f"{UPLOAD}{relative.as_posix()}", media_file_type=kind
                )
            except (ExactLabError, OSError):
                shutil.rmtree(target.parent, ignore_errors=True)
                raise
            return self.shaped(ctx, MediaFiles.public(ctx, made), params)

        self.write_json(await self.run(work), 201)


class MediaDownloadHandler(_ResourceHandler):
    """``GET annotations/annotation_media_files/{id}/download/``."""

    async def get(self, ident: str) -> None:
        """Send the uploaded file as an attachment."""
        key = parse_id(ident, "media file")
        upload_dir = self.state.upload_dir

        def work() -> tuple[MediaFile, bytes]:
            media = self.store.media_file(key)
            if not media.file.startswith(UPLOAD):
                raise NotFound(
                    f"media file {key} is a link, not an upload; fetch it from its 'file' URL"
                )
            try:
                return media, uploaded_path(upload_dir, media).read_bytes()
            except OSError:
                raise NotFound(f"the file of media file {key} is missing on the server") from None

        media, data = await self.run(work)
        found = sniff(data[:16])
        mime = found[1] if found and media.media_file_type != UNDEFINED else ""
        filename = media.file.rsplit("/", 1)[-1]
        self.set_header("Content-Type", mime or "application/octet-stream")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, no-store")
        self.set_header(
            "Content-Disposition",
            f"attachment; filename*=UTF-8''{urllib.parse.quote(filename, safe='')}",
        )
        self.finish(data)
