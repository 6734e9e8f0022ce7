"""Creating a version of a set with 1M annotations vs copying every annotation (EXACT's way)."""

from __future__ import annotations

import sqlalchemy as sa
from _common import backend_name, boxes, database, p50, timed, workspace

N = 1_000_000


def main() -> None:
    with database() as url:
        store, kind, image_set, image = workspace(url)
        store.add_annotations(boxes(image.id, kind.id, N))
        ours = [timed(lambda i=i: store.create_version(image_set, f"v{i}")) for i in range(5)]
        copy_sql = (
            "CREATE TABLE annotation_copies AS SELECT id, image_id, annotation_type_id, "
            "vector, deleted FROM annotations WHERE image_set_id = :s"
        )
        with store.engine.connect() as conn:
            copy = timed(lambda: conn.execute(sa.text(copy_sql), {"s": image_set.id}))
            conn.commit()
        version = store.versions(image_set)[-1]
        read = timed(lambda: store.annotations(version=version, with_vector=False))
        print(f"backend: {backend_name(url)}; {N:,} annotations in the set")
        print(f"Store.create_version: p50 {p50(ours) * 1000:.1f} ms (5 versions)")
        print(f"copying every annotation: {copy * 1000:.0f} ms")
        print(f"ratio copy / version: {copy / p50(ours):.0f}x")
        print(f"reading that version into pandas (no vectors): {read:.2f} s")
        store.close()


if __name__ == "__main__":
    main()
