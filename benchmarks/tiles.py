"""Tile serving speed: exact_lab.tiles vs openslide's DeepZoomGenerator + PIL JPEG encode.

Generates (once, cached under .cache/bench) a 40000 x 40000 pyramidal JPEG TIFF with 256 px
tiles, then measures in the same run, each side in its own fresh process (so peak memory is
per side):

a) random aligned tiles (grid 256/0 on the stored levels): our pass-through vs DeepZoomGenerator
b) re-encode needed, cold cache (EXACT's grid 254/1, cache off): ours with a thread pool (as the
   server runs it), and ours single-threaded, vs DeepZoomGenerator single-threaded

Run: python benchmarks/tiles.py [--size 40000] [--tiles 400]
"""

# ruff: noqa: PLC0415 - each worker process imports only its own side
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache" / "bench"


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
    image.tiffsave(str(tmp), tile=True, tile_width=256, tile_height=256, pyramid=True,
                   compression="jpeg", Q=85, xres=4000, yres=4000, bigtiff=True)
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


def worker(side: str, path: str, tiles: list[tuple[int, int, int]], tile: int, overlap: int):
    # warm-up, outside the timing for both sides: open the file, touch each level once
    warm = sorted({t[0] for t in tiles})
    tracemalloc.start()
    if side == "openslide":
        import openslide
        from openslide.deepzoom import DeepZoomGenerator

        slide = openslide.OpenSlide(path)
        dz = DeepZoomGenerator(slide, tile_size=tile, overlap=overlap, limit_bounds=False)

        def one(t):
            out = BytesIO()
            dz.get_tile(t[0], (t[1], t[2])).save(out, "JPEG", quality=90)
            return out.getvalue()

        for level in warm:
            one((level, 0, 0))

        started = time.perf_counter()
        sizes = [len(one(t)) for t in tiles]
    else:
        from exact_lab.tiles import TileService

        service = TileService(cache_mb=0, tile_size=tile, overlap=overlap, quality=90)
        def one(t):
            return service.tile(path, *t).data

        for level in warm:
            one((level, 0, 0))

        threads = int(side.split(":")[1]) if ":" in side else 1
        started = time.perf_counter()
        if threads == 1:
            sizes = [len(one(t)) for t in tiles]
        else:
            with ThreadPoolExecutor(threads) as pool:
                sizes = [len(b) for b in pool.map(one, tiles)]
    elapsed = time.perf_counter() - started
    _, py_peak = tracemalloc.get_traced_memory()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "tiles": len(sizes), "bytes": sum(sizes),
                      "py_peak_mb": py_peak / 2**20, "rss_peak_mb": rss_kb / 1024}))


def run(side: str, path: Path, tiles, tile: int, overlap: int) -> dict:
    payload = json.dumps({"side": side, "path": str(path), "tiles": tiles,
                          "tile": tile, "overlap": overlap})
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, __file__, "--worker"], input=payload, env=env,
                            capture_output=True, text=True, check=True)
    data = json.loads(result.stdout.strip().splitlines()[-1])
    data["ms_per_tile"] = 1000 * data["seconds"] / data["tiles"]
    return data


def main() -> None:
    if "--worker" in sys.argv:
        job = json.loads(sys.stdin.read())
        worker(job["side"], job["path"], [tuple(t) for t in job["tiles"]], job["tile"],
               job["overlap"])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=40000)
    parser.add_argument("--tiles", type=int, default=400)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    path = make_pyramid(args.size)
    print(f"slide {args.size}x{args.size}, {args.tiles} random tiles per run, "
          f"{os.cpu_count()} cores, Python {sys.version.split()[0]}")
    rows = []
    aligned = tile_list(args.size, 256, 0, args.tiles, aligned=True, seed=1)
    base_a = run("openslide", path, aligned, 256, 0)
    ours_a = run("ours", path, aligned, 256, 0)
    rows.append(("a) aligned 256/0, pass-through", base_a, ours_a))
    cold = tile_list(args.size, 254, 1, args.tiles, aligned=False, seed=2)
    base_b = run("openslide", path, cold, 254, 1)
    ours_b1 = run("ours", path, cold, 254, 1)
    ours_bn = run(f"ours:{args.threads}", path, cold, 254, 1)
    rows.append(("b) re-encode 254/1, cold, 1 thread", base_b, ours_b1))
    rows.append((f"b) re-encode 254/1, cold, {args.threads} threads", base_b, ours_bn))
    print(f"{'case':42} {'openslide ms':>12} {'ours ms':>9} {'ratio':>7} "
          f"{'RSS MB os/ours':>15} {'py MB os/ours':>14}")
    for name, base, ours in rows:
        print(f"{name:42} {base['ms_per_tile']:12.3f} {ours['ms_per_tile']:9.3f} "
              f"{base['seconds'] / ours['seconds']:6.1f}x "
              f"{base['rss_peak_mb']:7.0f}/{ours['rss_peak_mb']:<7.0f} "
              f"{base['py_peak_mb']:6.1f}/{ours['py_peak_mb']:<6.1f}")


if __name__ == "__main__":
    main()
