"""ORM rows to entities: the only place where rows turn into what callers see."""

from __future__ import annotations

import datetime as dt
from typing import Any

from exact_lab.entities import (
    Annotation,
    AnnotationType,
    ApiToken,
    Artefact,
    Image,
    ImageAction,
    ImageSet,
    MediaFile,
    Product,
    ScreeningState,
    Team,
    User,
    Verification,
    Version,
)
from exact_lab.store.sql import boxvec
from exact_lab.store.sql import models as m

STATE_FIELDS = (
    "annotation_type",
    "vector",
    "frame",
    "description",
    "meta_data",
    "deleted",
    "concealed",
    "blurred",
)


def utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` as an aware UTC datetime (SQLite hands back naive ones)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def maybe_utc(value: dt.datetime | None) -> dt.datetime | None:
    """:func:`utc` that lets ``None`` through."""
    return None if value is None else utc(value)


def user(row: m.UserRow) -> User:
    """Convert a user row."""
    return User(row.id, row.username, row.is_active, utc(row.created_at))


def team(row: m.TeamRow) -> Team:
    """Convert a team row."""
    return Team(row.id, row.name, utc(row.created_at))


def product(row: m.ProductRow) -> Product:
    """Convert a product row."""
    return Product(
        row.id, row.name, row.description, row.team_id, row.creator_id, utc(row.created_at)
    )


def annotation_type(row: m.AnnotationTypeRow) -> AnnotationType:
    """Convert an annotation type row."""
    return AnnotationType(
        id=row.id,
        product=row.product_id,
        name=row.name,
        vector_type=row.vector_type,
        color_code=row.color_code,
        default_width=row.default_width,
        default_height=row.default_height,
        sort_order=row.sort_order,
        keyboard_shortcut=row.keyboard_shortcut,
        node_count=row.node_count,
        closed=row.closed,
        area_hit_test=row.area_hit_test,
        enable_concealed=row.enable_concealed,
        enable_blurred=row.enable_blurred,
        multi_frame=row.multi_frame,
        active=row.active,
    )


def image_set(row: m.ImageSetRow, products: list[int]) -> ImageSet:
    """Convert an image set row with its product ids."""
    return ImageSet(
        id=row.id,
        team=row.team_id,
        name=row.name,
        description=row.description,
        location=row.location,
        tags=tuple(row.tags or ()),
        products=tuple(sorted(products)),
        main_annotation_type=row.main_annotation_type_id,
        collaboration_type=row.collaboration_type,
        priority=row.priority,
        creator=row.creator_id,
        created_at=utc(row.created_at),
    )


def image(row: m.ImageRow, *, private: bool) -> Image:
    """Convert an image row; private fields only when ``private`` (team admins)."""
    return Image(
        id=row.id,
        image_set=row.image_set_id,
        name=row.name,
        width=row.width,
        height=row.height,
        mpp=row.mpp,
        objective_power=row.objective_power,
        frames=row.frames,
        depth=row.depth,
        channels=row.channels,
        image_type=row.image_type,
        default_frame=row.default_frame,
        checksum=row.checksum,
        original_name=row.original_name if private else None,
        path=row.path if private else None,
        created_at=utc(row.created_at),
    )


def row_vector(row: m.RevisionRow | m.AnnotationRow) -> Any:
    """Return the EXACT vector of an annotation state (a box may be stored as its bbox only)."""
    return boxvec.box_vector(row.vector, row.x_min, row.y_min, row.x_max, row.y_max)


def annotation(row: m.AnnotationRow) -> Annotation:
    """Convert an annotation row."""
    return Annotation(
        id=row.id,
        image=row.image_id,
        image_set=row.image_set_id,
        annotation_type=row.annotation_type_id,
        vector=row_vector(row),
        frame=row.frame,
        x_min=row.x_min,
        y_min=row.y_min,
        x_max=row.x_max,
        y_max=row.y_max,
        unique_identifier=row.unique_identifier,
        description=row.description,
        meta_data=row.meta_data,
        user=row.user_id,
        last_editor=row.last_editor_id,
        time=utc(row.time),
        last_edit_time=utc(row.last_edit_time),
        deleted=row.deleted,
        concealed=row.concealed,
        blurred=row.blurred,
        revision=row.revision,
        verified_count=row.verified_count,
    )


def state(row: m.RevisionRow | m.AnnotationRow) -> dict[str, Any]:
    """Return the versioned state of an annotation or revision, as a plain dict."""
    return {
        "annotation_type": row.annotation_type_id,
        "vector": row_vector(row),
        "frame": row.frame,
        "description": row.description,
        "meta_data": row.meta_data,
        "deleted": row.deleted,
        "concealed": row.concealed,
        "blurred": row.blurred,
    }


def verification(row: m.VerificationRow) -> Verification:
    """Convert a verification row."""
    return Verification(row.id, row.annotation_id, row.user_id, row.verified, utc(row.time))


def media_file(row: m.MediaFileRow) -> MediaFile:
    """Convert a media file row."""
    return MediaFile(row.id, row.annotation_id, row.name, row.media_file_type, row.file)


def image_action(row: m.ImageActionRow) -> ImageAction:
    """Convert an image action row."""
    return ImageAction(row.id, row.image_id, row.user_id, row.action, row.ip, utc(row.time))


def screening(row: m.ScreeningRow) -> ScreeningState:
    """Convert a screening row."""
    return ScreeningState(
        id=row.id,
        image=row.image_id,
        user=row.user_id,
        screening_tiles=dict(row.screening_tiles or {}),
        x_steps=row.x_steps,
        y_steps=row.y_steps,
        x_resolution=row.x_resolution,
        y_resolution=row.y_resolution,
        current_index=row.current_index,
    )


def token(row: m.TokenRow) -> ApiToken:
    """Convert a token row (never the digest)."""
    return ApiToken(
        id=row.id,
        user=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_at=utc(row.created_at),
        expires_at=maybe_utc(row.expires_at),
        last_used=maybe_utc(row.last_used),
    )


def artefact(row: m.ArtefactRow) -> Artefact:
    """Convert an artefact row."""
    return Artefact(row.id, row.version_id, row.name, row.path, row.metrics, row.sha256, row.size)


def version(row: m.VersionRow, artefacts: list[m.ArtefactRow]) -> Version:
    """Convert a version row with its artefacts."""
    return Version(
        id=row.id,
        image_set=row.image_set_id,
        name=row.name,
        description=row.description,
        position=row.position,
        images=tuple(row.images or ()),
        creator=row.creator_id,
        time=utc(row.time),
        artefacts=tuple(artefact(a) for a in sorted(artefacts, key=lambda a: a.id)),
    )
