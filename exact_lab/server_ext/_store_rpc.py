"""The store contract on the wire, for :class:`~exact_lab.store.rest.RestStore`.

``POST {base}exact/api/native/store/{method}`` with a JSON body ``{"args": [...], "kwargs": {...}}``
calls ``method`` of :class:`~exact_lab.store.Store` as the request's authenticated user and
answers ``{"result": ...}``: entities as their fields (datetimes in ISO 8601, tuples as lists).
``annotations`` and ``annotations_in`` answer with an Arrow IPC stream instead. Only the
contract's methods are callable; ``as_user``, ``subscribe``, ``close`` and
``authenticate_password`` are not (identity comes from the credentials, a password is checked by
HTTP Basic only, live changes come from ``api/events``). ``set_password`` sets the caller's own
password only, and ``add_artefact`` takes ``metrics`` only: files arrive through the upload
route below, never as a path on the server.

``POST {base}exact/api/native/versions/{id}/artefacts?name=NAME`` with the file as the raw body
stores it below ``upload_dir/artefacts/`` and attaches it to the version (SHA-256 computed on
the server) → the artefact's fields.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from typing import Any

import pyarrow as pa
from tornado import web

from exact_lab.errors import BadInput, ExactLabError, NotFound
from exact_lab.server_ext._base import ExactHandler
from exact_lab.server_ext._native import ARROW_STREAM, table_bytes
from exact_lab.server_ext._tiles import parse_id

__all__ = ["CALLABLE", "store_rpc_routes"]

#: The contract methods a client may call (the conveniences are built on these client-side).
CALLABLE = frozenset(
    {
        "user", "users", "get_user", "create_user", "deactivate_user", "create_token", "tokens",
        "revoke_token", "authenticate_token", "set_password", "create_team", "teams", "team",
        "update_team", "delete_team", "memberships", "add_member", "set_admin", "remove_member",
        "create_product", "products", "product", "update_product", "delete_product",
        "create_annotation_type", "annotation_types", "annotation_type",
        "update_annotation_type", "delete_annotation_type", "create_image_set", "image_sets",
        "image_set", "update_image_set", "delete_image_set", "add_image", "images", "image",
        "update_image", "delete_image", "add_annotations", "upsert_annotation", "annotation",
        "update_annotation", "delete_annotations", "annotations", "annotations_in", "history",
        "verify", "verifications", "add_media_file", "media_files", "media_file",
        "delete_media_file",
        "log_image_action", "image_actions", "save_screening", "screening", "create_version",
        "versions", "version", "add_artefact", "diff",
    }
)  # fmt: skip
_FRAMES = frozenset({"annotations", "annotations_in"})
_TOKEN_CHANGES = frozenset({"revoke_token", "deactivate_user", "set_password"})


def plain(value: Any) -> Any:
    """``value`` with entities turned into dicts of their fields (JSON-ready with ``default``)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


class StoreCallHandler(ExactHandler):
    """``POST native/store/{method}``."""

    def arguments(self, method: str) -> tuple[list[Any], dict[str, Any]]:
        """Parse and check the body of a call to ``method``."""
        if method not in CALLABLE:
            raise NotFound(f"method {method!r} is not part of the store contract over HTTP")
        body = self.json_body()
        if not isinstance(body, dict):
            raise BadInput("the body must be a JSON object {'args': [...], 'kwargs': {...}}")
        args, kwargs = body.get("args", []), body.get("kwargs", {})
        if not isinstance(args, list) or not isinstance(kwargs, dict):
            raise BadInput("args must be a JSON list and kwargs a JSON object", field="args")
        if method == "add_artefact" and kwargs.get("path") is not None:
            raise BadInput(
                "path: over HTTP, upload the file to native/versions/{id}/artefacts", field="path"
            )
        if method in _FRAMES:
            kwargs["format"] = "arrow"
        return args, kwargs

    async def post(self, method: str) -> None:
        """Call the method as the authenticated user."""
        args, kwargs = self.arguments(method)

        def work() -> Any:
            store = self.store
            if method == "user":
                return store.user
            try:
                return getattr(store, method)(*args, **kwargs)
            except TypeError as err:  # wrong or unknown arguments from the client
                raise BadInput(f"{method}: {err}") from None

        result = await self.run(work)
        if method in _TOKEN_CHANGES:
            self.state.forget_tokens()
        if method in _FRAMES:
            self.set_header("Content-Type", ARROW_STREAM)
            self.set_header("Cache-Control", "no-store")
            table: pa.Table = result
            self.finish(table_bytes(table))
            return
        self.write_json({"result": plain(result)})


class ArtefactUploadHandler(ExactHandler):
    """``POST native/versions/{id}/artefacts?name=NAME`` with the file as the body."""

    async def post(self, version_id: str) -> None:
        """Store the body under the upload folder and attach it to the version."""
        version = parse_id(version_id, "version")
        name = self.get_query_argument("name", "")
        folder = self.state.upload_dir / "artefacts" / str(version) / uuid.uuid4().hex[:16]
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:100].lstrip(".")
        body = self.request.body

        def work() -> Any:
            store = self.store
            store.version(version)  # 404 before anything is written
            folder.mkdir(parents=True)
            target = folder / (safe or "file")
            target.write_bytes(body)
            try:
                return store.add_artefact(version, name, path=str(target))
            except (ExactLabError, OSError):
                shutil.rmtree(folder, ignore_errors=True)
                raise

        artefact = await self.run(work)
        self.write_json({"result": plain(artefact)}, 201)


def store_rpc_routes(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """Routes below ``prefix`` (``/exact/api/native``)."""
    return [
        (rf"{prefix}/store/([a-z_]{{1,40}})/?", StoreCallHandler),
        (rf"{prefix}/versions/(\d{{1,18}})/artefacts/?", ArtefactUploadHandler),
    ]
