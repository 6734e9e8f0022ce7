"""Tile serving speed: exact_lab.tiles vs openslide's DeepZoomGenerator + PIL JPEG encode.

Generates (once, cached under .cache/bench) a 40000 x 40000 pyramidal JPEG TIFF with 256 px
tiles. Every measurement runs in a fresh process (so both sides start cold: no open handle, no
decoded or encoded tile in any cache; the OS page cache is warm for both), the two sides of a
case run back to back in alternating order, and the whole set is repeated ``--rounds`` times;
the table shows medians (the ratio is the median of the per-round wall-clock ratios, with its
range; the CPU ratio compares the CPU seconds the measuring process used, which colleagues'
load on a shared machine disturbs less).

Cases (same tile list and the same output, JPEG quality 90, for both sides):

a)  random aligned tiles (grid 256/0 on the stored levels): pass-through vs DeepZoomGenerator
b1) re-encode (EXACT's grid 254/1), random tiles, 1 thread; each side keeps its own decoded-tile
    cache as shipped (OpenSlide's default 32 MB, ours ``decoded_mb=32``); encoded-tile cache off
b2) as b1 with every tile cache off (``OpenSlideCache(0)``, ``decoded_mb=0``)
b3) as b1 on a viewer's access pattern: viewports of 8 x 5 tiles panned a column at a time
c)  as b1 with 6 requests in flight: DeepZoomGenerator in a 6-thread pool vs ours in a 6-thread
    pool, and vs ours in a pool of one process per core (6 in flight, workers warmed first)

Run: python benchmarks/tiles.py [--size 40000] [--tiles 400] [--rounds 5]
"""

# ruff: noqa: PLC0415 - each worker process imports only its own side
from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench"
INFLIGHT = 6


