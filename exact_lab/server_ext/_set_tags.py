"""``images/set_tags``: EXACT's image-set tags, kept as names on the image sets themselves.

The store keeps a set's tags as a list of names (``ImageSet.tags``), so a tag exists as long as
a visible image set carries it, and its id is derived from its name (:func:`tag_id`): the same
name has the same id on every server and after every restart, and a rename gives a new id.
A tag shows the sets the requester can see; writes change only those, and only when the
requester is an admin of every team whose sets change (checked before anything is written).

"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from exact_lab.entities import ImageSet
from exact_lab.errors import BadInput, NotFound, PermissionDenied
from exact_lab.server_ext._context import Ctx, as_ids
from exact_lab.server_ext._query import EXACT_IN, TEXT, Filter
from exact_lab.server_ext._resources import ID, Resource, Row
from exact_lab.server_ext._serialize import tag_id
from exact_lab.store.validation import check_name

__all__ = ["SetTags", "tag_names"]

MAX_TAG = 100


def tag_names(ctx: Ctx, ids: Any) -> list[str]:
    """Return the names of the visible tags ``ids`` (``set_tags`` of an image-set write)."""
    known = {tag_id(name): name for s in ctx.image_sets() for name in s.tags}
    names = []
    for ident in as_ids(ids, "set_tags"):
        if ident not in known:
            raise BadInput(
                f"set_tags: no tag {ident} on your image sets; create it with POST "
                "images/set_tags/ or send tag names as 'tags'",
                field="set_tags",
            )
        names.append(known[ident])
    return names


def _row(name: str, sets: list[int]) -> Row:
    return {"id": tag_id(name), "name": name, "imagesets": sorted(sets)}


def _tag_name(value: Any) -> str:
    name = check_name(value, "name", max_length=MAX_TAG)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):  # noqa: PLR2004 - control characters
        raise BadInput("name: a tag name has no control characters", field="name")
    return name


def _no_sets() -> BadInput:
    return BadInput(
        "imagesets: exact_lab keeps tags on image sets, so a tag needs at least one "
        "(imagesets=[ID, ...]); to remove a tag everywhere, DELETE it",
        field="imagesets",
    )


class SetTags(Resource):
    """``images/set_tags``: list, create, retrieve, rename or re-assign, delete."""

    path = "images/set_tags"
    filters: ClassVar[dict[str, Filter]] = {
        "id": ID, "name": Filter("str", TEXT), "imagesets": Filter("int", EXACT_IN),
    }  # fmt: skip
    expandable: ClassVar[dict[str, str]] = {"imagesets": "images/image_sets"}

    def rows(self, ctx: Ctx, params: Mapping[str, str]) -> list[Row]:  # noqa: ARG002
        by_name: dict[str, list[int]] = {}
        for image_set in ctx.image_sets():
            for name in image_set.tags:
                by_name.setdefault(name, []).append(image_set.id)
        rows = [_row(name, sets) for name, sets in by_name.items()]
        return sorted(rows, key=lambda r: (r["id"], r["name"]))

    def row(self, ctx: Ctx, ident: int) -> Row:
        for row in self.rows(ctx, {}):
            if row["id"] == ident:
                return row
        raise NotFound("No set_tags matches the given query.")

    def create(self, ctx: Ctx, data: Any) -> tuple[Any, int]:
        if not isinstance(data, dict):
            raise BadInput("expected a JSON object {'name': ..., 'imagesets': [...]}")
        name = _tag_name(data.get("name"))
        sets = as_ids(data.get("imagesets", []), "imagesets")
        if not sets:
            raise _no_sets()
        self._retag(ctx, None, name, set(sets))
        return self.row(ctx, tag_id(name)), 201

    def update(self, ctx: Ctx, ident: int, data: Any, *, partial: bool) -> Row:  # noqa: ARG002
        if not isinstance(data, dict):
            raise BadInput("expected a JSON object {'name': ..., 'imagesets': [...]}")
        current = self.row(ctx, ident)
        name = current["name"]
        if "name" in data:
            name = _tag_name(data["name"])
        sets = set(current["imagesets"])
        if "imagesets" in data:
            sets = set(as_ids(data["imagesets"], "imagesets"))
            if not sets:
                raise _no_sets()
        self._retag(ctx, current["name"], name, sets)
        return self.row(ctx, tag_id(name))

    def delete(self, ctx: Ctx, ident: int) -> None:
        current = self.row(ctx, ident)
        self._retag(ctx, current["name"], None, set())

    # ------------------------------------------------------------------ writes
    def _retag(self, ctx: Ctx, old: str | None, new: str | None, sets: set[int]) -> None:
        """Drop ``old`` from every visible set, put ``new`` on ``sets``; admins only."""
        visible = {s.id: s for s in ctx.image_sets()}
        for ident in sets - visible.keys():
            visible[ident] = ctx.store.image_set(ident)  # NotFound for invisible sets
        changes: dict[int, list[str]] = {}
        for ident, image_set in visible.items():
            tags = [t for t in image_set.tags if t != old]
            if ident in sets and new is not None and new not in tags:
                tags.append(new)
            if sorted(tags) != sorted(image_set.tags):
                changes[ident] = tags
        refused = [visible[i] for i in changes if not self._admin(ctx, visible[i])]
        if refused:
            names = ", ".join(repr(s.name) for s in refused)
            raise PermissionDenied(
                f"set_tags: only admins of their teams may change the tags of {names}; "
                "nothing was changed"
            )
        for ident, tags in changes.items():
            ctx.store.update_image_set(ident, tags=tags)
        ctx.forget()

    @staticmethod
    def _admin(ctx: Ctx, image_set: ImageSet) -> bool:
        return any(m.user == ctx.me and m.is_admin for m in ctx.memberships(image_set.team))
