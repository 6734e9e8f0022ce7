"""Reading 1M annotations into pandas: Store.annotations vs pandas.read_sql of the same rows."""

from __future__ import annotations

import pandas as pd
from _common import backend_name, boxes, database, timed, workspace

N = 1_000_000


def main() -> None:
    with database() as url:
        store, kind, image_set, image = workspace(url)
        store.add_annotations(boxes(image.id, kind.id, N))
        full = timed(lambda: store.annotations(image_set=image_set))
        slim = timed(lambda: store.annotations(image_set=image_set, with_vector=False))
        arrow = timed(lambda: store.annotations(image_set=image_set, format="arrow"))
        with store.engine.connect() as conn:
            peer = timed(
                lambda: pd.read_sql(
                    f"SELECT * FROM annotations WHERE image_set_id = {image_set.id}", conn
                )
            )
        print(f"backend: {backend_name(url)}; {N:,} annotations")
        print(f"Store.annotations (with vectors): {full:.2f} s ({N / full:,.0f} rows/s)")
        print(f"Store.annotations (no vectors): {slim:.2f} s")
        print(f"Store.annotations (Arrow): {arrow:.2f} s")
        print(f"pandas.read_sql SELECT *: {peer:.2f} s")
        print(f"ratio read_sql / Store (with vectors): {peer / full:.2f}x")
        store.close()


if __name__ == "__main__":
    main()