def make_pyramid(size: int) -> Path:
    import pyvips

    path = CACHE / f"pyramid-{size}.tiff"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    xy = pyvips.Image.xyz(size, size)
    x, y = xy[0], xy[1]
    red = (x * 255 / (size - 1)).cast("uchar")
    green = (y * 255 / (size - 1)).cast("uchar")
    squares = (((x / 97).floor() + (y / 89).floor()) % 2 == 0).ifthenelse(60, 220).cast("uchar")
    image = red.bandjoin([green, squares]).copy(interpretation="srgb")
    started = time.perf_counter()
    tmp = path.with_suffix(".part")
    image.tiffsave(
        str(tmp),
        tile=True,
        tile_width=256,
        tile_height=256,
        pyramid=True,
        compression="jpeg",
        Q=85,
        xres=4000,
        yres=4000,
        bigtiff=True,
    )
    tmp.rename(path)
    print(f"generated {path.name} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return path


def tile_list(size: int, tile: int, overlap: int, count: int, *, aligned: bool, seed: int):
    from exact_lab.tiles import DeepZoomGrid

    grid = DeepZoomGrid((size, size), tile_size=tile, overlap=overlap)
    rng = random.Random(seed)
    top = grid.level_count - 1
    levels = range(top - 5, top + 1)  # the zoom levels a viewer spends its time on
    out = []
    while len(out) < count:
        level = rng.choice(levels)
        cols, rows = grid.level_tiles[level]
        width, height = grid.level_dimensions[level]
        if aligned:  # whole tiles only: partial edge tiles are re-encoded by design
            cols, rows = width // tile, height // tile
            if cols == 0 or rows == 0:
                continue
        out.append((level, rng.randrange(cols), rng.randrange(rows)))
    return out


def sweep_list(size: int, tile: int, overlap: int, count: int, *, seed: int):
    """Tiles a viewer asks for: a 8 x 5 viewport, then one new column per pan step (x10)."""
    from exact_lab.tiles import DeepZoomGrid

    grid = DeepZoomGrid((size, size), tile_size=tile, overlap=overlap)
    rng = random.Random(seed)
    top = grid.level_count - 1
    out: list[tuple[int, int, int]] = []
    seen: set[tuple[int, int, int]] = set()
    while len(out) < count:
        level = rng.choice(range(top - 3, top + 1))
        cols, rows = grid.level_tiles[level]
        if cols < 18 or rows < 5:
            continue
        col0, row0 = rng.randrange(cols - 18), rng.randrange(rows - 4)
        for step in range(11):
            first = col0 if step == 0 else col0 + 7 + step
            for row in range(row0, row0 + 5):
                for col in range(first, col0 + 8 + step):
                    key = (level, col, row)
                    if key not in seen and len(out) < count:
                        seen.add(key)
                        out.append(key)
    return out


def drive(submit: Callable[[tuple[int, int, int]], Future], tiles, inflight: int) -> list[int]:
    """Keep ``inflight`` requests running until every tile is served; return the byte counts."""
    sizes: list[int] = []
    pending: set[Future] = set()
    for t in tiles:
        if len(pending) >= inflight:
            done, pending = wait(pending, return_when="FIRST_COMPLETED")
            sizes += [len(f.result()) for f in done]
        pending.add(submit(t))
    sizes += [len(f.result()) for f in wait(pending).done]
    return sizes


_SERVICE = None


def _ours_init(tile: int, overlap: int, decoded_mb: float) -> None:
    global _SERVICE  # noqa: PLW0603 - one service per worker process
    from exact_lab.tiles import TileService

    _SERVICE = TileService(
        cache_mb=0, tile_size=tile, overlap=overlap, quality=90, decoded_mb=decoded_mb
    )


def _ours_tile(path: str, t: tuple[int, int, int]) -> bytes:
    return _SERVICE.tile(path, *t).data


def _baseline(path: str, tile: int, overlap: int) -> tuple[Callable, Callable]:
    """Return DeepZoomGenerator + PIL encode, and a function that empties OpenSlide's cache."""
    import openslide
    from openslide.deepzoom import DeepZoomGenerator

    slide = openslide.OpenSlide(path)
    dz = DeepZoomGenerator(slide, tile_size=tile, overlap=overlap, limit_bounds=False)

    def fresh_cache(mb: int) -> None:
        slide.set_cache(openslide.OpenSlideCache(mb << 20))

    def one(t):
        out = BytesIO()
        dz.get_tile(t[0], (t[1], t[2])).save(out, "JPEG", quality=90)
        return out.getvalue()

    return one, fresh_cache


def _prepare(side: str, job: dict, warm: list) -> tuple[Callable, Executor | None]:
    """Open and warm one side; return its tile function and pool (or None: same thread)."""
    path, tile, overlap, caches = job["path"], job["tile"], job["overlap"], job["caches"]
    kind, _, size = side.partition(":")
    if kind == "procs":  # ours, in worker processes, each warmed (every level, twice over)
        pool = ProcessPoolExecutor(
            int(size), initializer=_ours_init, initargs=(tile, overlap, 32 if caches else 0)
        )
        for f in [pool.submit(_ours_tile, path, t) for t in warm * int(size) * 2]:
            f.result()
        return functools.partial(_ours_tile, path), pool
    if kind == "openslide":
        one, fresh_cache = _baseline(path, tile, overlap)
        for t in warm:
            one(t)
        fresh_cache(32 if caches else 0)  # cold: OpenSlide's default 32 MB, emptied, or none
    else:
        _ours_init(tile, overlap, 32 if caches else 0)
        one = functools.partial(_ours_tile, path)
        for t in warm:
            one(t)
        if _SERVICE is not None:
            _SERVICE.decoded_cache.clear()  # cold: the warm-up tiles do not count
    return one, ThreadPoolExecutor(int(size)) if size else None


def worker(job: dict) -> None:
    tiles = [tuple(t) for t in job["tiles"]]
    # warm-up, outside the timing for both sides: open the file, touch each level once
    warm = [(level, 0, 0) for level in sorted({t[0] for t in tiles})]
    tracemalloc.start()
    one, pool = _prepare(job["side"], job, warm)
    started, cpu_started = time.perf_counter(), time.process_time()
    if pool is None:
        sizes = [len(one(t)) for t in tiles]
    else:
        sizes = drive(lambda t: pool.submit(one, t), tiles, INFLIGHT)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    if pool is not None:
        pool.shutdown()
    _, py_peak = tracemalloc.get_traced_memory()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = isinstance(pool, ProcessPoolExecutor) and int(job["side"].partition(":")[2])
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss if workers else 0
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "tiles": len(sizes),
                "bytes": sum(sizes),
                "cpu": None if workers else cpu,
                "py_peak_mb": py_peak / 2**20,
                "rss_peak_mb": (rss_kb + int(workers) * child_kb) / 1024,
            }
        )
    )


