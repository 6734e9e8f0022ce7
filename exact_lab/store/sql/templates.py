"""Products (annotation templates) and annotation types of the SqlStore."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from exact_lab.entities import AnnotationType, Product
from exact_lab.errors import Conflict
from exact_lab.store.abstract import Ref
from exact_lab.store.sql import convert
from exact_lab.store.sql import models as m
from exact_lab.store.sql.base import SqlBase
from exact_lab.store.sql.catalog import _type_values, _unknown
from exact_lab.store.validation import check_name, check_text


class TemplatesMixin(SqlBase):
    """Products and annotation types."""

    # ------------------------------------------------------------------ products
    def create_product(self, team: Ref, name: str, *, description: str = "") -> Product:
        """Create a product in a team (admins)."""
        label = check_name(name)
        text = check_text(description, "description", max_length=10_000)
        with self._tx(write=True) as s:
            row = self._team(s, team, admin=True, to="create products")
            self._unique(s, m.ProductRow, m.ProductRow.team_id == row.id, label, "product")
            product = m.ProductRow(
                team_id=row.id, name=label, description=text, creator_id=self._uid()
            )
            s.add(product)
            s.flush()
            self._emit(s, "product", "created", team=row.id, ids=(product.id,))
            return convert.product(product)

    def products(self, team: Ref | None = None) -> list[Product]:
        """Products of one team, or of all the acting user's teams."""
        with self._tx() as s:
            teams = [self._team(s, team).id] if team is not None else self._my_team_ids(s)
            query = sa.select(m.ProductRow).where(m.ProductRow.team_id.in_(teams))
            return [convert.product(r) for r in s.scalars(query.order_by(m.ProductRow.id))]

    def product(self, product: Ref) -> Product:
        """One product."""
        with self._tx() as s:
            return convert.product(self._product(s, product))

    def update_product(self, product: Ref, **fields: Any) -> Product:
        """Change ``name`` and/or ``description`` (admins)."""
        _unknown(fields, {"name", "description"})
        with self._tx(write=True) as s:
            row = self._product(s, product, admin=True, to="change products")
            if "name" in fields:
                label = check_name(fields["name"])
                self._unique(
                    s, m.ProductRow, m.ProductRow.team_id == row.team_id, label, "product", row.id
                )
                row.name = label
            if "description" in fields:
                row.description = check_text(
                    fields["description"], "description", max_length=10_000
                )
            self._emit(s, "product", "updated", team=row.team_id, ids=(row.id,))
            return convert.product(row)

    def delete_product(self, product: Ref) -> None:
        """Delete a product whose types carry no annotations (admins)."""
        with self._tx(write=True) as s:
            row = self._product(s, product, admin=True, to="delete products")
            types = sa.select(m.AnnotationTypeRow.id).where(
                m.AnnotationTypeRow.product_id == row.id
            )
            used = s.scalar(
                sa.select(m.RevisionRow.id)
                .where(m.RevisionRow.annotation_type_id.in_(types))
                .limit(1)
            )
            if used is not None:
                raise Conflict(f"product {row.name!r} has types used by annotations; keep it")
            s.execute(
                sa.update(m.ImageSetRow)
                .where(m.ImageSetRow.main_annotation_type_id.in_(types))
                .values(main_annotation_type_id=None)
            )
            self._emit(s, "product", "deleted", team=row.team_id, ids=(row.id,))
            s.delete(row)

    # ------------------------------------------------------------------ annotation types
    def create_annotation_type(self, product: Ref, name: str, **fields: Any) -> AnnotationType:
        """Create an annotation type (admins)."""
        values = _type_values({"name": name, **fields})
        with self._tx(write=True) as s:
            prod = self._product(s, product, admin=True, to="create annotation types")
            scope = m.AnnotationTypeRow.product_id == prod.id
            self._unique(s, m.AnnotationTypeRow, scope, values["name"], "annotation type")
            row = m.AnnotationTypeRow(product_id=prod.id, **values)
            s.add(row)
            s.flush()
            self._emit(s, "annotation_type", "created", team=prod.team_id, ids=(row.id,))
            return convert.annotation_type(row)

    def annotation_types(
        self, product: Ref | None = None, *, image_set: Ref | None = None
    ) -> list[AnnotationType]:
        """Types of a product, of an image set's products, or of all visible products."""
        with self._tx() as s:
            query = sa.select(m.AnnotationTypeRow)
            if product is not None:
                query = query.where(m.AnnotationTypeRow.product_id == self._product(s, product).id)
            if image_set is not None:
                set_row = self._set(s, image_set)
                linked = sa.select(m.image_set_products.c.product_id).where(
                    m.image_set_products.c.image_set_id == set_row.id
                )
                query = query.where(m.AnnotationTypeRow.product_id.in_(linked))
            if product is None and image_set is None:
                mine = sa.select(m.ProductRow.id).where(
                    m.ProductRow.team_id.in_(self._my_team_ids(s))
                )
                query = query.where(m.AnnotationTypeRow.product_id.in_(mine))
            order = (m.AnnotationTypeRow.sort_order, m.AnnotationTypeRow.id)
            return [convert.annotation_type(r) for r in s.scalars(query.order_by(*order))]

    def annotation_type(self, annotation_type: Ref) -> AnnotationType:
        """One annotation type."""
        with self._tx() as s:
            return convert.annotation_type(self._type(s, annotation_type)[0])

    def update_annotation_type(self, annotation_type: Ref, **fields: Any) -> AnnotationType:
        """Change fields of an annotation type (admins)."""
        values = _type_values(fields)
        with self._tx(write=True) as s:
            row, prod = self._type(s, annotation_type, admin=True, to="change annotation types")
            if "name" in values:
                scope = m.AnnotationTypeRow.product_id == prod.id
                self._unique(
                    s, m.AnnotationTypeRow, scope, values["name"], "annotation type", row.id
                )
            for key, value in values.items():
                setattr(row, key, value)
            self._emit(s, "annotation_type", "updated", team=prod.team_id, ids=(row.id,))
            return convert.annotation_type(row)

    def delete_annotation_type(self, annotation_type: Ref) -> None:
        """Delete a type no annotation uses (admins); otherwise raise Conflict."""
        with self._tx(write=True) as s:
            row, prod = self._type(s, annotation_type, admin=True, to="delete annotation types")
            used = s.scalar(
                sa.select(m.RevisionRow.id)
                .where(m.RevisionRow.annotation_type_id == row.id)
                .limit(1)
            )
            if used is not None:
                raise Conflict(
                    f"annotation type {row.name!r} is used by annotations; set active=False instead"
                )
            s.execute(
                sa.update(m.ImageSetRow)
                .where(m.ImageSetRow.main_annotation_type_id == row.id)
                .values(main_annotation_type_id=None)
            )
            self._emit(s, "annotation_type", "deleted", team=prod.team_id, ids=(row.id,))
            s.delete(row)
