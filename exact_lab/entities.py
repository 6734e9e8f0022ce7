"""What callers of the store see: frozen dataclasses and EXACT's numeric codes.

The store never hands out ORM rows. Every read returns one of these immutable values (or a pandas
DataFrame / Arrow table for bulk reads). Field names and numeric codes follow EXACT
(``vector_type`` 1-8, ``collaboration_type`` 0/1/2, ``media_file_type`` 1-4, ...) so that the REST
layer maps them one to one. This module imports nothing of the project.

Examples
--------
>>> VectorType.POLYGON
<VectorType.POLYGON: 5>
>>> CollaborationType(1).name
'COMPETITIVE'
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACCESS_KINDS",
    "Annotation",
    "AnnotationType",
    "ApiToken",
    "Artefact",
    "Change",
    "CollaborationType",
    "Diff",
    "Image",
    "ImageAction",
    "ImageSet",
    "ImageType",
    "LogAction",
    "MediaFile",
    "MediaFileType",
    "Membership",
    "NewToken",
    "Priority",
    "Product",
    "Revision",
    "ScreeningState",
    "Team",
    "User",
    "VectorType",
    "Verification",
    "Version",
]


class VectorType(enum.IntEnum):
    """EXACT's ``AnnotationType.vector_type`` codes."""

    BOUNDING_BOX = 1
    POINT = 2
    LINE = 3
    MULTI_LINE = 4
    POLYGON = 5
    FIXED_SIZE_BOUNDING_BOX = 6
    GLOBAL = 7
    SEGMENTATION = 8


class CollaborationType(enum.IntEnum):
    """EXACT's ``ImageSet.collaboration_type``: cooperative, blind, second opinion."""

    COLLABORATIVE = 0
    COMPETITIVE = 1
    SECONDOPINION = 2


class Priority(enum.IntEnum):
    """EXACT's ``ImageSet.priority``."""

    LOW = -1
    NORMAL = 0
    HIGH = 1


class ImageType(enum.IntEnum):
    """EXACT's ``Image.image_type``."""

    DEFAULT = 0
    SERVER_GENERATED = 1
    FILE_LINK = 2


class MediaFileType(enum.IntEnum):
    """EXACT's ``AnnotationMediaFile.media_file_type``."""

    UNDEFINED = 1
    IMAGE = 2
    VIDEO = 3
    AUDIO = 4


class LogAction(enum.IntEnum):
    """EXACT's ``LogImageAction.action``."""

    OPEN = 1
    CLOSED = 2


@dataclass(frozen=True)
class User:
    """A person; identity comes from Jupyter/JupyterHub. Deactivated users are anonymised."""

    id: int
    username: str
    is_active: bool
    created_at: dt.datetime


@dataclass(frozen=True)
class Team:
    """A group of users sharing image sets, products and annotation types."""

    id: int
    name: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Membership:
    """A user's membership in a team; admins manage members, products, types and sets."""

    id: int
    team: int
    user: int
    username: str
    is_admin: bool


@dataclass(frozen=True)
class Product:
    """An annotation template: a named bundle of annotation types owned by a team."""

    id: int
    name: str
    description: str
    team: int
    creator: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class AnnotationType:
    """A label of a product, with EXACT's drawing switches plus a keyboard shortcut."""

    id: int
    product: int
    name: str
    vector_type: int
    color_code: str
    default_width: int
    default_height: int
    sort_order: int
    keyboard_shortcut: str | None
    node_count: int
    closed: bool
    area_hit_test: bool
    enable_concealed: bool
    enable_blurred: bool
    multi_frame: bool
    active: bool


