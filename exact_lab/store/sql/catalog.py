"""Image sets and images of the SqlStore (products and types live in ``templates``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.entities import (
    CollaborationType,
    Image,
    ImageSet,
    ImageType,
    Priority,
    VectorType,
)
from exact_lab.errors import BadInput, Conflict
from exact_lab.store.abstract import Ref, ref
from exact_lab.store.sql import convert
from exact_lab.store.sql import models as m
from exact_lab.store.sql.base import ADMIN, SqlBase
from exact_lab.store.validation import check_choice, check_color, check_name, check_text

TYPE_FIELDS = {
    "name",
    "vector_type",
    "color_code",
    "default_width",
    "default_height",
    "sort_order",
    "keyboard_shortcut",
    "node_count",
    "closed",
    "area_hit_test",
    "enable_concealed",
    "enable_blurred",
    "multi_frame",
    "active",
}
SET_FIELDS = {
    "name",
    "description",
    "location",
    "tags",
    "products",
    "main_annotation_type",
    "collaboration_type",
    "priority",
}
IMAGE_FIELDS = {
    "name",
    "original_name",
    "path",
    "width",
    "height",
    "mpp",
    "objective_power",
    "frames",
    "depth",
    "channels",
    "image_type",
    "default_frame",
    "checksum",
}


def _unknown(fields: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(fields) - allowed)
    if extra:
        raise BadInput(
            f"{extra[0]}: unknown field; allowed are {', '.join(sorted(allowed))}", field=extra[0]
        )


def _int(value: Any, field: str, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise BadInput(f"{field}: expected an integer >= {low}, got {value!r}", field=field)
    return value


def _float(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise BadInput(f"{field}: expected a number >= 0, got {value!r}", field=field)
    return float(value)


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise BadInput(f"{field}: expected True or False, got {value!r}", field=field)
    return value


def _type_values(fields: dict[str, Any]) -> dict[str, Any]:
    _unknown(fields, TYPE_FIELDS)
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "name":
            out[key] = check_name(value, max_length=50)
        elif key == "vector_type":
            out[key] = check_choice(value, VectorType, key)
        elif key == "color_code":
            out[key] = check_color(value)
        elif key == "keyboard_shortcut":
            out[key] = None if value is None else check_text(value, key, max_length=20) or None
        elif key in {"default_width", "default_height", "node_count"}:
            out[key] = _int(value, key)
        elif key == "sort_order":
            out[key] = _int(value, key, low=-(2**31))
        else:
            out[key] = _bool(value, key)
    return out


def _image_values(fields: dict[str, Any]) -> dict[str, Any]:
    _unknown(fields, IMAGE_FIELDS)
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "name":
            out[key] = check_name(value)
        elif key in {"original_name", "checksum"}:
            out[key] = None if value is None else check_text(value, key, max_length=500)
        elif key == "path":
            out[key] = None if value is None else check_text(value, key, max_length=4096)
        elif key in {"width", "height", "frames", "depth", "channels", "default_frame"}:
            out[key] = _int(value, key, low=1)
        elif key in {"mpp", "objective_power"}:
            out[key] = _float(value, key)
        else:
            out[key] = check_choice(value, ImageType, key)
    return out


class CatalogMixin(SqlBase):
    """Image sets and images."""

    # ------------------------------------------------------------------ image sets
    def _set_values(  # noqa: C901, PLR0912 - one branch per image-set field
        self, s: Session, team_id: int, fields: dict[str, Any]
    ) -> dict[str, Any]:
        _unknown(fields, SET_FIELDS)
        out: dict[str, Any] = {}
        for key, value in fields.items():
            if key == "name":
                out[key] = check_name(value)
            elif key in {"description", "location"}:
                out[key] = check_text(
                    value, key, max_length=10_000 if key == "description" else 200
                )
            elif key == "tags":
                if isinstance(value, str) or not all(
                    isinstance(t, str) and t and "\x00" not in t for t in value
                ):
                    raise BadInput(
                        "tags: expected a list of non-empty strings without NUL characters",
                        field="tags",
                    )
                out[key] = sorted(set(value))
            elif key == "products":
                ids = [ref(p, "products") for p in value]
                for ident in ids:
                    if self._product(s, ident).team_id != team_id:
                        raise BadInput(
                            f"products: product {ident} belongs to another team", field=key
                        )
                out[key] = ids
            elif key == "main_annotation_type":
                main = None
                if value is not None:
                    row, prod = self._type(s, value)
                    if prod.team_id != team_id:
                        raise BadInput(f"{key}: type {row.id} belongs to another team", field=key)
                    main = row.id
                out["main_annotation_type_id"] = main
            elif key == "collaboration_type":
                out[key] = check_choice(value, CollaborationType, key)
            else:
                out[key] = check_choice(value, Priority, key)
        return out

    def _set_entity(self, s: Session, row: m.ImageSetRow) -> ImageSet:
        products = s.scalars(
            sa.select(m.image_set_products.c.product_id).where(
                m.image_set_products.c.image_set_id == row.id
            )
        )
        return convert.image_set(row, list(products))

    def _link_products(self, s: Session, set_id: int, products: list[int]) -> None:
        table = m.image_set_products
        s.execute(sa.delete(table).where(table.c.image_set_id == set_id))
        if products:
            rows = [{"image_set_id": set_id, "product_id": p} for p in sorted(set(products))]
            s.execute(sa.insert(table), rows)

    def create_image_set(self, team: Ref, name: str, **fields: Any) -> ImageSet:
        """Create an image set (admins)."""
        with self._tx(write=True) as s:
            row_team = self._team(s, team, admin=True, to="create image sets")
            values = self._set_values(s, row_team.id, {"name": name, **fields})
            products = values.pop("products", [])
            self._unique(
                s, m.ImageSetRow, m.ImageSetRow.team_id == row_team.id, values["name"], "image set"
            )
            row = m.ImageSetRow(team_id=row_team.id, creator_id=self._uid(), **values)
            s.add(row)
            s.flush()
            self._link_products(s, row.id, products)
            self._emit(s, "image_set", "created", team=row_team.id, image_set=row.id, ids=(row.id,))
            return self._set_entity(s, row)

    def image_sets(self, team: Ref | None = None) -> list[ImageSet]:
        """Image sets of one team, or of all the acting user's teams."""
        with self._tx() as s:
            teams = [self._team(s, team).id] if team is not None else self._my_team_ids(s)
            query = sa.select(m.ImageSetRow).where(m.ImageSetRow.team_id.in_(teams))
            return [self._set_entity(s, r) for r in s.scalars(query.order_by(m.ImageSetRow.id))]

    def image_set(self, image_set: Ref) -> ImageSet:
        """One image set."""
        with self._tx() as s:
            return self._set_entity(s, self._set(s, image_set))

    def update_image_set(self, image_set: Ref, **fields: Any) -> ImageSet:
        """Change fields of an image set (admins)."""
        with self._tx(write=True) as s:
            row = self._set(s, image_set, admin=True, to="change image sets")
            values = self._set_values(s, row.team_id, fields)
            if "name" in values:
                self._unique(
                    s,
                    m.ImageSetRow,
                    m.ImageSetRow.team_id == row.team_id,
                    values["name"],
                    "image set",
                    row.id,
                )
            if "products" in values:
                self._link_products(s, row.id, values.pop("products"))
            for key, value in values.items():
                setattr(row, key, value)
            self._emit(s, "image_set", "updated", team=row.team_id, image_set=row.id, ids=(row.id,))
            return self._set_entity(s, row)

    def delete_image_set(self, image_set: Ref) -> None:
        """Delete an image set without images (admins)."""
        with self._tx(write=True) as s:
            row = self._set(s, image_set, admin=True, to="delete image sets")
            if s.scalar(sa.select(m.ImageRow.id).where(m.ImageRow.image_set_id == row.id).limit(1)):
                raise Conflict(f"image set {row.name!r} still holds images; delete them first")
            self._emit(s, "image_set", "deleted", team=row.team_id, image_set=row.id, ids=(row.id,))
            s.delete(row)

    # ------------------------------------------------------------------ images
    def add_image(
        self, image_set: Ref, name: str, *, width: int, height: int, **fields: Any
    ) -> Image:
        """Register an image in a set (members)."""
        values = _image_values({"name": name, "width": width, "height": height, **fields})
        with self._tx(write=True) as s:
            set_row = self._set(s, image_set)
            self._unique(
                s, m.ImageRow, m.ImageRow.image_set_id == set_row.id, values["name"], "image"
            )
            row = m.ImageRow(image_set_id=set_row.id, **values)
            s.add(row)
            s.flush()
            self._emit(
                s,
                "image",
                "created",
                team=set_row.team_id,
                image_set=set_row.id,
                image=row.id,
                ids=(row.id,),
            )
            return convert.image(row, private=self._role(s, set_row.team_id) == ADMIN)

    def images(self, image_set: Ref) -> list[Image]:
        """Images of a set, ordered by id."""
        with self._tx() as s:
            set_row = self._set(s, image_set)
            private = self._role(s, set_row.team_id) == ADMIN
            query = sa.select(m.ImageRow).where(m.ImageRow.image_set_id == set_row.id)
            return [
                convert.image(r, private=private) for r in s.scalars(query.order_by(m.ImageRow.id))
            ]

    def image(self, image: Ref) -> Image:
        """One image (private fields for team admins only)."""
        with self._tx() as s:
            row = self._image(s, image)
            set_row = s.get_one(m.ImageSetRow, row.image_set_id)
            return convert.image(row, private=self._role(s, set_row.team_id) == ADMIN)

    def update_image(self, image: Ref, **fields: Any) -> Image:
        """Change image metadata (admins)."""
        values = _image_values(fields)
        with self._tx(write=True) as s:
            row = self._image(s, image, admin=True, to="change images")
            if "name" in values:
                self._unique(
                    s,
                    m.ImageRow,
                    m.ImageRow.image_set_id == row.image_set_id,
                    values["name"],
                    "image",
                    row.id,
                )
            for key, value in values.items():
                setattr(row, key, value)
            set_row = s.get_one(m.ImageSetRow, row.image_set_id)
            self._emit(
                s,
                "image",
                "updated",
                team=set_row.team_id,
                image_set=row.image_set_id,
                image=row.id,
                ids=(row.id,),
            )
            return convert.image(row, private=True)

    def delete_image(self, image: Ref) -> None:
        """Delete an image that never held annotations (admins)."""
        with self._tx(write=True) as s:
            row = self._image(s, image, admin=True, to="delete images")
            if s.scalar(
                sa.select(m.RevisionRow.id).where(m.RevisionRow.image_id == row.id).limit(1)
            ):
                raise Conflict(
                    f"image {row.name!r} has annotation history that versions rely on; keep it"
                )
            set_row = s.get_one(m.ImageSetRow, row.image_set_id)
            self._emit(
                s,
                "image",
                "deleted",
                team=set_row.team_id,
                image_set=row.image_set_id,
                image=row.id,
                ids=(row.id,),
            )
            s.delete(row)
