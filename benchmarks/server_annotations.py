"""Loading every annotation of an image over HTTP: native Arrow vs EXACT-style JSON pages.

One image holds ``--count`` (100k) box annotations in a SQLite store served by the extension
standalone (``exact-lab serve``). A client loads all of them

- **native**: one ``GET exact/api/native/images/{id}/annotations`` → an Arrow table;
- **EXACT-style JSON**: ``GET exact/api/v1/annotations/annotations/?image=ID&limit=250&offset=k``
  page after page, one request at a time (how exact-sync's ``pagination=False`` and most EXACT
  scripts load annotations), parsing every page.

First the server answers one native read and one JSON page (warm-up: the server process's
first read of the image pays for filling SQLite's page cache and growing the heap; its time is
printed as "cold native read"). Then both methods are repeated ``--rounds`` times (alternating
order); the table shows medians and the ratio.

Run: python benchmarks/server_annotations.py [--count 100000] [--rounds 3] [--page 250]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import exact_lab_server

from exact_lab.store import connect


def get(url: str, token: str) -> bytes:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=600) as response:
        data: bytes = response.read()
        return data


def native(base: str, image: int, token: str) -> int:
    data = get(f"{base}/api/native/images/{image}/annotations", token)
    table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    return table.num_rows


def json_pages(base: str, image: int, token: str, page: int) -> int:
    rows, offset = 0, 0
    while True:
        url = f"{base}/api/v1/annotations/annotations/?image={image}&limit={page}&offset={offset}"
        payload = json.loads(get(url, token))
        rows += len(payload["results"])
        if payload["next"] is None:
            return rows
        offset += page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--page", type=int, default=250)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="server-annotations-"))
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    rng = np.random.default_rng(7)
    with connect(url, user="bench") as store:
        team = store.create_team("Bench")
        kind = store.create_annotation_type(store.create_product(team, "P"), "cell", vector_type=1)
        image_set = store.create_image_set(team, "Annotations")
        image = store.add_image(image_set, "bench", width=100_000, height=100_000)
        x = rng.integers(0, 99_000, args.count).astype(float)
        y = rng.integers(0, 99_000, args.count).astype(float)
        frame = pd.DataFrame(
            {
                "image": image.id,
                "annotation_type": kind.id,
                "x_min": x,
                "y_min": y,
                "x_max": x + 40,
                "y_max": y + 40,
            }
        )
        store.add_annotations(frame)
        token = store.create_token("bench").plain

    timings: dict[str, list[float]] = {"native Arrow (1 request)": [], "JSON pages": []}
    with exact_lab_server(url, folder, [folder]) as base:
        start = time.perf_counter()
        assert native(base, image.id, token) == args.count
        cold = time.perf_counter() - start
        print(f"cold native read (first of this server process): {cold:.2f} s", flush=True)
        get(f"{base}/api/v1/annotations/annotations/?image={image.id}&limit={args.page}", token)
        for round_no in range(args.rounds):
            order = list(timings) if round_no % 2 == 0 else list(reversed(timings))
            for name in order:
                start = time.perf_counter()
                if name.startswith("native"):
                    rows = native(base, image.id, token)
                else:
                    rows = json_pages(base, image.id, token, args.page)
                elapsed = time.perf_counter() - start
                assert rows == args.count, (name, rows)
                timings[name].append(elapsed)
                print(f"round {round_no + 1}: {name}: {elapsed:.2f} s", flush=True)

    pages = -(-args.count // args.page)
    fast = statistics.median(timings["native Arrow (1 request)"])
    slow = statistics.median(timings["JSON pages"])
    print()
    print(f"{args.count} annotations of one image, SQLite, {args.rounds} rounds (medians)")
    print()
    print("| method | requests | seconds | annotations/s |")
    print("|---|---:|---:|---:|")
    print(f"| native Arrow | 1 | {fast:.2f} | {args.count / fast:,.0f} |")
    print(f"| JSON pages of {args.page} | {pages} | {slow:.2f} | {args.count / slow:,.0f} |")
    print()
    print(f"ratio: native is {slow / fast:.0f}× faster")


if __name__ == "__main__":
    main()
