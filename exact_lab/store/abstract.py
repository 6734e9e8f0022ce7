"""The one store contract: every implementation (SQL, REST) passes the same test suite.

Primitives are abstract; conveniences (``add_annotation``, ``delete_annotation``, ``diff``,
``team_named``, ...) are built once here on top of them. Every call acts as :attr:`Store.user`
and is checked: team members read and write their team's image sets; team admins manage members,
products, annotation types and image sets; anyone else gets :class:`~exact_lab.errors.NotFound`
with the same message as for an object that does not exist.

Arguments naming an object accept its id or the entity itself.

Examples
--------
>>> from exact_lab.store import connect
>>> store = connect("sqlite://", user="alice")
>>> team = store.create_team("Pathology")
>>> product = store.create_product(team, "Mitosis")
>>> mitosis = store.create_annotation_type(product, "mitotic figure", vector_type=1)
>>> slides = store.create_image_set(team, "Breast cases", products=[product])
>>> image = store.add_image(slides, "260101-0900-A1B2", width=4000, height=3000)
>>> a = store.add_annotation(image, mitosis, {"x1": 10, "y1": 10, "x2": 60, "y2": 60})
>>> a.revision
1
>>> store.update_annotation(a, base_revision=1, description="clear").revision
2
>>> len(store.annotations(image_set=slides))
1
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import Self

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
from exact_lab.errors import NotFound

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["Ref", "Store", "Subscription", "ref"]

Ref = int | Any  # an id, or an entity carrying ``.id``
Bbox = tuple[float, float, float, float]
Deleted = bool | None  # False: live only (default), True: deleted only, None: both
Format = Literal["pandas", "arrow"]


def ref(value: Ref, what: str = "id") -> int:
    """Return the id of ``value`` (an int or an entity with an ``id``)."""
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected an id or an entity, got {value!r}")
    if isinstance(value, int):
        return value
    ident = getattr(value, "id", None)
    if isinstance(ident, int):
        return ident
    raise TypeError(f"{what}: expected an id or an entity, got {type(value).__name__}")


class Subscription(abc.ABC):
    """A live change-feed subscription; ``close()`` (or leaving a ``with`` block) ends it."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stop delivering changes."""

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(self, *_: object) -> None:
        """Close the subscription."""
        self.close()