@dataclass(frozen=True)
class ImageSet:
    """A set of images annotated by one team."""

    id: int
    team: int
    name: str
    description: str
    location: str
    tags: tuple[str, ...]
    products: tuple[int, ...]
    main_annotation_type: int | None
    collaboration_type: int
    priority: int
    creator: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Image:
    """A slide in an image set.

    ``name`` is the public (pseudonymised) name. ``original_name`` and ``path`` are private: they
    are ``None`` unless the acting user is an admin of the set's team.
    """

    id: int
    image_set: int
    name: str
    width: int
    height: int
    mpp: float
    objective_power: float
    frames: int
    depth: int
    channels: int
    image_type: int
    default_frame: int
    checksum: str | None
    original_name: str | None
    path: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class Annotation:
    """One annotation, in EXACT's flat vector format ``{"x1":..,"y1":..,...}`` (level 0 pixels).

    ``revision`` counts this annotation's changes (1 after creation); an update names it as its
    base. ``x_min`` ... ``y_max`` are the bounding box of the vector (``None`` without a vector).
    ``verified_count`` is the number of users who verified it (``verified=True``).
    """

    id: int
    image: int
    image_set: int
    annotation_type: int
    vector: dict[str, Any] | None
    frame: int
    x_min: float | None
    y_min: float | None
    x_max: float | None
    y_max: float | None
    unique_identifier: str
    description: str
    meta_data: Any
    user: int | None
    last_editor: int | None
    time: dt.datetime
    last_edit_time: dt.datetime
    deleted: bool
    concealed: bool
    blurred: bool
    revision: int
    verified_count: int


@dataclass(frozen=True)
class Verification:
    """One user's verdict on one annotation (unique per annotation and user)."""

    id: int
    annotation: int
    user: int
    verified: bool
    time: dt.datetime


@dataclass(frozen=True)
class MediaFile:
    """A file attached to an annotation; ``file`` is a path or URL the store does not read."""

    id: int
    annotation: int
    name: str
    media_file_type: int
    file: str


@dataclass(frozen=True)
class ImageAction:
    """An entry of the image action log (open/close of an image by a user)."""

    id: int
    image: int
    user: int
    action: int
    ip: str | None
    time: dt.datetime


@dataclass(frozen=True)
class ScreeningState:
    """A user's screening progress on one image (EXACT's ScreeningMode)."""

    id: int
    image: int
    user: int
    screening_tiles: dict[str, Any]
    x_steps: int
    y_steps: int
    x_resolution: int
    y_resolution: int
    current_index: int


@dataclass(frozen=True)
class ApiToken:
    """An API token's public part; the secret is stored hashed and shown only once."""

    id: int
    user: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used: dt.datetime | None


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: ``plain`` (``pat_<prefix>.<secret>``) is never shown again."""

    token: ApiToken
    plain: str = field(repr=False)


@dataclass(frozen=True)
class Revision:
    """One immutable entry of an annotation's history: who changed what, when.

    ``position`` orders all revisions of the store; ``old`` and ``new`` are the annotation's state
    before and after (``old`` is ``None`` for a creation).
    """

    position: int
    annotation: int
    revision: int
    action: str
    user: int | None
    time: dt.datetime
    old: dict[str, Any] | None
    new: dict[str, Any]


@dataclass(frozen=True)
class Artefact:
    """A file or metrics JSON attached to a version, with its SHA-256 checksum."""

    id: int
    version: int
    name: str
    path: str | None
    metrics: Any
    sha256: str
    size: int


@dataclass(frozen=True)
class Version:
    """A dataset version: a point in the history plus the set's image list. Nothing is copied."""

    id: int
    image_set: int
    name: str
    description: str
    position: int
    images: tuple[int, ...]
    creator: int | None
    time: dt.datetime
    artefacts: tuple[Artefact, ...]


@dataclass(frozen=True)
class Diff:
    """Annotation ids added, removed (deleted or gone) and changed between two states of a set."""

    added: tuple[int, ...]
    removed: tuple[int, ...]
    changed: tuple[int, ...]


#: Kinds of :class:`Change` that can alter who may see what (or where an image's file is).
ACCESS_KINDS = frozenset({"membership", "team", "image_set", "image", "user"})


@dataclass(frozen=True)
class Change:
    """A committed change, as delivered to change-feed subscribers.

    ``kind`` names the entity (``"annotation"``, ``"image"``, ``"image_set"``, ...), ``action`` is
    ``"created"``, ``"updated"`` or ``"deleted"``. Bulk writes arrive as one change whose ``ids``
    may be empty (too many to list) while ``count`` says how many rows changed.
    """

    kind: str
    action: str
    team: int | None
    image_set: int | None
    image: int | None
    ids: tuple[int, ...]
    count: int
    user: int | None
    position: int | None = None
