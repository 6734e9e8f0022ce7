"""The REST resources of ``/api/v1`` in EXACT's layout, each a thin mapping onto the store.

A resource lists its rows (plain dicts, see :mod:`._serialize`), names its filters and its
expandable fields, and translates writes into store calls. Every call runs in the executor
with the request's :class:`~._context.Ctx`, so the store checks every right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tornado import web

from exact_lab.errors import BadInput, NotFound
from exact_lab.server_ext import _serialize as ser
from exact_lab.server_ext._context import Ctx, as_id, as_ids
from exact_lab.server_ext._query import EXACT_IN, NUMERIC, TEXT, TIME, Filter, resolve
from exact_lab.store.validation import node_rule

__all__ = ["RESOURCES", "Resource"]

Row = dict[str, Any]
BOOL = Filter("bool")
ID = Filter("int", EXACT_IN)


def _dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise BadInput("expected a JSON object")
    return data


def _pick(data: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """Rename the known keys of ``data`` (``mapping``: JSON key → store field); drop the rest."""
    return {field: data[key] for key, field in mapping.items() if key in data}


def _required(data: Mapping[str, Any], *keys: str) -> None:
    for key in keys:
        if data.get(key) is None:
            raise BadInput(f"{key}: This field is required.", field=key)


class Resource:
    """A collection at ``/api/v1/{path}/`` with detail routes ``{path}/{id}/``."""

    path: ClassVar[str]
    filters: ClassVar[dict[str, Filter]] = {"id": ID}
    expandable: ClassVar[dict[str, str]] = {}
    #: Query parameters renamed before filtering (EXACT names → filter names).
    aliases: ClassVar[dict[str, str]] = {}

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> Sequence[Row]:  # noqa: ARG002
        """Every row visible to the user (``params`` lets a resource narrow the query early)."""
        raise web.HTTPError(405)

    def row(self, ctx: Ctx, ident: int) -> Row:
        """One row (404 when invisible)."""
        for row in self.rows(ctx, {}):
            if row["id"] == ident:
                return row
        raise NotFound(f"No {self.path.rsplit('/', 1)[-1]} matches the given query.")

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:  # noqa: ARG002
        """Create from a JSON body; return (row or rows, status)."""
        raise web.HTTPError(405)

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        """PUT/PATCH."""
        raise web.HTTPError(405)

    def delete(self, ctx: Ctx, ident: int) -> None:  # noqa: ARG002
        """DELETE."""
        raise web.HTTPError(405)


class Users(Resource):
    """``users/users``: users sharing a team with the requester. Create takes ``username``."""

    path = "users/users"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "username": Filter("str", TEXT), "is_superuser": BOOL, "is_staff": BOOL,
        "is_active": BOOL, "last_login": Filter("time", TIME), "team": Filter(
            "int", EXACT_IN, lambda row: resolve(row["team_set"])),
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {"team_set": "users/teams"}

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.user_row(ctx, u) for u in ctx.store.users()]

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "username")
        return ser.user_row(ctx, ctx.store.create_user(str(data["username"]))), 201


class Teams(Resource):
    """``users/teams``: the requester's teams; the creator becomes an admin."""

    path = "users/teams"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "members": Filter("int", EXACT_IN),
        "image_sets": Filter("int", EXACT_IN), "memberships": Filter("int", EXACT_IN),
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {
        "members": "users/users", "image_sets": "images/image_sets",
        "product_set": "administration/products", "memberships": "users/team_membership",
    }  # fmt: skip

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.team_row(ctx, t) for t in ctx.teams()]

    def row(self, ctx: Ctx, ident: int) -> Row:
        return ser.team_row(ctx, ctx.store.team(ident))

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "name")
        return ser.team_row(ctx, ctx.store.create_team(data["name"])), 201

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        data = _dict(data)
        if "name" in data:
            ctx.store.update_team(ident, name=data["name"])
        return self.row(ctx, ident)

    def delete(self, ctx: Ctx, ident: int) -> None:
        ctx.store.delete_team(ident)


