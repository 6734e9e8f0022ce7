"""HTTP tile serving: exact_lab's extension vs a minimal tornado route around DeepZoomGenerator.

Three servers run side by side, each in its own process, on the same synthetic 20000² pyramidal
JPEG TIFF (256 px tiles, generated once under .cache/bench):

- ``exact_lab 256/0``: the extension as shipped (``exact-lab serve``): permission check per
  tile, DeepZoom grid 256/0 so stored JPEG tiles pass through undecoded, ETag, executor;
- ``exact_lab 254/1``: the extension on EXACT's grid (254/1), so every tile is re-encoded;
- ``tornado+openslide``: the peer — a minimal tornado app, ``DeepZoomGenerator(254, 1)`` plus
  PIL JPEG (quality 90) in a 6-thread executor, no auth, no cache;
- ``tornado, fixed bytes``: the ceiling — a bare tornado handler answering every tile URL with
  one stored JPEG tile held in memory (no auth, no file, no thread). No server that reads
  tiles in Python on this machine can be faster with this client.

Each server first serves 12 warm-up tiles (opening the slide, starting threads, checking the
token). The client keeps 6 requests in flight (tornado's async HTTP client) and asks each server for
the same number of distinct random tiles from the two most detailed DeepZoom levels (no tile is
asked twice, so caches do not help). Servers are measured in alternating order for ``--rounds``
rounds; the table shows medians of tiles/s and of per-request latency (p50, p95).

Run: python benchmarks/server_tiles.py [--tiles 600] [--rounds 3] [--size 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from tornado.httpclient import AsyncHTTPClient, HTTPRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import CACHE, exact_lab_server, free_port, running

from exact_lab.store import connect
from exact_lab.tiles.synthetic import make_synthetic_slide

INFLIGHT = 6
EXACT_GRID = {"tile_size": 254, "tile_overlap": 1}

PEER = """
import io, sys, asyncio
from concurrent.futures import ThreadPoolExecutor
import openslide
from openslide.deepzoom import DeepZoomGenerator
from tornado import web, ioloop

slide = openslide.OpenSlide(sys.argv[2])
dz = DeepZoomGenerator(slide, tile_size=254, overlap=1, limit_bounds=False)
pool = ThreadPoolExecutor(6)

def render(level, col, row):
    buf = io.BytesIO()
    dz.get_tile(level, (col, row)).save(buf, "jpeg", quality=90)
    return buf.getvalue()

class Tile(web.RequestHandler):
    async def get(self, level, col, row):
        loop = ioloop.IOLoop.current()
        data = await loop.run_in_executor(pool, render, int(level), int(col), int(row))
        self.set_header("Content-Type", "image/jpeg")
        self.finish(data)

class Fixed(web.RequestHandler):
    def get(self, level, col, row):
        self.set_header("Content-Type", "image/jpeg")
        self.finish(FIXED)

class Ready(web.RequestHandler):
    def get(self):
        self.finish("ok")

FIXED = render(dz.level_count - 1, 3, 3)

async def main():
    routes = [(r"/tile/(\\d+)/(\\d+)_(\\d+)\\.jpeg", Tile), (r"/ready", Ready),
              (r"/fixed/(\\d+)/(\\d+)_(\\d+)\\.jpeg", Fixed)]
    web.Application(routes).listen(int(sys.argv[1]), "127.0.0.1")
    await asyncio.Event().wait()

