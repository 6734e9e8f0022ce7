"""Bulk insert of 1M annotations: Store.add_annotations (binary COPY / executemany) vs ORM add_all.

The ORM peer inserts the same rows (same table, same indexes) with SQLAlchemy ORM ``add_all`` on a
smaller N and is extrapolated per row to 1M, as stated in the output. On PostgreSQL a third line
is the floor: the same call into a fresh database whose annotation table has no index at all (no
primary key, no unique key, no viewport index), i.e. what heap, WAL and the client cost alone.
"""

from __future__ import annotations

import datetime as dt
import sys
import uuid

import sqlalchemy as sa
from _common import backend_name, boxes, database, timed, workspace
from sqlalchemy.orm import Session

from exact_lab.store.sql import grid
from exact_lab.store.sql import models as m

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
ORM_N = 20_000
INDEX_FREE = (
    "ALTER TABLE annotations DROP CONSTRAINT pk_annotations CASCADE",
    "ALTER TABLE annotations DROP CONSTRAINT uq_annotations_image_id",
    "DROP INDEX ix_annotations_set_image_cell",
)


def orm_add_all(store, image, kind, frame) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    rows = [
        m.AnnotationRow(
            image_id=image.id,
            image_set_id=image.image_set,
            annotation_type_id=kind.id,
            vector={"x1": int(r.x_min), "y1": int(r.y_min), "x2": int(r.x_max), "y2": int(r.y_max)},
            x_min=float(r.x_min),
            y_min=float(r.y_min),
            x_max=float(r.x_max),
            y_max=float(r.y_max),
            unique_identifier=str(uuid.uuid4()),
            user_id=1,
            last_editor_id=1,
            time=now,
            last_edit_time=now,
            cell=grid.cell_key(r.x_min, r.y_min, r.x_max, r.y_max),
            revision=1,
            position=0,
            action="create",
            frame=1,
        )
        for r in frame.itertuples()
    ]
    with Session(store.engine) as session:
        session.add_all(rows)
        session.commit()


def main() -> None:
    with database() as url:
        store, kind, _, image = workspace(url)
        frame = boxes(image.id, kind.id, N)
        ours = timed(lambda: store.add_annotations(frame))
        orm_frame = boxes(image.id, kind.id, ORM_N, seed=1)
        orm = timed(lambda: orm_add_all(store, image, kind, orm_frame))
        orm_per_row = orm / ORM_N
        ours_per_row = ours / N
        print(f"backend: {backend_name(url)}")
        print(f"Store.add_annotations: {N:,} rows in {ours:.2f} s ({N / ours:,.0f} rows/s)")
        print(
            f"ORM add_all: {ORM_N:,} rows in {orm:.2f} s ({ORM_N / orm:,.0f} rows/s), "
            f"extrapolated to {N:,}: {orm_per_row * N:.1f} s"
        )
        print(f"ratio (ORM / store per row): {orm_per_row / ours_per_row:.1f}x")
        store.close()
    if backend_name(url) == "PostgreSQL":
        with database() as bare_url:
            store, kind, _, image = workspace(bare_url)
            with store.engine.begin() as conn:
                for statement in INDEX_FREE:
                    conn.execute(sa.text(statement))
            same = boxes(image.id, kind.id, N)  # the same rows (same seed), this database's ids
            floor = timed(lambda: store.add_annotations(same))
            print(
                f"floor, same call into an index-free table: {floor:.2f} s "
                f"({N / floor:,.0f} rows/s); index upkeep is {ours - floor:.2f} s of ours"
            )
            store.close()


if __name__ == "__main__":
    main()