class Memberships(Resource):
    """``users/team_membership``: members of the requester's teams (admins add and remove)."""

    path = "users/team_membership"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "is_admin": BOOL, "team": ID, "user": ID,
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {"team": "users/teams", "user": "users/users"}

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.membership_row(m) for t in ctx.teams() for m in ctx.memberships(t.id)]

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "team", "user")
        user = (
            data["user"]
            if isinstance(data["user"], str) and not data["user"].isdigit()
            else (as_id(data["user"], "user"))
        )
        member = ctx.store.add_member(
            as_id(data["team"], "team"), user, admin=bool(data.get("is_admin", False))
        )
        return ser.membership_row(member), 201

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        data = _dict(data)
        row = self.row(ctx, ident)
        if "is_admin" in data:
            ctx.store.set_admin(row["team"], row["user"], bool(data["is_admin"]))
        ctx.forget()
        return self.row(ctx, ident)

    def delete(self, ctx: Ctx, ident: int) -> None:
        row = self.row(ctx, ident)
        ctx.store.remove_member(row["team"], row["user"])


class Products(Resource):
    """``administration/products``: annotation templates of the requester's teams."""

    path = "administration/products"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "description": Filter("str", TEXT), "team": ID,
        "creator": ID, "imagesets": Filter("int", EXACT_IN),
        "annotationtype": Filter("int", EXACT_IN, lambda r: resolve(r["annotationtype_set"])),
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {
        "team": "users/teams", "creator": "users/users", "imagesets": "images/image_sets",
        "annotationtype_set": "annotations/annotation_types",
    }  # fmt: skip

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.product_row(ctx, p) for p in ctx.products()]

    def row(self, ctx: Ctx, ident: int) -> Row:
        return ser.product_row(ctx, ctx.store.product(ident))

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "name", "team")
        product = ctx.store.create_product(
            as_id(data["team"], "team"), data["name"], description=data.get("description") or ""
        )
        return ser.product_row(ctx, product), 201

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        fields = _pick(_dict(data), {"name": "name", "description": "description"})
        if fields:
            ctx.store.update_product(ident, **fields)
        return self.row(ctx, ident)

    def delete(self, ctx: Ctx, ident: int) -> None:
        ctx.store.delete_product(ident)


TYPE_FIELDS = {
    k: k
    for k in (
        "name", "vector_type", "color_code", "default_width", "default_height", "sort_order",
        "keyboard_shortcut", "node_count", "closed", "area_hit_test", "enable_concealed",
        "enable_blurred", "multi_frame", "active",
    )
}  # fmt: skip
_TYPE_BOOLS = {
    "closed",
    "area_hit_test",
    "enable_concealed",
    "enable_blurred",
    "multi_frame",
    "active",
}


def _type_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _pick(data, TYPE_FIELDS)
    _lenient_node_count(fields)
    for key in _TYPE_BOOLS & set(fields):
        value = fields[key]
        if isinstance(value, int) and not isinstance(value, bool) and value in {0, 1}:
            fields[key] = bool(value)  # exact-sync sends 1/0 for its booleans
    return fields


def _lenient_node_count(fields: dict[str, Any]) -> None:
    """Treat a node_count the vector type cannot have as 0 (unspecified).

    exact-sync's AnnotationType sends ``node_count=1`` by default, which no shape satisfies;
    EXACT ignores it because its API does not validate vectors.
    """
    count, kind = fields.get("node_count"), fields.get("vector_type", 1)
    if not isinstance(count, int) or isinstance(count, bool) or not count:
        return
    if not isinstance(kind, int) or kind not in range(1, 9):
        return
    low, exact, _label = node_rule(kind)
    if count < low or (exact is not None and count != exact):
        fields["node_count"] = 0


class AnnotationTypes(Resource):
    """``annotations/annotation_types``."""

    path = "annotations/annotation_types"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "vector_type": Filter("int", NUMERIC),
        "active": BOOL, "product": ID,
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {"product": "administration/products"}

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.type_row(t) for t in ctx.annotation_types()]

    def row(self, ctx: Ctx, ident: int) -> Row:
        return ser.type_row(ctx.store.annotation_type(ident))

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "name", "product")
        fields = _type_fields(data)
        name = fields.pop("name")
        made = ctx.store.create_annotation_type(as_id(data["product"], "product"), name, **fields)
        return ser.type_row(made), 201

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        fields = _type_fields(_dict(data))
        if fields:
            return ser.type_row(ctx.store.update_annotation_type(ident, **fields))
        return self.row(ctx, ident)

    def delete(self, ctx: Ctx, ident: int) -> None:
        ctx.store.delete_annotation_type(ident)


SET_FIELDS = {
    "name": "name", "description": "description", "location": "location",
    "main_annotation_type": "main_annotation_type", "collaboration_type": "collaboration_type",
    "priority": "priority", "tags": "tags",
}  # fmt: skip


def _set_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    fields = _pick(data, SET_FIELDS)
    if "product_set" in data:
        fields["products"] = as_ids(data["product_set"], "product_set")
    if fields.get("main_annotation_type") is not None:
        fields["main_annotation_type"] = as_id(
            fields["main_annotation_type"], "main_annotation_type"
        )
    return fields


