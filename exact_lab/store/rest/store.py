"""RestStore: the store contract over exact_lab's HTTP API, acting as the token's user.

Small calls are JSON (``api/native/store/{method}``), bulk reads and writes Arrow IPC streams,
live changes the ``api/events`` websocket. The server decides who the user is: ``as_user`` of
anyone else raises PermissionDenied.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

from exact_lab.entities import (
    Annotation,
    AnnotationType,
    ApiToken,
    Artefact,
    Change,
    Diff,
    Image,
    ImageAction,
    ImageSet,
    MediaFile,
    Membership,
    NewToken,
    Product,
    Revision,
    ScreeningState,
    Team,
    User,
    Verification,
    Version,
)
from exact_lab.errors import BadInput, PermissionDenied
from exact_lab.store import frames
from exact_lab.store.abstract import Bbox, Deleted, Format, Ref, Store, Subscription, ref
from exact_lab.store.density import (
    DENSITY_COLUMNS,
    check_density_args,
    density_frame,
    type_ids,
)
from exact_lab.store.rest._events import WebSocketSubscription
from exact_lab.store.rest._wire import (
    ARROW_STREAM,
    RETRY_FOR,
    Http,
    arrow_bytes,
    decode,
    read_arrow,
)

if TYPE_CHECKING:
    from exact_lab.store.rest._wire import E

__all__ = ["RestStore"]

T = TypeVar("T")


_FAR = 1e308  # JSON has no Infinity: an infinite corner travels as this (beyond any pixel)


def _wire_window(bbox: Bbox) -> list[float]:
    """Return ``bbox`` as four JSON-safe numbers; refuse NaN here, as the server would.

    >>> _wire_window((0, 0, float("inf"), 5))
    [0.0, 0.0, 1e+308, 5.0]
    """
    try:
        corners = [float(v) for v in bbox]
    except (TypeError, ValueError):
        raise BadInput("bbox: expected four numbers (x0, y0, x1, y1)", field="bbox") from None
    if any(math.isnan(v) for v in corners):
        raise BadInput("bbox: a corner is NaN; give four numbers (x0, y0, x1, y1)", field="bbox")
    return [min(max(v, -_FAR), _FAR) for v in corners]


class RestStore(Store):
    """The store contract over HTTP.

    Parameters
    ----------
    url
        The server's exact_lab root, ``http(s)://host[:port][/base_url]exact``.
    token
        A personal access token (``pat_...``) of the acting user.
    retry_for
        Seconds a read keeps retrying, with exponential backoff, while the server cannot be
        reached or answers 502/503/504 (a restart). Writes are never retried; 0 disables it.
    """

    def __init__(self, url: str, token: str, *, retry_for: float = RETRY_FOR) -> None:
        """Open a keep-alive session to ``url`` acting as the owner of ``token``."""
        if not token:
            raise BadInput(
                f"token: connecting to {url} needs a personal access token (token='pat_...' or "
                "$EXACT_LAB_TOKEN); create one with `exact-lab token create --user NAME`",
                field="token",
            )
        self.url = url.rstrip("/")
        self._http = Http(self.url, token, retry_for=retry_for)
        self._subscriptions: list[Subscription] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing
    def _one(self, kind: type[E], method: str, *args: Any, **kwargs: Any) -> E:
        return decode(kind, self._http.call(method, *args, **kwargs))

    def _many(self, kind: type[E], method: str, *args: Any, **kwargs: Any) -> list[E]:
        return [decode(kind, row) for row in self._http.call(method, *args, **kwargs)]

    def __repr__(self) -> str:
        """Show the server."""
        return f"RestStore({self.url!r})"

    # ------------------------------------------------------------------ identity and tokens
    @property
    def user(self) -> User:
        """The token's user, as the server sees it."""
        return self._one(User, "user")

    def as_user(self, username: str) -> Store:
        """Return self for the token's own user; anyone else is refused (the server decides)."""
        if username == self.user.username:
            return self
        raise PermissionDenied(
            f"as_user({username!r}): a RestStore acts as its token's user only; connect with "
            f"a token of {username!r} instead"
        )

    def users(self) -> list[User]:
        """Users sharing a team with the acting user, and the acting user."""
        return self._many(User, "users")

    def get_user(self, user: Ref | str) -> User:
        """Return a user by id or username."""
        return self._one(User, "get_user", user)

    def create_user(self, username: str) -> User:
        """Create a user explicitly."""
        return self._one(User, "create_user", username)

    def deactivate_user(self, user: Ref | str) -> User:
        """Deactivate and anonymise a user."""
        return self._one(User, "deactivate_user", user)

    def create_token(self, name: str) -> NewToken:
        """Create an API token for the acting user."""
        return self._one(NewToken, "create_token", name)

    def tokens(self) -> list[ApiToken]:
        """Return the acting user's tokens."""
        return self._many(ApiToken, "tokens")

    def revoke_token(self, token: Ref) -> None:
        """Delete one of the acting user's tokens."""
        self._http.call("revoke_token", token)

    def authenticate_token(self, plain: str) -> User:
        """Return the active user owning ``plain`` or raise."""
        return self._one(User, "authenticate_token", plain)

    def set_password(self, user: Ref | str, password: str) -> None:
        """Set the token's user's own password (the server refuses anyone else)."""
        self._http.call("set_password", user, password)

    def authenticate_password(self, username: str, password: str) -> User:
        """Log in with HTTP Basic and return the user the server recognises.

        This is the server's Basic check, which also accepts one of the user's personal access
        tokens as the password (EXACT clients send tokens that way).
        """
        if not isinstance(username, str) or not isinstance(password, str):
            raise PermissionDenied("Invalid username/password.")
        return decode(User, self._http.call_as_basic(username, password, "user"))

    # ------------------------------------------------------------------ teams
    def create_team(self, name: str) -> Team:
        """Create a team."""
        return self._one(Team, "create_team", name)

    def teams(self) -> list[Team]:
        """Teams the acting user belongs to."""
        return self._many(Team, "teams")

    def team(self, team: Ref) -> Team:
        """One team."""
        return self._one(Team, "team", team)

    def update_team(self, team: Ref, *, name: str) -> Team:
        """Rename a team."""
        return self._one(Team, "update_team", team, name=name)

    def delete_team(self, team: Ref) -> None:
        """Delete a team without image sets."""
        self._http.call("delete_team", team)

    def memberships(self, team: Ref) -> list[Membership]:
        """Members of a team."""
        return self._many(Membership, "memberships", team)

    def add_member(self, team: Ref, user: Ref | str, *, admin: bool = False) -> Membership:
        """Add a user to a team."""
        return self._one(Membership, "add_member", team, user, admin=admin)

    def set_admin(self, team: Ref, user: Ref | str, admin: bool) -> Membership:  # noqa: FBT001
        """Grant or revoke a member's admin flag."""
        return self._one(Membership, "set_admin", team, user, admin)

    def remove_member(self, team: Ref, user: Ref | str) -> None:
        """Remove a member."""
        self._http.call("remove_member", team, user)

    # ------------------------------------------------------------------ templates
    def create_product(self, team: Ref, name: str, *, description: str = "") -> Product:
        """Create a product."""
        return self._one(Product, "create_product", team, name, description=description)

    def products(self, team: Ref | None = None) -> list[Product]:
        """Products of one team, or of all the acting user's teams."""
        return self._many(Product, "products", team)

    def product(self, product: Ref) -> Product:
        """One product."""
        return self._one(Product, "product", product)

    def update_product(self, product: Ref, **fields: Any) -> Product:
        """Change name and/or description."""
        return self._one(Product, "update_product", product, **fields)

    def delete_product(self, product: Ref) -> None:
        """Delete a product whose types carry no annotations."""
        self._http.call("delete_product", product)

    def create_annotation_type(self, product: Ref, name: str, **fields: Any) -> AnnotationType:
        """Create an annotation type."""
        return self._one(AnnotationType, "create_annotation_type", product, name, **fields)

    def annotation_types(
        self, product: Ref | None = None, *, image_set: Ref | None = None
    ) -> list[AnnotationType]:
        """Types of a product, of an image set's products, or of all visible products."""
        return self._many(AnnotationType, "annotation_types", product, image_set=image_set)

    def annotation_type(self, annotation_type: Ref) -> AnnotationType:
        """One annotation type."""
        return self._one(AnnotationType, "annotation_type", annotation_type)

    def update_annotation_type(self, annotation_type: Ref, **fields: Any) -> AnnotationType:
        """Change fields of an annotation type."""
        return self._one(AnnotationType, "update_annotation_type", annotation_type, **fields)

    def delete_annotation_type(self, annotation_type: Ref) -> None:
        """Delete (or deactivate) an annotation type."""
        self._http.call("delete_annotation_type", annotation_type)

    # ------------------------------------------------------------------ image sets and images
    def create_image_set(self, team: Ref, name: str, **fields: Any) -> ImageSet:
        """Create an image set."""
        return self._one(ImageSet, "create_image_set", team, name, **fields)

    def image_sets(self, team: Ref | None = None) -> list[ImageSet]:
        """Image sets of one team, or of all the acting user's teams."""
        return self._many(ImageSet, "image_sets", team)

    def image_set(self, image_set: Ref) -> ImageSet:
        """One image set."""
        return self._one(ImageSet, "image_set", image_set)

    def update_image_set(self, image_set: Ref, **fields: Any) -> ImageSet:
        """Change fields of an image set."""
        return self._one(ImageSet, "update_image_set", image_set, **fields)

    def delete_image_set(self, image_set: Ref) -> None:
        """Delete an image set without images."""
        self._http.call("delete_image_set", image_set)

    def add_image(
        self, image_set: Ref, name: str, *, width: int, height: int, **fields: Any
    ) -> Image:
        """Register an image."""
        return self._one(Image, "add_image", image_set, name, width=width, height=height, **fields)

    def images(self, image_set: Ref) -> list[Image]:
        """Images of a set."""
        return self._many(Image, "images", image_set)

    def image(self, image: Ref) -> Image:
        """One image."""
        return self._one(Image, "image", image)

    def update_image(self, image: Ref, **fields: Any) -> Image:
        """Change image metadata."""
        return self._one(Image, "update_image", image, **fields)

    def delete_image(self, image: Ref) -> None:
        """Delete an image that never held annotations."""
        self._http.call("delete_image", image)

    # ------------------------------------------------------------------ annotations
    def add_annotations(
        self, rows: pd.DataFrame | pa.Table | Sequence[dict[str, Any]]
    ) -> list[int]:
        """Add many annotations atomically (Arrow tables travel as Arrow, the rest as JSON)."""
        if isinstance(rows, pa.Table):
            answer = self._http.request(
                "POST",
                "native/annotations",
                data=arrow_bytes(rows),
                headers={"Content-Type": ARROW_STREAM},
            )
            return [int(i) for i in answer.json()["ids"]]
        if isinstance(rows, pd.DataFrame):
            records: Any = rows.to_dict("records")
        else:
            records = list(rows)
        return [int(i) for i in self._http.call("add_annotations", records)]

    def upsert_annotation(
        self, image: Ref, unique_identifier: str, annotation_type: Ref, vector: Any, **fields: Any
    ) -> tuple[Annotation, bool]:
        """Create, or overwrite the annotation with this unique_identifier on this image."""
        found, created = self._http.call(
            "upsert_annotation", image, unique_identifier, annotation_type, vector, **fields
        )
        return decode(Annotation, found), bool(created)

    def annotation(self, annotation: Ref) -> Annotation:
        """One annotation."""
        return self._one(Annotation, "annotation", annotation)

    def update_annotation(
        self, annotation: Ref, *, base_revision: int, **changes: Any
    ) -> Annotation:
        """Change an annotation; Conflict when it is no longer at ``base_revision``."""
        return self._one(
            Annotation, "update_annotation", annotation, base_revision=base_revision, **changes
        )

    def delete_annotations(self, annotations: Iterable[Ref]) -> int:
        """Soft-delete many annotations atomically."""
        return int(self._http.call("delete_annotations", [ref(a) for a in annotations]))

    def _frame(
        self,
        table: pa.Table,
        *,
        with_vector: bool,
        format: Format,  # noqa: A002
        names: Sequence[str] | None = None,
    ) -> Any:
        if format == "arrow":
            return table
        return frames.frame_from_arrow(table, with_vector=with_vector, names=names)

    def annotations(
        self,
        *,
        image_set: Ref | None = None,
        image: Ref | None = None,
        annotation_type: Ref | Sequence[Ref] | None = None,
        user: Ref | str | None = None,
        version: Ref | None = None,
        min_verifications: int | None = None,
        deleted: Deleted = False,
        with_vector: bool = True,
        format: Format = "pandas",  # noqa: A002
    ) -> Any:
        """Annotations as a DataFrame (or Arrow table), read as one Arrow stream."""
        if format not in ("pandas", "arrow"):
            raise BadInput(f"format: expected 'pandas' or 'arrow', got {format!r}", field="format")
        table = self._http.arrow(
            "annotations", image_set=image_set, image=image, annotation_type=annotation_type,
            user=user, version=version, min_verifications=min_verifications, deleted=deleted,
            with_vector=with_vector,
        )  # fmt: skip
        return self._frame(table, with_vector=with_vector, format=format)

    def annotations_in(
        self,
        image: Ref,
        bbox: Bbox,
        *,
        annotation_type: Ref | Sequence[Ref] | None = None,
        frame: int | None = None,
        deleted: Deleted = False,
        with_vector: bool = True,
        columns: Sequence[str] | None = None,
        format: Format = "pandas",  # noqa: A002
    ) -> Any:
        """Annotations of an image whose bounding box intersects ``bbox``.

        ``columns`` is checked here and sent only when given, so the server reads and sends
        only those columns (and older servers still answer calls without it).
        """
        names = frames.pick_columns(columns, with_vector=with_vector)
        if format not in ("pandas", "arrow"):
            raise BadInput(f"format: expected 'pandas' or 'arrow', got {format!r}", field="format")
        picked = {} if columns is None else {"columns": names}
        table = self._http.arrow(
            "annotations_in", image, _wire_window(bbox), annotation_type=annotation_type,
            frame=frame, deleted=deleted, with_vector=with_vector, **picked,
        )  # fmt: skip
        return self._frame(table, with_vector=with_vector, format=format, names=names)

    def annotation_density(
        self,
        image: Ref,
        cell: float,
        *,
        bbox: Bbox | None = None,
        frame: int | None = None,
        annotation_type: Ref | Sequence[Ref] | None = None,
        deleted: Deleted = False,
    ) -> pd.DataFrame:
        """Count annotations per grid cell and type on the server (``images/{id}/density``)."""
        size, window = check_density_args(cell, bbox, frame, deleted)
        query: dict[str, Any] = {"cell": repr(size)}
        if window is not None:
            query["bbox"] = ",".join(repr(v) for v in window)
        if frame is not None:
            query["frame"] = frame
        types = type_ids(annotation_type)
        if types is not None:
            if not types:  # no type asked for: nothing to count
                return density_frame([])
            query["types"] = ",".join(str(t) for t in types)
        query["deleted"] = "all" if deleted is None else str(bool(deleted)).lower()
        answer = self._http.request(
            "GET", f"native/images/{ref(image, 'image')}/density", params=query, retry=True
        )
        table = read_arrow(answer.content)
        return pd.DataFrame(
            {name: table.column(name).to_numpy().astype("int64") for name in DENSITY_COLUMNS}
        )

    def history(self, annotation: Ref) -> list[Revision]:
        """Every revision of an annotation, oldest first."""
        return self._many(Revision, "history", annotation)

    # ------------------------------------------------------------------ verifications, media, logs
    def verify(self, annotation: Ref, *, verified: bool = True) -> Verification:
        """Record the acting user's verdict."""
        return self._one(Verification, "verify", annotation, verified=verified)

    def verifications(self, annotation: Ref) -> list[Verification]:
        """Verdicts on an annotation."""
        return self._many(Verification, "verifications", annotation)

    def add_media_file(
        self, annotation: Ref, name: str, *, file: str, media_file_type: int = 2
    ) -> MediaFile:
        """Attach a media file record."""
        return self._one(
            MediaFile, "add_media_file", annotation, name, file=file,
            media_file_type=media_file_type,
        )  # fmt: skip

    def media_files(self, annotation: Ref) -> list[MediaFile]:
        """Media files of an annotation."""
        return self._many(MediaFile, "media_files", annotation)

    def media_file(self, media_file: Ref) -> MediaFile:
        """One media file record."""
        return self._one(MediaFile, "media_file", media_file)

    def delete_media_file(self, media_file: Ref) -> None:
        """Remove a media file record."""
        self._http.call("delete_media_file", media_file)

    def log_image_action(self, image: Ref, action: int, *, ip: str | None = None) -> ImageAction:
        """Append to the image action log."""
        return self._one(ImageAction, "log_image_action", image, action, ip=ip)

    def image_actions(self, image: Ref) -> list[ImageAction]:
        """Return the action log of an image."""
        return self._many(ImageAction, "image_actions", image)

    def save_screening(self, image: Ref, **fields: Any) -> ScreeningState:
        """Create or update the acting user's screening state."""
        return self._one(ScreeningState, "save_screening", image, **fields)

    def screening(self, image: Ref, user: Ref | str | None = None) -> ScreeningState | None:
        """Return a user's screening state on an image."""
        found = self._http.call("screening", image, user)
        return None if found is None else decode(ScreeningState, found)

    # ------------------------------------------------------------------ versions
    def create_version(self, image_set: Ref, name: str, *, description: str = "") -> Version:
        """Freeze the set's current state as a version."""
        return self._one(Version, "create_version", image_set, name, description=description)

    def versions(self, image_set: Ref) -> list[Version]:
        """Versions of a set."""
        return self._many(Version, "versions", image_set)

    def version(self, version: Ref) -> Version:
        """One version."""
        return self._one(Version, "version", version)

    def add_artefact(
        self,
        version: Ref,
        name: str,
        *,
        path: str | None = None,
        metrics: Any = None,
    ) -> Artefact:
        """Attach metrics, or upload a local file (the server stores it and computes SHA-256)."""
        if (path is None) == (metrics is None):
            raise BadInput("path: give exactly one of path= or metrics=", field="path")
        if path is None:
            return self._one(Artefact, "add_artefact", version, name, metrics=metrics)
        file = Path(path)
        if not file.is_file():
            raise BadInput(f"path: {path} is not a readable file", field="path")
        answer = self._http.request(
            "POST",
            f"native/versions/{ref(version, 'version')}/artefacts?{urlencode({'name': name})}",
            data=file.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
        )
        return decode(Artefact, answer.json()["result"])

    def diff(self, v1: Ref, v2: Ref | None = None) -> Diff:
        """Annotations added, removed and changed between versions (computed on the server)."""
        return self._one(Diff, "diff", v1, v2)

    # ------------------------------------------------------------------ change feed
    def subscribe(
        self, callback: Callable[[Change], None], *, image_set: Ref | None = None
    ) -> Subscription:
        """Receive visible committed changes over the events websocket."""
        parts = urlsplit(f"{self.url}/api/events")
        scheme = "wss" if parts.scheme == "https" else "ws"
        query = urlencode({"image_set": ref(image_set, "image_set")}) if image_set else ""
        url = urlunsplit((scheme, parts.netloc, parts.path, query, ""))
        subscription = WebSocketSubscription(url, self._http.token, callback)
        with self._lock:
            self._subscriptions.append(subscription)
        return subscription

    def close(self) -> None:
        """Stop subscriptions and close the HTTP session."""
        with self._lock:
            subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            subscription.close()
        self._http.close()
