"""Entities as EXACT's JSON objects (every key exact-sync requires, lazily computed relations)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import math
from typing import Any

from exact_lab.entities import (
    AnnotationType,
    ApiToken,
    Image,
    ImageAction,
    ImageSet,
    MediaFile,
    Membership,
    Product,
    ScreeningState,
    Team,
    User,
    Verification,
    Version,
)
from exact_lab.server_ext._context import Ctx

__all__ = [
    "action_row",
    "annotation_row",
    "image_row",
    "media_row",
    "membership_row",
    "product_row",
    "screening_row",
    "set_row",
    "tag_id",
    "team_row",
    "token_row",
    "type_row",
    "user_row",
    "verification_row",
    "version_row",
]

Row = dict[str, Any]


def iso(value: Any) -> str | None:
    """ISO 8601 text of a datetime (pandas timestamps too), ``None`` stays ``None``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    to_py = getattr(value, "to_pydatetime", None)
    if to_py is not None:
        value = to_py()
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def user_row(ctx: Ctx, user: User) -> Row:
    """``users/users``."""
    return {
        "id": user.id,
        "username": user.username,
        "is_superuser": False,
        "is_staff": False,
        "is_active": user.is_active,
        "last_login": None,
        "date_joined": iso(user.created_at),
        "team_set": lambda: [
            t.id for t in ctx.teams() if any(m.user == user.id for m in ctx.memberships(t.id))
        ],
    }


def team_row(ctx: Ctx, team: Team) -> Row:
    """``users/teams``."""
    return {
        "id": team.id,
        "name": team.name,
        "members": lambda: [m.user for m in ctx.memberships(team.id)],
        "image_sets": lambda: [s.id for s in ctx.image_sets() if s.team == team.id],
        "product_set": lambda: [p.id for p in ctx.products() if p.team == team.id],
        "memberships": lambda: [m.id for m in ctx.memberships(team.id)],
    }


def membership_row(membership: Membership) -> Row:
    """``users/team_membership``."""
    return {
        "id": membership.id,
        "is_admin": membership.is_admin,
        "team": membership.team,
        "user": membership.user,
        "username": membership.username,
    }


def product_row(ctx: Ctx, product: Product) -> Row:
    """``administration/products``."""
    return {
        "id": product.id,
        "name": product.name,
        "description": product.description,
        "team": product.team,
        "creator": product.creator,
        "time": iso(product.created_at),
        "imagesets": lambda: [s.id for s in ctx.image_sets() if product.id in s.products],
        "annotationtype_set": lambda: [
            t.id for t in ctx.annotation_types() if t.product == product.id
        ],
    }


def type_row(annotation_type: AnnotationType) -> Row:
    """``annotations/annotation_types``."""
    return dataclasses.asdict(annotation_type)


def set_row(ctx: Ctx, image_set: ImageSet) -> Row:
    """``images/image_sets`` (tags as ids under ``set_tags``, as names under ``tags``)."""
    return {
        "id": image_set.id,
        "name": image_set.name,
        "path": f"exact_lab_{image_set.team}_{image_set.id}",
        "location": image_set.location,
        "description": image_set.description,
        "images": lambda: [i.id for i in ctx.images(image_set.id)],
        "product_set": list(image_set.products),
        "main_annotation_type": image_set.main_annotation_type,
        "set_tags": [tag_id(t) for t in image_set.tags],
        "tags": list(image_set.tags),
        "team": image_set.team,
        "creator": image_set.creator,
        "collaboration_type": image_set.collaboration_type,
        "priority": image_set.priority,
        "time": iso(image_set.created_at),
    }


def tag_id(name: str) -> int:
    """Return the id of the set tag called ``name``: 31 bits of its SHA-256, never 0.

    >>> tag_id("breast") == tag_id("breast"), tag_id("breast") == tag_id("lung")
    (True, False)
    """
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 1) + 1


def image_row(ctx: Ctx, image: Image) -> Row:
    """``images/images``.

    ``name`` is the public pseudonym; ``filename`` the original name for team admins and the
    pseudonym for everyone else.
    """

    def annotation_ids() -> list[int]:
        frame = ctx.store.annotations(image=image.id, with_vector=False)
        return [int(i) for i in frame["id"].tolist()]

    return {
        "id": image.id,
        "name": image.name,
        "filename": image.original_name or image.name,
        "time": iso(image.created_at),
        "height": image.height,
        "width": image.width,
        "depth": image.depth,
        "frames": image.frames,
        "channels": image.channels,
        "mpp": image.mpp,
        "objectivePower": image.objective_power,
        "FrameDescriptions": [],
        "defaultFrame": image.default_frame,
        "image_type": image.image_type,
        "image_set": image.image_set,
        "checksum": image.checksum,
        "annotations": annotation_ids,
    }


def annotation_row(ctx: Ctx, record: Row) -> Row:
    """``annotations/annotations`` from a row of ``Store.annotations()`` or an entity dict."""
    ident = int(record["id"])
    verified = int(record.get("verified_count") or 0)

    def verified_by_user() -> bool:
        if not verified:
            return False
        return any(v.user == ctx.me and v.verified for v in ctx.store.verifications(ident))

    def media() -> list[int]:
        return [f.id for f in ctx.store.media_files(ident)]

    return {
        "annotation_type": int(record["annotation_type"]),
        "id": ident,
        "vector": record.get("vector"),
        "verified_by_user": verified_by_user,
        "image": int(record["image"]),
        "concealed": bool(record["concealed"]),
        "blurred": bool(record["blurred"]),
        "last_editor": _opt_int(record.get("last_editor")),
        "last_edit_time": iso(record.get("last_edit_time")),
        "user": _opt_int(record.get("user")),
        "time": iso(record.get("time")),
        "generated": False,
        "deleted": bool(record["deleted"]),
        "description": record.get("description") or "",
        "unique_identifier": str(record["unique_identifier"]),
        "uploaded_media_files": media,
        "meta_data": record.get("meta_data"),
        "annotationversion_set": [],
        "revision": int(record["revision"]),
        "frame": int(record.get("frame") or 1),
        "image_set": int(record["image_set"]),
    }


def _opt_int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        if math.isnan(value):
            return None
    except TypeError:
        return None
    return int(value)


def token_row(token: ApiToken) -> Row:
    """``users/tokens`` (never the secret)."""
    return {
        "id": token.id,
        "name": token.name,
        "prefix": f"pat_{token.prefix}",
        "created_at": iso(token.created_at),
        "expires_at": iso(token.expires_at),
        "last_used": iso(token.last_used),
    }


def verification_row(verification: Verification) -> Row:
    """``annotations/verifications``."""
    return {**dataclasses.asdict(verification), "time": iso(verification.time)}


def media_row(media: MediaFile) -> Row:
    """``annotations/annotation_media_files``."""
    return dataclasses.asdict(media)


def action_row(action: ImageAction) -> Row:
    """``annotations/log_image_actions``."""
    return {**dataclasses.asdict(action), "time": iso(action.time)}


def screening_row(state: ScreeningState) -> Row:
    """``images/screening_modes``."""
    return dataclasses.asdict(state)


def version_row(version: Version) -> Row:
    """``images/set_versions`` (one image set per version)."""
    return {
        "id": version.id,
        "name": version.name,
        "description": version.description,
        "imagesets": [version.image_set],
        "time": iso(version.time),
        "annotationversion_set": [],
        "file": None,
        "images": list(version.images),
        "creator": version.creator,
    }