def _with_tags(ctx: Ctx, data: Mapping[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``set_tags`` (ids of existing tags) become tag names, unless ``tags`` names them."""
    from exact_lab.server_ext._set_tags import tag_names  # noqa: PLC0415 - it imports us

    if "set_tags" in data and "tags" not in data:
        fields["tags"] = tag_names(ctx, data["set_tags"])
    return fields


class ImageSets(Resource):
    """``images/image_sets``. ``public`` and ``creator`` writes are ignored.

    ``set_tags`` are ids of tags that exist already (``images/set_tags``); ``tags`` (names)
    creates tags on the fly.
    """

    path = "images/image_sets"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "path": Filter("str", TEXT),
        "location": Filter("str", TEXT), "description": Filter("str", TEXT),
        "time": Filter("time", TIME), "team": ID, "creator": ID,
        "main_annotation_type": ID, "collaboration_type": Filter("int", EXACT_IN),
        "priority": Filter("int", EXACT_IN), "images": Filter("int", EXACT_IN),
        "product": Filter("int", EXACT_IN, lambda r: r["product_set"]),
        "product_set": Filter("int", EXACT_IN), "set_tags": Filter("int", EXACT_IN),
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {
        "team": "users/teams", "creator": "users/users", "images": "images/images",
        "product_set": "administration/products", "set_tags": "images/set_tags",
        "main_annotation_type": "annotations/annotation_types",
    }  # fmt: skip

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.set_row(ctx, s) for s in ctx.image_sets()]

    def row(self, ctx: Ctx, ident: int) -> Row:
        return ser.set_row(ctx, ctx.store.image_set(ident))

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "name", "team")
        fields = _with_tags(ctx, data, _set_fields(data))
        name = fields.pop("name")
        made = ctx.store.create_image_set(as_id(data["team"], "team"), name, **fields)
        return ser.set_row(ctx, made), 201

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        data = _dict(data)
        fields = _with_tags(ctx, data, _set_fields(data))
        if fields:
            return ser.set_row(ctx, ctx.store.update_image_set(ident, **fields))
        return self.row(ctx, ident)

    def delete(self, ctx: Ctx, ident: int) -> None:
        ctx.store.delete_image_set(ident)


IMAGE_FIELDS = {
    "name": "name", "mpp": "mpp", "objectivePower": "objective_power",
    "objective_power": "objective_power", "image_type": "image_type", "depth": "depth",
    "frames": "frames", "defaultFrame": "default_frame", "channels": "channels",
}  # fmt: skip


def _count(row: Row) -> int:
    return len(resolve(row["annotations"]))


class Images(Resource):
    """``images/images``; uploads and path registration live in :mod:`._images`."""

    path = "images/images"
    aliases: ClassVar[dict[str, str]] = {
        "num_annotations_min": "_count__gte", "num_annotations_max": "_count__lte",
    }  # fmt: skip
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "filename": Filter("str", TEXT),
        "time": Filter("time", TIME), "mpp": Filter("float", NUMERIC),
        "objectivePower": Filter("float", NUMERIC), "defaultFrame": Filter("int", NUMERIC),
        "width": Filter("int", NUMERIC), "height": Filter("int", NUMERIC),
        "image_type": Filter("int", EXACT_IN), "image_set": ID,
        "_count": Filter("int", frozenset({"gte", "lte"}), _count),
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {
        "image_set": "images/image_sets", "annotations": "annotations/annotations",
    }  # fmt: skip

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:
        wanted = params.get("image_set")
        if wanted and wanted.isdigit():
            images = ctx.images(as_id(wanted, "image_set"))
        else:
            images = ctx.all_images()
        return [ser.image_row(ctx, i) for i in images]

    def row(self, ctx: Ctx, ident: int) -> Row:
        return ser.image_row(ctx, ctx.store.image(ident))

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        data = _dict(data)
        fields = _pick(data, IMAGE_FIELDS)
        current = ctx.store.image(ident)
        if "image_set" in data and as_id(data["image_set"], "image_set") != current.image_set:
            raise BadInput("image_set: moving an image to another set is not supported")
        if fields:
            return ser.image_row(ctx, ctx.store.update_image(ident, **fields))
        return ser.image_row(ctx, current)

    def delete(self, ctx: Ctx, ident: int) -> None:
        ctx.store.delete_image(ident)


class Verifications(Resource):
    """``annotations/verifications``; a create records the requester's verdict."""

    path = "annotations/verifications"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "annotation": ID, "user": ID, "time": Filter("time", TIME), "verified": BOOL,
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {
        "annotation": "annotations/annotations", "user": "users/users",
    }  # fmt: skip

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:
        wanted = params.get("annotation")
        if wanted and wanted.isdigit():
            ids = [as_id(wanted, "annotation")]
        else:
            ids = []
            for image_set in ctx.image_sets():
                frame = ctx.store.annotations(
                    image_set=image_set.id, with_vector=False, deleted=None
                )
                ids += [
                    int(i) for i, n in zip(frame["id"], frame["verified_count"], strict=True) if n
                ]
        return [ser.verification_row(v) for i in ids for v in ctx.store.verifications(i)]

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "annotation")
        verified = data.get("verified", True)
        made = ctx.store.verify(as_id(data["annotation"], "annotation"), verified=bool(verified))
        return ser.verification_row(made), 201


class ImageActions(Resource):
    """``annotations/log_image_actions`` (1 OPEN, 2 CLOSED)."""

    path = "annotations/log_image_actions"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "image": ID, "user": ID, "time": Filter("time", TIME),
        "action": Filter("int", EXACT_IN), "ip": Filter("str", TEXT),
    }  # fmt: skip

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:
        wanted = params.get("image")
        images = [as_id(wanted, "image")] if wanted and wanted.isdigit() else [
            i.id for i in ctx.all_images()]  # fmt: skip
        return [ser.action_row(a) for i in images for a in ctx.store.image_actions(i)]

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "image", "action")
        action = as_id(data["action"], "action")
        made = ctx.store.log_image_action(as_id(data["image"], "image"), action, ip=data.get("ip"))
        return ser.action_row(made), 201