asyncio.run(main())
"""


def slide_path(size: int) -> Path:
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"server-tiles-{size}.tiff"
    if not path.exists():
        print(f"generating a {size}² pyramid (once) ...", flush=True)
        make_synthetic_slide(path, size, size, tile=256, quality=85)
    return path


def addresses(size: int, tile: int, count: int, seed: int) -> list[tuple[int, int, int]]:
    """``count`` distinct random tiles of the two most detailed DeepZoom levels."""
    top = math.ceil(math.log2(size))
    tiles = []
    for level in (top, top - 1):
        side = math.ceil(size / 2 ** (top - level))
        n = math.ceil(side / tile)
        tiles += [(level, c, r) for c in range(n) for r in range(n)]
    return random.Random(seed).sample(tiles, count)


async def fetch_all(
    urls: list[str], headers: dict[str, str], sizes: list[int] | None = None
) -> tuple[float, list[float]]:
    client = AsyncHTTPClient(force_instance=True, max_clients=INFLIGHT)
    queue = list(reversed(urls))
    latencies: list[float] = []
    sizes = [] if sizes is None else sizes

    async def worker() -> None:
        while queue:
            url = queue.pop()
            start = time.perf_counter()
            response = await client.fetch(HTTPRequest(url, headers=headers, request_timeout=120))
            latencies.append(time.perf_counter() - start)
            sizes.append(len(response.body))
            assert response.code == 200, url
            assert response.body[:2] == b"\xff\xd8", url  # a JPEG

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(INFLIGHT)))
    wall = time.perf_counter() - start
    client.close()
    return wall, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=20000)
    args = parser.parse_args()

    slide = slide_path(args.size)
    folder = Path(tempfile.mkdtemp(prefix="server-tiles-"))
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    with connect(url, user="bench") as store:
        team = store.create_team("Bench")
        image_set = store.create_image_set(team, "Tiles")
        image = store.add_image(
            image_set, "bench", width=args.size, height=args.size, path=str(slide)
        )
        token = store.create_token("bench").plain
    auth = {"Authorization": f"Bearer {token}"}
    port = free_port()
    env = {**os.environ}
    results: dict[str, list[tuple[float, list[float]]]] = {}
    sizes: dict[str, list[int]] = {}
    with (
        exact_lab_server(url, folder, [slide.parent]) as fast,
        exact_lab_server(
            url, folder, [slide.parent], {"tile_size": 254, "tile_overlap": 1}
        ) as exact,
        running(
            [sys.executable, "-c", PEER, str(port), str(slide)],
            f"http://127.0.0.1:{port}/ready",
            env,
            folder / "peer.log",
        ),
    ):
        peer = f"http://127.0.0.1:{port}"
        base = f"/api/v1/images/images/{image.id}/1/1/tile_files"
        sides = {
            "exact_lab 256/0 (pass-through)": (
                lambda a: f"{fast}{base}/{a[0]}/{a[1]}_{a[2]}.jpeg",
                256,
                1,
            ),
            "exact_lab 254/1 (re-encode)": (
                lambda a: f"{exact}{base}/{a[0]}/{a[1]}_{a[2]}.jpeg",
                254,
                1,
            ),
            "tornado + DeepZoomGenerator 254/1": (
                lambda a: f"{peer}/tile/{a[0]}/{a[1]}_{a[2]}.jpeg",
                254,
                0,
            ),
            "tornado, fixed bytes (ceiling)": (
                lambda a: f"{peer}/fixed/{a[0]}/{a[1]}_{a[2]}.jpeg",
                254,
                0,
            ),
        }
        for make, _tile, needs_auth in sides.values():  # warm up: open the slide, threads, auth
            warm = [(math.ceil(math.log2(args.size)) - 3, c, r) for c in range(4) for r in range(3)]
            asyncio.run(fetch_all([make(a) for a in warm], auth if needs_auth else {}))
        for round_no in range(args.rounds):
            order = list(sides) if round_no % 2 == 0 else list(reversed(sides))
            for name in order:
                make, tile, needs_auth = sides[name]
                tiles = addresses(args.size, tile, args.tiles, seed=1000 * round_no + tile)
                got = sizes.setdefault(name, [])
                wall, lat = asyncio.run(
                    fetch_all([make(a) for a in tiles], auth if needs_auth else {}, got)
                )
                results.setdefault(name, []).append((wall, lat))
                print(f"round {round_no + 1}: {name}: {args.tiles / wall:.0f} tiles/s", flush=True)

    peer_name = "tornado + DeepZoomGenerator 254/1"
    peer_rate = statistics.median(args.tiles / w for w, _ in results[peer_name])
    print()
    print(
        f"{args.tiles} distinct tiles per round, {INFLIGHT} in flight, {args.rounds} rounds, "
        f"slide {args.size}² (medians)"
    )
    print()
    print("| server | tiles/s | p50 ms | p95 ms | vs peer | KB/tile |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        rate = statistics.median(args.tiles / w for w, _ in runs)
        p50 = statistics.median(pct(lat, 0.5) for _, lat in runs) * 1000
        p95 = statistics.median(pct(lat, 0.95) for _, lat in runs) * 1000
        size = statistics.mean(sizes[name]) / 1024
        print(
            f"| {name} | {rate:.0f} | {p50:.1f} | {p95:.1f} | {rate / peer_rate:.2f}× "
            f"| {size:.1f} |"
        )


if __name__ == "__main__":
    main()