class Store(abc.ABC):
    """The annotation store, acting as one user. See the module docstring for the rules."""

    # ------------------------------------------------------------------ identity and tokens
    @property
    @abc.abstractmethod
    def user(self) -> User:
        """The acting user (created on first use)."""

    @abc.abstractmethod
    def as_user(self, username: str) -> Store:
        """Return a store sharing this one's connection but acting as ``username`` (trusted)."""

    @abc.abstractmethod
    def users(self) -> list[User]:
        """Users sharing a team with the acting user, and the acting user."""

    @abc.abstractmethod
    def get_user(self, user: Ref | str) -> User:
        """Return a user by id or username."""

    @abc.abstractmethod
    def create_user(self, username: str) -> User:
        """Create a user explicitly (users are otherwise created on first use)."""

    @abc.abstractmethod
    def deactivate_user(self, user: Ref | str) -> User:
        """Deactivate and anonymise a user; their annotations and history stay.

        Allowed for the user themself and for admins of a team the user belongs to.
        """

    @abc.abstractmethod
    def create_token(self, name: str) -> NewToken:
        """Create an API token for the acting user; ``plain`` is shown only this once."""

    @abc.abstractmethod
    def tokens(self) -> list[ApiToken]:
        """Return the acting user's tokens (without secrets)."""

    @abc.abstractmethod
    def revoke_token(self, token: Ref) -> None:
        """Delete one of the acting user's tokens."""

    @abc.abstractmethod
    def authenticate_token(self, plain: str) -> User:
        """Return the active user owning ``plain`` (``pat_<prefix>.<secret>``) or raise."""

    @abc.abstractmethod
    def set_password(self, user: Ref | str, password: str) -> None:
        """Set the password ``user`` logs in with over HTTP Basic; only for oneself.

        Nobody sets another user's password through the store; an administrator with the
        database URL uses ``exact-lab user set-password NAME`` instead. A password has at least
        8 characters (else BadInput); deactivating a user clears it.

        >>> from exact_lab.store import connect
        >>> store = connect("sqlite://", user="carol")
        >>> store.set_password("carol", "a long passphrase")
        >>> store.authenticate_password("carol", "a long passphrase").username
        'carol'
        """

    @abc.abstractmethod
    def authenticate_password(self, username: str, password: str) -> User:
        """Return the active user ``username`` if ``password`` is theirs.

        Raises PermissionDenied "Invalid username/password." for an unknown user, a wrong
        password, a user without a password and a deactivated user alike, so the answer does
        not tell which.
        """

    # ------------------------------------------------------------------ teams
    @abc.abstractmethod
    def create_team(self, name: str) -> Team:
        """Create a team; the acting user becomes its admin."""

    @abc.abstractmethod
    def teams(self) -> list[Team]:
        """Teams the acting user belongs to."""

    @abc.abstractmethod
    def team(self, team: Ref) -> Team:
        """One team the acting user belongs to."""

    @abc.abstractmethod
    def update_team(self, team: Ref, *, name: str) -> Team:
        """Rename a team (admins)."""

    @abc.abstractmethod
    def delete_team(self, team: Ref) -> None:
        """Delete a team without image sets (admins)."""

    @abc.abstractmethod
    def memberships(self, team: Ref) -> list[Membership]:
        """Members of a team."""

    @abc.abstractmethod
    def add_member(self, team: Ref, user: Ref | str, *, admin: bool = False) -> Membership:
        """Add a user (created on first use when given by name) to a team (admins)."""

    @abc.abstractmethod
    def set_admin(self, team: Ref, user: Ref | str, admin: bool) -> Membership:  # noqa: FBT001
        """Grant or revoke a member's admin flag (admins; a team keeps at least one admin)."""

    @abc.abstractmethod
    def remove_member(self, team: Ref, user: Ref | str) -> None:
        """Remove a member (admins; a team keeps at least one admin)."""

    # ------------------------------------------------------------------ templates
    @abc.abstractmethod
    def create_product(self, team: Ref, name: str, *, description: str = "") -> Product:
        """Create a product (annotation template) in a team (admins)."""

    @abc.abstractmethod
    def products(self, team: Ref | None = None) -> list[Product]:
        """Products of one team, or of all the acting user's teams."""

    @abc.abstractmethod
    def product(self, product: Ref) -> Product:
        """One product."""

    @abc.abstractmethod
    def update_product(self, product: Ref, **fields: Any) -> Product:
        """Change ``name`` and/or ``description`` (admins)."""

    @abc.abstractmethod
    def delete_product(self, product: Ref) -> None:
        """Delete a product whose types carry no annotations (admins)."""

    @abc.abstractmethod
    def create_annotation_type(self, product: Ref, name: str, **fields: Any) -> AnnotationType:
        """Create an annotation type (admins). ``fields`` are AnnotationType's fields."""

    @abc.abstractmethod
    def annotation_types(
        self, product: Ref | None = None, *, image_set: Ref | None = None
    ) -> list[AnnotationType]:
        """Types of a product, of an image set's products, or of all visible products."""

    @abc.abstractmethod
    def annotation_type(self, annotation_type: Ref) -> AnnotationType:
        """One annotation type."""

    @abc.abstractmethod
    def update_annotation_type(self, annotation_type: Ref, **fields: Any) -> AnnotationType:
        """Change fields of an annotation type (admins)."""

    @abc.abstractmethod
    def delete_annotation_type(self, annotation_type: Ref) -> None:
        """Delete a type that no annotation uses (admins); otherwise set ``active=False``."""

    # ------------------------------------------------------------------ image sets and images
    @abc.abstractmethod
    def create_image_set(self, team: Ref, name: str, **fields: Any) -> ImageSet:
        """Create an image set (admins).

        ``fields``: description, location, tags, products, main_annotation_type,
        collaboration_type (0/1/2), priority (-1/0/1).
        """

    @abc.abstractmethod
    def image_sets(self, team: Ref | None = None) -> list[ImageSet]:
        """Image sets of one team, or of all the acting user's teams."""

    @abc.abstractmethod
    def image_set(self, image_set: Ref) -> ImageSet:
        """One image set."""

    @abc.abstractmethod
    def update_image_set(self, image_set: Ref, **fields: Any) -> ImageSet:
        """Change fields of an image set (admins)."""

    @abc.abstractmethod
    def delete_image_set(self, image_set: Ref) -> None:
        """Delete an image set without images (admins)."""

    @abc.abstractmethod
    def add_image(
        self, image_set: Ref, name: str, *, width: int, height: int, **fields: Any
    ) -> Image:
        """Register an image (members); ``name`` is the public pseudonymised name.

        ``fields``: original_name, path (both private to team admins), mpp, objective_power,
        frames, depth, channels, image_type, default_frame, checksum (the tiles package computes
        them; the store only keeps them).
        """

    @abc.abstractmethod
    def images(self, image_set: Ref) -> list[Image]:
        """Images of a set, ordered by id."""

    @abc.abstractmethod
    def image(self, image: Ref) -> Image:
        """One image."""

    @abc.abstractmethod
    def update_image(self, image: Ref, **fields: Any) -> Image:
        """Change image metadata (admins)."""

    @abc.abstractmethod
    def delete_image(self, image: Ref) -> None:
        """Delete an image that never held annotations (admins)."""

    # ------------------------------------------------------------------ annotations
    @abc.abstractmethod
    def add_annotations(
        self, rows: pd.DataFrame | pa.Table | Sequence[dict[str, Any]]
    ) -> list[int]:
        """Add many annotations atomically; return their ids in input order.

        Columns: ``image``, ``annotation_type`` and either ``vector`` (EXACT dicts or None) or
        ``x_min, y_min, x_max, y_max`` (a bounding box); optional ``frame``,
        ``unique_identifier``, ``description``, ``meta_data``, ``concealed``, ``blurred``.
        PostgreSQL uses binary COPY. An existing unique_identifier raises Conflict.
        """

    @abc.abstractmethod
    def upsert_annotation(
        self, image: Ref, unique_identifier: str, annotation_type: Ref, vector: Any, **fields: Any
    ) -> tuple[Annotation, bool]:
        """Create, or overwrite the annotation with this unique_identifier on this image.

        Returns the annotation and whether it was created (EXACT answers 201 vs 200).
        """

    @abc.abstractmethod
    def annotation(self, annotation: Ref) -> Annotation:
        """One annotation."""

    @abc.abstractmethod
    def update_annotation(
        self, annotation: Ref, *, base_revision: int, **changes: Any
    ) -> Annotation:
        """Change annotation_type, vector, description, meta_data, deleted, concealed, blurred.

        Raises Conflict when the annotation's revision is no longer ``base_revision``.
        """

    @abc.abstractmethod
    def delete_annotations(self, annotations: Iterable[Ref]) -> int:
        """Soft-delete many annotations atomically; return how many changed."""

    @abc.abstractmethod
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
        """Annotations as a DataFrame (or Arrow table), one row each; see ``frames.COLUMNS``.

        With ``version`` the rows are the annotations as they were in that version.
        """

    @abc.abstractmethod
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
        """Annotations of an image whose bounding box intersects ``(x0, y0, x1, y1)``.

        One row per annotation, ordered by id, with the columns of ``frames.COLUMNS``
        (``vector`` only ``with_vector``). ``columns`` returns only the columns named, in that
        order, and the database reads and sends only those: a viewer drawing shapes needs
        ``["id", "annotation_type", "revision", "vector"]``, a count per type
        ``["annotation_type"]``. An unknown or repeated name is ``BadInput(field="columns")``
        listing the valid ones. ``annotation_type``, ``frame`` and ``deleted`` filter as in
        :meth:`annotations`; a window corner may be infinite, never NaN.

        >>> window = (0, 0, 2000, 2000)
        >>> store.annotations_in(image, window, columns=["id", "x_min"])  # doctest: +SKIP
             id   x_min
        0  1024  1180.0
        """

    @abc.abstractmethod
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
        """Count an image's annotations per grid cell and type, in the database.

        The grid has square cells of ``cell`` level-0 px (at least 1) from the image's top-left
        corner; an annotation counts in the cell holding the centre of its bounding box,
        ``cx = floor((x_min + x_max) / (2 * cell))``, ``cy`` likewise. One row per non-empty
        (cell, type), ordered by ``cy``, ``cx``, type; columns ``cx``, ``cy``,
        ``annotation_type``, ``count`` (int64). Global labels (no bounding box) never count.
        ``bbox`` keeps the annotations whose bounding box intersects it (those of
        :meth:`annotations_in`); ``frame``, ``annotation_type`` and ``deleted`` filter as
        there. Access follows :meth:`annotations`: competitive sets count only the caller's
        own annotations (team admins: all).

        >>> density = store.annotation_density(image, 1000)  # doctest: +SKIP
        >>> density.pivot_table("count", "cy", "cx", aggfunc="sum", fill_value=0)  # doctest: +SKIP
        """

    @abc.abstractmethod
    def history(self, annotation: Ref) -> list[Revision]:
        """Every revision of an annotation, oldest first: who changed what, when."""

    # ------------------------------------------------------------------ verifications, media, logs
    @abc.abstractmethod
    def verify(self, annotation: Ref, *, verified: bool = True) -> Verification:
        """Record (or change) the acting user's verdict on an annotation."""

    @abc.abstractmethod
    def verifications(self, annotation: Ref) -> list[Verification]:
        """Verdicts on an annotation."""

    @abc.abstractmethod
    def add_media_file(
        self, annotation: Ref, name: str, *, file: str, media_file_type: int = 2
    ) -> MediaFile:
        """Attach a media file (path or URL) to an annotation."""

    @abc.abstractmethod
    def media_files(self, annotation: Ref) -> list[MediaFile]:
        """Media files of an annotation."""

    @abc.abstractmethod
    def media_file(self, media_file: Ref) -> MediaFile:
        """One media file record (NotFound when its annotation is not visible)."""

    @abc.abstractmethod
    def delete_media_file(self, media_file: Ref) -> None:
        """Remove a media file record."""

    @abc.abstractmethod
    def log_image_action(self, image: Ref, action: int, *, ip: str | None = None) -> ImageAction:
        """Append to the image action log (1 OPEN, 2 CLOSED)."""

    @abc.abstractmethod
    def image_actions(self, image: Ref) -> list[ImageAction]:
        """Return the action log of an image, oldest first."""

    @abc.abstractmethod
    def save_screening(self, image: Ref, **fields: Any) -> ScreeningState:
        """Create or update the acting user's screening state on an image."""

    @abc.abstractmethod
    def screening(self, image: Ref, user: Ref | str | None = None) -> ScreeningState | None:
        """Return a user's (default: the acting user's) screening state on an image."""

    # ------------------------------------------------------------------ versions
    @abc.abstractmethod
    def create_version(self, image_set: Ref, name: str, *, description: str = "") -> Version:
        """Freeze the set's current state as a version; nothing is copied."""

    @abc.abstractmethod
    def versions(self, image_set: Ref) -> list[Version]:
        """Versions of a set, oldest first."""

    @abc.abstractmethod
    def version(self, version: Ref) -> Version:
        """One version."""

    @abc.abstractmethod
    def add_artefact(
        self,
        version: Ref,
        name: str,
        *,
        path: str | None = None,
        metrics: Any = None,
    ) -> Artefact:
        """Attach a file (its SHA-256 is computed) or a metrics JSON to a version."""

    # ------------------------------------------------------------------ change feed
    @abc.abstractmethod
    def subscribe(
        self, callback: Callable[[Change], None], *, image_set: Ref | None = None
    ) -> Subscription:
        """Call ``callback(change)`` in a background thread for every visible committed change.

        Changes made by this process arrive on every backend; on PostgreSQL (LISTEN/NOTIFY) changes
        made by other processes arrive too. Returns a Subscription; ``close()`` ends it.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Release connections and stop subscriptions."""

    # ================================================================== conveniences
    def add_annotation(
        self, image: Ref, annotation_type: Ref, vector: Any, **fields: Any
    ) -> Annotation:
        """Add one annotation; ``fields`` as for :meth:`add_annotations`."""
        row = {"image": ref(image), "annotation_type": ref(annotation_type), "vector": vector}
        (ident,) = self.add_annotations([{**row, **fields}])
        return self.annotation(ident)

    def delete_annotation(self, annotation: Ref, *, base_revision: int | None = None) -> Annotation:
        """Soft-delete one annotation (optionally checking its revision)."""
        if base_revision is None:
            base_revision = self.annotation(annotation).revision
        return self.update_annotation(annotation, base_revision=base_revision, deleted=True)

    def diff(self, v1: Ref, v2: Ref | None = None) -> Diff:
        """Annotations added, removed and changed from version ``v1`` to ``v2`` (default: now)."""
        old = self.annotations(version=v1, with_vector=False)
        image_set = self.version(v1).image_set
        if v2 is None:
            new = self.annotations(image_set=image_set, with_vector=False)
        else:
            new = self.annotations(version=v2, with_vector=False)
        before = dict(zip(old["id"].tolist(), old["revision"].tolist(), strict=True))
        after = dict(zip(new["id"].tolist(), new["revision"].tolist(), strict=True))
        return Diff(
            added=tuple(sorted(set(after) - set(before))),
            removed=tuple(sorted(set(before) - set(after))),
            changed=tuple(sorted(i for i in set(before) & set(after) if before[i] != after[i])),
        )

    def team_named(self, name: str) -> Team:
        """Return the acting user's team called ``name``."""
        for team in self.teams():
            if team.name == name:
                return team
        raise NotFound(f"team {name!r} does not exist (or you are not a member)")

    def image_set_named(self, team: Ref, name: str) -> ImageSet:
        """Return the image set called ``name`` in a team."""
        for image_set in self.image_sets(team):
            if image_set.name == name:
                return image_set
        raise NotFound(f"image set {name!r} does not exist in team {ref(team)}")

    def product_named(self, team: Ref, name: str) -> Product:
        """Return the product called ``name`` in a team."""
        for product in self.products(team):
            if product.name == name:
                return product
        raise NotFound(f"product {name!r} does not exist in team {ref(team)}")

    def __enter__(self) -> Self:
        """Return self."""
        return self

    def __exit__(self, *_: object) -> None:
        """Close the store."""
        self.close()
