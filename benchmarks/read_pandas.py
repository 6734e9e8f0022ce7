"""Reading 1M annotations of one image set: Store.annotations vs pandas.read_sql of the same rows.

The store's read returns the documented DataFrame (JSON vectors parsed into dicts, typed
columns, UTC times) or, with ``format="arrow"``, the Arrow table with the JSON left as text.
The peer is ``pandas.read_sql("SELECT * ...")`` on the same connection: raw rows, JSON as text,
no type fixing, so it does less work than the store. Each read runs ``--repeat`` times; the
table shows medians.

Run: scripts/with_postgres.sh python benchmarks/read_pandas.py [--count 1000000] [--repeat 3]
(without PostgreSQL it uses a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import os

import pandas as pd
from _common import backend_name, boxes, database, p50, timed, workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.count
    with database() as url:
        store, kind, image_set, image = workspace(url)
        store.add_annotations(boxes(image.id, kind.id, n))
        sql = f"SELECT * FROM annotations WHERE image_set_id = {image_set.id}"
        reads = {
            "Store.annotations (DataFrame, vectors parsed)": lambda: store.annotations(
                image_set=image_set
            ),
            "Store.annotations (DataFrame, no vectors)": lambda: store.annotations(
                image_set=image_set, with_vector=False
            ),
            "Store.annotations (Arrow, JSON as text)": lambda: store.annotations(
                image_set=image_set, format="arrow"
            ),
        }
        times: dict[str, float] = {}
        for name, read in reads.items():
            times[name] = p50([timed(read) for _ in range(args.repeat)])
        with store.engine.connect() as conn:
            times["pandas.read_sql SELECT * (peer)"] = p50(
                [timed(lambda: pd.read_sql(sql, conn)) for _ in range(args.repeat)]
            )
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"backend: {backend_name(url)}; {n:,} annotations; load average {load:.1f}")
        print()
        print("| read | seconds | rows/s | vs read_sql |")
        print("|---|---:|---:|---:|")
        peer = times["pandas.read_sql SELECT * (peer)"]
        for name, seconds in times.items():
            print(f"| {name} | {seconds:.2f} | {n / seconds:,.0f} | {peer / seconds:.2f}× |")
        store.close()


if __name__ == "__main__":
    main()