def run(side: str, path: Path, tiles, tile: int, overlap: int, *, caches: bool = True) -> dict:
    payload = json.dumps(
        {
            "side": side,
            "path": str(path),
            "tiles": tiles,
            "tile": tile,
            "overlap": overlap,
            "caches": caches,
        }
    )
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run(
        [sys.executable, __file__, "--worker"],
        input=payload,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["ms_per_tile"] = 1000 * data["seconds"] / data["tiles"]
    return data


def main() -> None:
    if "--worker" in sys.argv:
        worker(json.loads(sys.stdin.read()))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=40000)
    parser.add_argument("--tiles", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--procs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    path = make_pyramid(args.size)
    print(
        f"slide {args.size}x{args.size}, {args.tiles} tiles per run, {args.rounds} rounds, "
        f"{os.cpu_count()} cores, Python {sys.version.split()[0]}"
    )
    aligned = tile_list(args.size, 256, 0, args.tiles, aligned=True, seed=1)
    cold = tile_list(args.size, 254, 1, args.tiles, aligned=False, seed=2)
    sweep = sweep_list(args.size, 254, 1, args.tiles, seed=3)
    n = INFLIGHT
    # case name -> (baseline side, our side, tiles, tile size, overlap, caches on)
    cases = {
        "a) aligned 256/0, pass-through": ("openslide", "ours", aligned, 256, 0, True),
        "b1) 254/1 random, 1 thread": ("openslide", "ours", cold, 254, 1, True),
        "b2) 254/1 random, 1 thread, no tile caches": ("openslide", "ours", cold, 254, 1, False),
        "b3) 254/1 viewport sweep, 1 thread": ("openslide", "ours", sweep, 254, 1, True),
        f"c1) 254/1 random, {n} in flight: threads {n} vs threads {n}": (
            f"openslide:{n}",
            f"ours:{n}",
            cold,
            254,
            1,
            True,
        ),
        f"c2) 254/1 random, {n} in flight: threads {n} vs {args.procs} processes": (
            f"openslide:{n}",
            f"procs:{args.procs}",
            cold,
            254,
            1,
            True,
        ),
    }
    results: dict[str, list[tuple[dict, dict]]] = {name: [] for name in cases}
    for round_ in range(args.rounds):
        for name, (base, ours, tiles, tile, overlap, caches) in cases.items():
            order = [base, ours] if round_ % 2 == 0 else [ours, base]
            got = {side: run(side, path, tiles, tile, overlap, caches=caches) for side in order}
            results[name].append((got[base], got[ours]))
        print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)
    print(
        f"{'case':58} {'openslide ms':>12} {'ours ms':>8} {'ratio':>6} {'range':>11} "
        f"{'CPU ratio':>9} {'RSS MB os/ours':>15} {'py MB os/ours':>14}"
    )
    for name, pairs in results.items():

        def med(side: int, key: str, pairs=pairs) -> float:
            return statistics.median(p[side][key] for p in pairs)

        ratios = [b["seconds"] / o["seconds"] for b, o in pairs]
        cpu = [b["cpu"] / o["cpu"] for b, o in pairs if o["cpu"]]  # process CPU seconds
        cpu_text = f"{statistics.median(cpu):8.2f}x" if cpu else f"{'n/a':>9}"
        print(
            f"{name:58} {med(0, 'ms_per_tile'):12.3f} {med(1, 'ms_per_tile'):8.3f} "
            f"{statistics.median(ratios):5.2f}x {min(ratios):5.2f}-{max(ratios):<5.2f} "
            f"{cpu_text} "
            f"{med(0, 'rss_peak_mb'):7.0f}/{med(1, 'rss_peak_mb'):<7.0f} "
            f"{med(0, 'py_peak_mb'):6.1f}/{med(1, 'py_peak_mb'):<6.1f}"
        )


if __name__ == "__main__":
    main()
