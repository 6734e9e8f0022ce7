"""SQLAlchemy 2 models of the SQL store (never handed to callers).

Constraint and index names follow a naming convention so that migrations can address them on
every backend (SQLite migrations use ``batch_alter_table``). JSON columns are JSONB on PostgreSQL.
On PostgreSQL the viewport uses the B-tree ``ix_annotations_set_image_cell`` on grid cells
(migration 0005, see :mod:`exact_lab.store.sql.grid`); SQLite's R*Tree, kept in step by
triggers (migrations 0002/0003), is not part of this metadata.

``annotations`` and ``annotation_revisions`` carry no foreign keys on purpose: PostgreSQL checks a
foreign key with one query per inserted row, which made bulk COPY several times slower. The
store checks every reference itself (in the writing transaction, with the referenced images
locked ``FOR SHARE``) and never hard-deletes a user, or an image, image set or annotation type
that history refers to.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Stamp = sa.DateTime(timezone=True)


def utcnow() -> dt.datetime:
    """Return the current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    """Declarative base carrying the naming convention."""

    metadata = sa.MetaData(naming_convention=NAMING)


def _fk(target: str, *, cascade: bool = True) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete="CASCADE" if cascade else "SET NULL")


class UserRow(Base):
    """A user (``users``)."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(200), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)
    # scrypt hash for HTTP Basic (migration 0004); NULL: no password login
    password_hash: Mapped[str | None] = mapped_column(sa.String(300), default=None)


class TeamRow(Base):
    """A team (``teams``)."""

    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)


class MembershipRow(Base):
    """A team membership with its admin flag (``memberships``)."""

    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("team_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(_fk("teams.id"), index=True)
    user_id: Mapped[int] = mapped_column(_fk("users.id"), index=True)
    is_admin: Mapped[bool] = mapped_column(default=False)


class ProductRow(Base):
    """An annotation template (``products``)."""

    __tablename__ = "products"
    __table_args__ = (sa.UniqueConstraint("team_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(_fk("teams.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    creator_id: Mapped[int | None] = mapped_column(_fk("users.id", cascade=False))
    created_at: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)


class AnnotationTypeRow(Base):
    """An annotation type of a product (``annotation_types``)."""

    __tablename__ = "annotation_types"
    __table_args__ = (sa.UniqueConstraint("product_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(_fk("products.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    vector_type: Mapped[int] = mapped_column(default=1)
    color_code: Mapped[str] = mapped_column(sa.String(7), default="#CC4444")
    default_width: Mapped[int] = mapped_column(default=50)
    default_height: Mapped[int] = mapped_column(default=50)
    sort_order: Mapped[int] = mapped_column(default=0)
    keyboard_shortcut: Mapped[str | None] = mapped_column(sa.String(20))
    node_count: Mapped[int] = mapped_column(default=0)
    closed: Mapped[bool] = mapped_column(default=True)
    area_hit_test: Mapped[bool] = mapped_column(default=True)
    enable_concealed: Mapped[bool] = mapped_column(default=True)
    enable_blurred: Mapped[bool] = mapped_column(default=True)
    multi_frame: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)


image_set_products = sa.Table(
    "image_set_products",
    Base.metadata,
    sa.Column("image_set_id", sa.ForeignKey("image_sets.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("product_id", sa.ForeignKey("products.id", ondelete="CASCADE"), primary_key=True),
)


class ImageSetRow(Base):
    """An image set (``image_sets``)."""

    __tablename__ = "image_sets"
    __table_args__ = (sa.UniqueConstraint("team_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(_fk("teams.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    tags: Mapped[Any] = mapped_column(JSONType, default=list)
    main_annotation_type_id: Mapped[int | None] = mapped_column(
        _fk("annotation_types.id", cascade=False)
    )
    collaboration_type: Mapped[int] = mapped_column(default=0)
    priority: Mapped[int] = mapped_column(default=0)
    creator_id: Mapped[int | None] = mapped_column(_fk("users.id", cascade=False))
    created_at: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)


class ImageRow(Base):
    """An image (``images``); ``original_name`` and ``path`` are private to team admins."""

    __tablename__ = "images"
    __table_args__ = (sa.UniqueConstraint("image_set_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    image_set_id: Mapped[int] = mapped_column(_fk("image_sets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    original_name: Mapped[str | None] = mapped_column(sa.String(500))
    path: Mapped[str | None] = mapped_column(sa.Text)
    width: Mapped[int]
    height: Mapped[int]
    mpp: Mapped[float] = mapped_column(default=0.0)
    objective_power: Mapped[float] = mapped_column(default=1.0)
    frames: Mapped[int] = mapped_column(default=1)
    depth: Mapped[int] = mapped_column(default=1)
    channels: Mapped[int] = mapped_column(default=3)
    image_type: Mapped[int] = mapped_column(default=0)
    default_frame: Mapped[int] = mapped_column(default=1)
    checksum: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)


class _StateMixin:
    """Columns shared by an annotation and each of its revisions (its state)."""

    annotation_type_id: Mapped[int]
    #: EXACT's flat vector; SQL NULL with a bounding box means the box's integer corners
    #: (PostgreSQL bulk writes, migration 0006; read it through ``convert.row_vector``)
    vector: Mapped[Any] = mapped_column(JSONType, nullable=True)
    frame: Mapped[int] = mapped_column(default=1)
    x_min: Mapped[float | None] = mapped_column(sa.Float)
    y_min: Mapped[float | None] = mapped_column(sa.Float)
    x_max: Mapped[float | None] = mapped_column(sa.Float)
    y_max: Mapped[float | None] = mapped_column(sa.Float)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    meta_data: Mapped[Any] = mapped_column(JSONType, nullable=True)
    deleted: Mapped[bool] = mapped_column(default=False)
    concealed: Mapped[bool] = mapped_column(default=False)
    blurred: Mapped[bool] = mapped_column(default=False)


class AnnotationRow(_StateMixin, Base):
    """The current state of an annotation (``annotations``).

    ``position`` is the history position at which this state was written; ``revision`` counts
    the annotation's states (1 after creation).
    """

    __tablename__ = "annotations"
    __table_args__ = (
        sa.UniqueConstraint("image_id", "unique_identifier"),
        # reads by set, by image and (PostgreSQL) the viewport's grid cells (migration 0005)
        sa.Index("ix_annotations_set_image_cell", "image_set_id", "image_id", "cell"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    image_id: Mapped[int] = mapped_column()
    image_set_id: Mapped[int] = mapped_column()
    #: bytewise on PostgreSQL (migration 0008): the unique key is checked at every insert
    unique_identifier: Mapped[str] = mapped_column(
        sa.String(64).with_variant(sa.String(64, collation="C"), "postgresql")
    )
    user_id: Mapped[int | None] = mapped_column()
    last_editor_id: Mapped[int | None] = mapped_column()
    time: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)
    last_edit_time: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)
    revision: Mapped[int] = mapped_column(default=1)
    position: Mapped[int] = mapped_column(sa.BigInteger)
    action: Mapped[str] = mapped_column(sa.String(8), default="create")
    verified_count: Mapped[int] = mapped_column(default=0)
    #: grid cell of the bounding box (:func:`exact_lab.store.sql.grid.cell_key`), NULL without one
    cell: Mapped[int | None] = mapped_column(sa.BigInteger)


class RevisionRow(_StateMixin, Base):
    """A superseded state of an annotation (``annotation_revisions``), append-only.

    The state was written at history ``position`` by ``user_id`` at ``time`` and replaced at
    position ``superseded``. The current state lives in ``annotations``; together they are the
    full history, and a bulk insert writes no revision rows at all.
    """

    __tablename__ = "annotation_revisions"
    __table_args__ = (
        sa.UniqueConstraint("annotation_id", "revision"),
        sa.Index("ix_annotation_revisions_set_superseded", "image_set_id", "superseded"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    annotation_id: Mapped[int] = mapped_column(sa.BigInteger)
    image_id: Mapped[int] = mapped_column()
    image_set_id: Mapped[int] = mapped_column()
    revision: Mapped[int]
    action: Mapped[str] = mapped_column(sa.String(8))
    user_id: Mapped[int | None] = mapped_column()
    time: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)
    position: Mapped[int] = mapped_column(sa.BigInteger)
    superseded: Mapped[int] = mapped_column(sa.BigInteger)


class HistoryClock(Base):
    """One row holding the newest history position (``history_clock``; SQLite only uses it).

    On PostgreSQL the sequence ``history_position_seq`` plays this part without serialising
    writers.
    """

    __tablename__ = "history_clock"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(sa.BigInteger, default=0)


class VerificationRow(Base):
    """A verification (``verifications``), unique per annotation and user."""

    __tablename__ = "verifications"
    __table_args__ = (sa.UniqueConstraint("annotation_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(sa.BigInteger, _fk("annotations.id"))
    user_id: Mapped[int] = mapped_column(_fk("users.id"))
    verified: Mapped[bool] = mapped_column(default=True)
    time: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)


class MediaFileRow(Base):
    """A media file attached to an annotation (``annotation_media_files``)."""

    __tablename__ = "annotation_media_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    annotation_id: Mapped[int] = mapped_column(sa.BigInteger, _fk("annotations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    media_file_type: Mapped[int] = mapped_column(default=2)
    file: Mapped[str] = mapped_column(sa.Text)


class ImageActionRow(Base):
    """An entry of the image action log (``image_actions``)."""

    __tablename__ = "image_actions"
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(_fk("images.id"), index=True)
    user_id: Mapped[int] = mapped_column(_fk("users.id"))
    action: Mapped[int]
    ip: Mapped[str | None] = mapped_column(sa.String(64))
    time: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)


class ScreeningRow(Base):
    """Screening progress per image and user (``screening_states``)."""

    __tablename__ = "screening_states"
    __table_args__ = (sa.UniqueConstraint("image_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    image_id: Mapped[int] = mapped_column(_fk("images.id"))
    user_id: Mapped[int] = mapped_column(_fk("users.id"))
    screening_tiles: Mapped[Any] = mapped_column(JSONType, default=dict)
    x_steps: Mapped[int] = mapped_column(default=0)
    y_steps: Mapped[int] = mapped_column(default=0)
    x_resolution: Mapped[int] = mapped_column(default=0)
    y_resolution: Mapped[int] = mapped_column(default=0)
    current_index: Mapped[int] = mapped_column(default=0)


class TokenRow(Base):
    """An API token, stored as the SHA-256 of its secret (``api_tokens``)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(_fk("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    prefix: Mapped[str] = mapped_column(sa.String(32), unique=True)
    digest: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(Stamp)
    last_used: Mapped[dt.datetime | None] = mapped_column(Stamp)


class VersionRow(Base):
    """A dataset version: a history position plus an image list (``versions``)."""

    __tablename__ = "versions"
    __table_args__ = (sa.UniqueConstraint("image_set_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    image_set_id: Mapped[int] = mapped_column(_fk("image_sets.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    position: Mapped[int] = mapped_column(sa.BigInteger)
    images: Mapped[Any] = mapped_column(JSONType)
    creator_id: Mapped[int | None] = mapped_column(_fk("users.id", cascade=False))
    time: Mapped[dt.datetime] = mapped_column(Stamp, default=utcnow)


class ArtefactRow(Base):
    """A file or metrics JSON attached to a version (``version_artefacts``)."""

    __tablename__ = "version_artefacts"
    __table_args__ = (sa.UniqueConstraint("version_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(_fk("versions.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    path: Mapped[str | None] = mapped_column(sa.Text)
    metrics: Mapped[Any] = mapped_column(JSONType, nullable=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int] = mapped_column(sa.BigInteger)
