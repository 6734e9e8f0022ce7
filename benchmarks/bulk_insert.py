"""Bulk insert of 1M annotations: Store.add_annotations (binary COPY / executemany) vs ORM add_all.

``python benchmarks/bulk_insert.py [N] [REPEAT]`` times the store REPEAT times, each run into a
fresh database, and takes the best run for the ratio. The ORM peer inserts the same rows (same
table, same indexes) with SQLAlchemy ORM ``add_all`` on a smaller N and is extrapolated per row
to 1M, as stated in the output. On PostgreSQL a last line is the floor: the same call into a
fresh database whose annotation table has no index at all (no primary key, no unique key, no
viewport index), i.e. what heap, WAL and the client cost alone.

Wall times depend on what else the machine runs, so the load average is printed before and
after, and for PostgreSQL the CPU seconds too: the client's (this process) and the server's
(every process listed in ``pg_stat_activity``, background writers included, read from ``/proc``
when the server runs on this machine).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from _common import backend_name, boxes, database, timed, workspace
from sqlalchemy.orm import Session

from exact_lab.store.sql import grid
from exact_lab.store.sql import models as m

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
REPEAT = int(sys.argv[2]) if len(sys.argv) > 2 else 1  # store runs, each into a fresh database
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


def cpu_seconds(store) -> tuple[float, float | None]:
    """CPU seconds used so far by this process and by the server's processes (None: unknown)."""
    with store.engine.connect() as conn:
        pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity")).scalars().all()
    total = 0.0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return time.process_time(), None
    return time.process_time(), total


def timed_cpu(store, fn) -> tuple[float, str]:
    """Wall seconds of ``fn()`` and a note of the client and server CPU seconds it took."""
    client0, server0 = cpu_seconds(store)
    wall = timed(fn)
    client1, server1 = cpu_seconds(store)
    server = "?" if server0 is None or server1 is None else f"{server1 - server0:.2f}"
    return wall, f"CPU: client {client1 - client0:.2f} s, server {server} s"


def load() -> str:
    """The machine's load averages (1, 5 and 15 minutes): wall times depend on them."""
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def store_run(url: str) -> tuple[float, str]:
    """Time ``add_annotations`` of N boxes into a fresh workspace at ``url``."""
    store, kind, _, image = workspace(url)
    frame = boxes(image.id, kind.id, N)
    try:
        if backend_name(url) == "PostgreSQL":
            return timed_cpu(store, lambda: store.add_annotations(frame))
        return timed(lambda: store.add_annotations(frame)), ""
    finally:
        store.close()


def main() -> None:
    print(f"before: {load()}")
    runs = []
    for _ in range(REPEAT):
        with database() as url:
            runs.append(store_run(url))
            print(
                f"Store.add_annotations: {N:,} rows in {runs[-1][0]:.2f} s "
                f"({N / runs[-1][0]:,.0f} rows/s) {runs[-1][1]}",
                flush=True,
            )
    ours = min(wall for wall, _ in runs)
    with database() as url:
        store, kind, _, image = workspace(url)
        orm_frame = boxes(image.id, kind.id, ORM_N, seed=1)
        orm = timed(lambda: orm_add_all(store, image, kind, orm_frame))
        store.close()
    orm_per_row = orm / ORM_N
    print(f"backend: {backend_name(url)}")
    print(
        f"ORM add_all: {ORM_N:,} rows in {orm:.2f} s ({ORM_N / orm:,.0f} rows/s), "
        f"extrapolated to {N:,}: {orm_per_row * N:.1f} s"
    )
    print(f"ratio (ORM / store per row, best store run): {orm_per_row / (ours / N):.1f}x")
    if backend_name(url) == "PostgreSQL":
        with database() as bare_url:
            store, kind, _, image = workspace(bare_url)
            with store.engine.begin() as conn:
                for statement in INDEX_FREE:
                    conn.execute(sa.text(statement))
            same = boxes(image.id, kind.id, N)  # the same rows (same seed), this database's ids
            floor, cpu = timed_cpu(store, lambda: store.add_annotations(same))
            print(
                f"floor, same call into an index-free table: {floor:.2f} s "
                f"({N / floor:,.0f} rows/s) {cpu}; index upkeep is {ours - floor:.2f} s of ours"
            )
            store.close()
    print(f"after: {load()}")


if __name__ == "__main__":
    main()