SCREENING_FIELDS = {
    k: k for k in ("screening_tiles", "x_steps", "y_steps", "x_resolution", "y_resolution",
                   "current_index")
}  # fmt: skip


class ScreeningModes(Resource):
    """``images/screening_modes``: the requester's screening state per image."""

    path = "images/screening_modes"
    filters: ClassVar[dict[str, Filter]] = {"id": ID, "image": ID, "user": ID}

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:
        wanted = params.get("image")
        images = [as_id(wanted, "image")] if wanted and wanted.isdigit() else [
            i.id for i in ctx.all_images()]  # fmt: skip
        states = (ctx.store.screening(i) for i in images)
        return [ser.screening_row(s) for s in states if s is not None]

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "image")
        fields = _pick(data, SCREENING_FIELDS)
        return ser.screening_row(
            ctx.store.save_screening(as_id(data["image"], "image"), **fields)
        ), 201

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        row = self.row(ctx, ident)
        fields = _pick(_dict(data), SCREENING_FIELDS)
        if "current_index" in fields and "screening_tiles" not in fields:
            tiles = dict(row["screening_tiles"])
            key = str(fields["current_index"])
            if isinstance(tiles.get(key), dict):
                tiles[key] = {**tiles[key], "Screened": True}
            fields["screening_tiles"] = tiles
        return ser.screening_row(ctx.store.save_screening(row["image"], **fields))


class SetVersions(Resource):
    """``images/set_versions``: a version freezes one image set (nothing is copied)."""

    path = "images/set_versions"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "imagesets": Filter("int", EXACT_IN),
    }  # fmt: skip

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.version_row(v) for s in ctx.image_sets() for v in ctx.store.versions(s.id)]

    def row(self, ctx: Ctx, ident: int) -> Row:
        return ser.version_row(ctx.store.version(ident))

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        _required(data, "name", "imagesets")
        sets = as_ids(data["imagesets"], "imagesets")
        if len(sets) != 1:
            raise BadInput("imagesets: a version covers exactly one image set", field="imagesets")
        made = ctx.store.create_version(
            sets[0], str(data["name"]), description=str(data.get("description", ""))
        )
        return ser.version_row(made), 201


class Tokens(Resource):
    """``users/tokens``: the requester's personal access tokens (the secret is shown once)."""

    path = "users/tokens"
    filters: ClassVar[dict[str, Filter]] = {"id": ID, "name": Filter("str", TEXT)}

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        return [ser.token_row(t) for t in ctx.store.tokens()]

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        data = _dict(data)
        made = ctx.store.create_token(str(data.get("name") or "api"))
        return {**ser.token_row(made.token), "token": made.plain}, 201

    def delete(self, ctx: Ctx, ident: int) -> None:
        ctx.store.revoke_token(ident)


RESOURCES: dict[str, Resource] = {}
