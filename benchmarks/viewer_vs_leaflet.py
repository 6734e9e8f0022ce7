"""SlideViewer vs an ipyleaflet ``GeoJSON`` layer, in one headless Chromium session.

Two cases on one generated slide: 100,000 polygons (8-16 vertices) and 1,000,000 points. For
each case and each widget, in JupyterLab with the exact_lab extension:

- **first frame**: from the start of the cell that builds and displays the widget (stamped by the
  kernel with the wall clock) to the first animation frame after the annotations are on screen
  (stamped by the page with the same clock). SlideViewer: the overlay canvas (or, while the
  slide is still opening, the home view's early grid canvas) has drawn annotations (or the
  density grid); the stages on the way are printed too. ipyleaflet: the GeoJSON layer's
  overlay pane holds every feature (SVG paths, Leaflet's default renderer). The next
  ``requestAnimationFrame`` after the condition holds is the time taken, so that frame has
  been painted.
- **pan**: a mouse drag across the widget, one 8 px step per animation frame (the next step is
  sent after the page's next frame), then 1.5 s of settling (Leaflet redraws its vectors when
  the move ends; the viewer loads the region). Frame intervals (``requestAnimationFrame``
  timestamps) are recorded in the page for the whole gesture.

The peer gets a hard time limit; when it does not finish, the ratio is printed as a lower bound.

The SQLite store keeps the counts at each image's home cell current as annotations are written
(migration 0007): they are part of the stored annotations, so a slide's first view since its
annotations were written reads them like any later view.
Both widgets show the whole slide (SlideViewer's home view, ``slide_map``'s fitted zoom), the
Lab kernel reads the same SQLite store, and tiles come over HTTP from the extension for both.

Frame intervals include everything the page does between two frames (input events, the
widget's drawing, style, layout, paint, compositing) and are held to the 60 Hz cap (16.7 ms).
The polygons case (``--uncapped``) is measured again in a Chromium launched with
``--disable-frame-rate-limit --disable-gpu-vsync``; both sessions first time an empty page, whose
intervals show whether the cap is really off.

Run: ``python benchmarks/viewer_vs_leaflet.py`` (Chromium from Debian, ``make js`` first).
``--cases polygons`` runs one case; ``--keep`` leaves the workspace for a look;
``--widgets SlideViewer SlideViewer-full-frames ipyleaflet`` also measures SlideViewer with
OpenSeadragon's own canvas drawer (every tile drawn again each frame), in turn with the others.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from _frame_work import CATEGORIES, FrameWork, frame_work  # noqa: E402

from exact_lab.store import connect  # noqa: E402
from exact_lab.store.dbutil import upgrade  # noqa: E402
from exact_lab.tiles.synthetic import make_synthetic_slide  # noqa: E402
from exact_lab.workflows.registration import add_slide  # noqa: E402
from tests.ui.conftest import CHROMIUM_ARGS  # noqa: E402
from tests.ui.servers import JupyterProcess, start_jupyter  # noqa: E402
from tests.ui.test_lab import run_notebook_in_lab  # noqa: E402

SIDE = 40_000  # level-0 slide side in pixels (a 146 MB pyramid, made once into .cache/bench)
CACHE = REPO / ".cache" / "bench"
SHOTS = REPO / ".cache" / "screenshots"
N_POLYGONS = 100_000
N_POINTS = 1_000_000
POINT_SIZE = 24  # marker box of a point, level-0 px
PAN_STEPS = 60
PAN_STEP_PX = 8
SETTLE_MS = 1500

# The page's probe, installed before any script of the page runs: every animation frame it
# checks window.__bench.check() until it holds, then stamps the wall clock at the next frame.
PROBE = """
window.__bench = {check: null, seen: null, first: null, frames: null};
(function tick() {
  const b = window.__bench;
  if (b.first === null && b.check) {
    if (b.seen !== null) b.first = Date.now();
    else { try { if (b.check()) b.seen = Date.now(); } catch (e) {} }
  }
  if (b.frames) b.frames.push(performance.now());
  requestAnimationFrame(tick);
})();
"""
CHECKS = {
    # the overlay, or the home view's grid drawn before OpenSeadragon has opened the slide
    "SlideViewer": """() => !!document.querySelector(
        'canvas.elv-overlay[data-first-content], canvas.elv-preview[data-first-content]')""",
    # every feature of the GeoJSON layer is an element of the SVG renderer's group
    "ipyleaflet": """() => {
        const g = document.querySelector('.leaflet-overlay-pane svg g');
        return !!g && g.childElementCount >= %d;
    }""",
}
#: A variant of SlideViewer measured beside it (``--widgets``): OpenSeadragon's own canvas
#: drawer, every tile drawn again in every frame, instead of the viewer's scroll-blit drawer.
VARIANTS = {"SlideViewer-full-frames": "globalThis.exactLabFullFrames = true;"}
CHECKS.update(dict.fromkeys(VARIANTS, CHECKS["SlideViewer"]))
NEXT_FRAME = "() => new Promise((done) => requestAnimationFrame(() => done()))"
#: Chromium without the frame-rate cap: frames are no longer held to the 60 Hz vsync, so an
#: animation-frame interval shows how long the page takes to make a frame, not the cap.
UNCAPPED = ["--disable-frame-rate-limit", "--disable-gpu-vsync"]
#: A page that only moves one box each animation frame (a frame without a visual change may
#: be skipped): its intervals show whether the cap is really off (well under 16.7 ms).
TRIVIAL = """() => new Promise((done) => {
  const box = document.createElement('div');
  box.style.cssText = 'position:absolute;width:20px;height:20px;background:#c00';
  document.body.appendChild(box);
  const stamps = [];
  (function tick(t) {
    stamps.push(t);
    box.style.transform = `translateX(${stamps.length % 200}px)`;
    if (stamps.length < 121) requestAnimationFrame(tick); else done(stamps);
  })(performance.now());
})"""


@dataclass
class Case:
    name: str
    image: int
    count: int
    label: str


@dataclass
class Result:
    first_ms: float | None  # None: did not finish within the limit
    kernel_ms: float | None  # cell start -> widget object built (kernel side)
    frames: list[float]  # pan frame intervals, ms
    note: str = ""
    gave_up_ms: float | None = None  # not drawn yet this long after the cell started
    work: list[float] | None = None  # main-thread ms per frame of a second, traced pan
    cpu_per_step: float | None = None  # CPU ms per drag step in that pan (see _frame_work)
    cpu_by_thread: dict[str, float] = field(default_factory=dict)  # that, split by thread
    trace: dict[str, float] = field(default_factory=dict)  # stage -> ms after the cell started


# ---------------------------------------------------------------------------------- data
def polygons(n: int, seed: int = 1) -> list[dict[str, float]]:
    """``n`` star-shaped polygons of 8-16 vertices, 15-40 px radius, spread over the slide."""
    rng = np.random.default_rng(seed)
    cx = rng.uniform(60, SIDE - 60, n)
    cy = rng.uniform(60, SIDE - 60, n)
    radius = rng.uniform(15, 40, n)
    sides = rng.integers(8, 17, n)
    out = []
    for i in range(n):
        k = int(sides[i])
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        r = radius[i] * rng.uniform(0.7, 1.0, k)
        xs = np.rint(cx[i] + r * np.cos(angles))
        ys = np.rint(cy[i] + r * np.sin(angles))
        vector: dict[str, float] = {}
        for j in range(k):
            vector[f"x{j + 1}"] = float(xs[j])
            vector[f"y{j + 1}"] = float(ys[j])
        out.append(vector)
    return out


def prepare(folder: Path) -> tuple[str, list[Case]]:
    """A SQLite store with the slide in two image sets: polygons on one, points on the other.

    The slide and a filled store are made once into .cache/bench; each run works on a copy.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    slide = CACHE / f"viewer-{SIDE}.tiff"
    if not slide.exists():
        started = time.perf_counter()
        make_synthetic_slide(slide, SIDE, SIDE)
        print(f"slide {SIDE}² made in {time.perf_counter() - started:.0f} s")
    filled = CACHE / f"viewer-store-{SIDE}-{N_POLYGONS}-{N_POINTS}.sqlite"
    if not filled.exists():
        fill(filled, slide)
    shutil.copy(filled, folder / "bench.sqlite")
    upgrade(f"sqlite:///{folder / 'bench.sqlite'}", backup=False)  # the cache may be older
    store = connect(f"sqlite:///{folder / 'bench.sqlite'}", user="bench")
    images = [store.image(i) for i in (1, 2)]
    store.close()
    return f"sqlite:///{folder / 'bench.sqlite'}", [
        Case("polygons", images[0].id, N_POLYGONS, f"{N_POLYGONS:,} polygons"),
        Case("points", images[1].id, N_POINTS, f"{N_POINTS:,} points"),
    ]


def fill(target: Path, slide: Path) -> None:
    """Write the store: image 1 holds the polygons, image 2 the points."""
    partial = target.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    store = connect(f"sqlite:///{partial}", user="bench")
    team = store.create_team("bench")
    product = store.create_product(team, "bench")
    outline = store.create_annotation_type(
        product, "outline", vector_type=5, sort_order=1, color_code="#00E676"
    )
    cell = store.create_annotation_type(
        product,
        "cell",
        vector_type=2,
        sort_order=2,
        color_code="#FF1744",
        default_width=POINT_SIZE,
        default_height=POINT_SIZE,
    )
    started = time.perf_counter()
    sets = [store.create_image_set(team, name, products=[product]) for name in ("poly", "pts")]
    images = [add_slide(store, s, slide)[0] for s in sets]
    vectors = polygons(N_POLYGONS)
    store.add_annotations(
        pd.DataFrame({"image": images[0].id, "annotation_type": outline.id, "vector": vectors})
    )
    rng = np.random.default_rng(2)
    x = rng.integers(0, SIDE - POINT_SIZE, N_POINTS)
    y = rng.integers(0, SIDE - POINT_SIZE, N_POINTS)
    store.add_annotations(
        pd.DataFrame(
            {
                "image": images[1].id,
                "annotation_type": cell.id,
                "x_min": x,
                "y_min": y,
                "x_max": x + POINT_SIZE,
                "y_max": y + POINT_SIZE,
            }
        )
    )
    print(f"store filled in {time.perf_counter() - started:.0f} s")
    assert [i.id for i in images] == [1, 2], images
    store.close()
    partial.rename(target)


# ---------------------------------------------------------------------------------- notebooks
SETUP = (
    "import json, time\n"
    "import exact_lab\n"
    "from exact_lab.widgets import SlideViewer\n"
    "from exact_lab.widgets.leaflet import slide_map\n"
    "store = exact_lab.connect(user='bench')\n"
    "store.image({image}).name\n"
)
BUILD = {
    "SlideViewer": "w = SlideViewer({image}, store=store, height=600, tool='select', live=False)\n",
    "ipyleaflet": "w = slide_map({image}, store=store, height='600px')\n",
}
BUILD.update(dict.fromkeys(VARIANTS, BUILD["SlideViewer"]))
STAMP = (
    "_t0 = time.time() * 1000\n"
    "{build}"
    "_t1 = time.time() * 1000\n"
    "open({stamp!r}, 'w').write(json.dumps({{'start': _t0, 'built': _t1}}))\n"
    "w\n"
)


def write_notebook(path: Path, cells: list[str]) -> None:
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    doc = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": s,
                "outputs": [],
                "execution_count": None,
            }
            for s in cells
        ],
        "metadata": {"kernelspec": kernel},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(doc))


def notebook_for(root: Path, case: Case, widget: str) -> tuple[str, Path]:
    name = f"{case.name}-{widget}.ipynb"
    stamp = root / f"{case.name}-{widget}.stamp.json"
    cells = [
        SETUP.format(image=case.image),
        STAMP.format(build=BUILD[widget].format(image=case.image), stamp=str(stamp)),
    ]
    write_notebook(root / name, cells)
    return name, stamp


# ---------------------------------------------------------------------------------- measuring
def widget_box(page: Any, widget: str) -> dict[str, float]:
    selector = ".leaflet-container" if widget == "ipyleaflet" else ".exact-lab-viewer .elv-canvas"
    return dict(page.locator(selector).first.bounding_box())


def pan(page: Any, widget: str, direction: int = 1) -> list[float]:
    """Drag the view left (right: ``direction=-1``) by PAN_STEPS x PAN_STEP_PX, one step per
    frame; frame intervals in ms.
    """
    box = widget_box(page, widget)
    x = box["x"] + box["width"] * 0.7
    y = box["y"] + box["height"] * 0.5
    page.mouse.move(x, y)
    page.evaluate("() => { window.__bench.frames = []; }")
    page.mouse.down()
    for step in range(1, PAN_STEPS + 1):
        page.evaluate(NEXT_FRAME)
        page.mouse.move(x - direction * step * PAN_STEP_PX, y)
    page.mouse.up()
    page.wait_for_timeout(SETTLE_MS)
    stamps: list[float] = page.evaluate(
        "() => { const f = window.__bench.frames; window.__bench.frames = null; return f; }"
    )
    return [b - a for a, b in itertools.pairwise(stamps)]


#: the folder --traces names, where each traced pan's Chrome trace is written (empty: none)
TRACES: list[Path] = []


def traced_pan(browser: Any, page: Any, widget: str) -> FrameWork:
    """The same drag back to the right under a Chrome trace: what each frame cost the page.

    A separate gesture, so that tracing does not slow the one whose intervals are reported.
    """
    browser.start_tracing(page=page, categories=CATEGORIES)
    try:
        pan(page, widget, direction=-1)
    finally:
        trace = browser.stop_tracing()
    if TRACES:
        TRACES[0].mkdir(parents=True, exist_ok=True)
        (TRACES[0] / f"{widget}-{time.strftime('%H%M%S')}.json").write_bytes(trace)
    return frame_work(trace, steps=PAN_STEPS)


#: How SlideViewer's tile canvas drew its frames (see js/src/scroll_drawer.js); nothing is
#: counted with OpenSeadragon's own drawer.
DRAWN = """() => {
  const c = document.querySelector('.exact-lab-viewer canvas[data-blits]');
  if (!c) return 'tile frames: not counted';
  const d = c.dataset;
  return `tile frames: ${d.blits} shifted, ${d.stillFrames || 0} still, ${d.fullFrames} full`;
}"""


#: SlideViewer's performance marks ("elv:<stage>", see js/src/marks.js) and the overlay's
#: first-content stamp, as wall-clock ms; plus the kernel's time for the first region answer.
TRACE = """() => {
  const out = {};
  for (const m of performance.getEntriesByType('mark')) {
    if (m.name.startsWith('elv:')) out[m.name.slice(4)] = performance.timeOrigin + m.startTime;
  }
  for (const kind of ['overlay', 'preview']) {
    const c = document.querySelector(`canvas.elv-${kind}[data-first-content]`);
    if (c) out[`${kind}-drawn`] = Number(c.dataset.firstContent);
  }
  const v = document.querySelector('.exact-lab-viewer[data-region-ms]');
  if (v && v.dataset.regionMs) out['region-kernel-ms'] = Number(v.dataset.regionMs);
  return out;
}"""


def stages(page: Any, start_ms: float) -> dict[str, float]:
    """Where SlideViewer's first frame went: each stage in ms after the cell started."""
    marks: dict[str, float] = page.evaluate(TRACE)
    out = {k: v - start_ms for k, v in marks.items() if k != "region-kernel-ms"}
    if "region-kernel-ms" in marks:
        out["region-kernel-ms"] = marks["region-kernel-ms"]
    return dict(sorted(out.items(), key=lambda kv: kv[1] if kv[0] != "region-kernel-ms" else 1e12))


def measure(
    browser: Any, server: JupyterProcess, root: Path, case: Case, widget: str, *, limit: float
) -> Result:
    name, stamp = notebook_for(root, case, widget)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(int(limit * 1000) + 60_000)
    check = CHECKS[widget] % case.count if widget == "ipyleaflet" else CHECKS[widget]
    # the check is armed before the page's own scripts run: a widget that draws before the
    # cell's kernel goes idle is seen when it draws, not when the notebook has finished
    page.add_init_script(PROBE + f"window.__bench.check = {check};" + VARIANTS.get(widget, ""))
    crashed: list[str] = []
    page.on("crash", lambda *_: crashed.append("the tab crashed"))
    try:
        run_notebook_in_lab(page, server, name)
        stamps = json.loads(stamp.read_text())
        kernel_ms = stamps["built"] - stamps["start"]
        deadline = stamps["start"] / 1000 + limit
        first = None
        while time.time() < deadline and not crashed:
            first = page.evaluate("() => window.__bench.first")
            if first is not None:
                break
            time.sleep(0.25)
        if first is None:
            why = crashed[0] if crashed else f"not drawn within {limit:.0f} s"
            return Result(None, kernel_ms, [], why, time.time() * 1000 - stamps["start"])
        trace = stages(page, stamps["start"]) if widget != "ipyleaflet" else {}
        page.wait_for_timeout(2000)  # tiles and the first region settle before the pan
        if case.name == "polygons":
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.locator(
                ".leaflet-container" if widget == "ipyleaflet" else ".exact-lab-viewer"
            ).first.screenshot(path=str(SHOTS / f"bench-{case.name}-{widget}.png"))
        frames = pan(page, widget)
        work = traced_pan(browser, page, widget)
        frames_drawn = "" if widget == "ipyleaflet" else page.evaluate(DRAWN)
        return Result(
            float(first) - stamps["start"],
            kernel_ms,
            frames,
            trace=trace,
            work=work.per_frame,
            cpu_per_step=work.cpu_per_step,
            cpu_by_thread=work.by_thread,
            note=frames_drawn,
        )
    except Exception as err:  # noqa: BLE001 - the peer may hang the tab: report, go on
        kernel = waited = None
        if stamp.exists():
            s = json.loads(stamp.read_text())
            kernel = s["built"] - s["start"]
            waited = time.time() * 1000 - s["start"]
        why = crashed[0] if crashed else f"{type(err).__name__}: {str(err).splitlines()[0]}"
        return Result(None, kernel, [], f"not drawn; the session failed: {why}", waited)
    finally:
        with contextlib.suppress(Exception):  # a crashed context may refuse to close
            context.close()


# ---------------------------------------------------------------------------------- report
SESSIONS = {
    "vsync": "Chromium as usual: frames capped at 60 Hz (an interval is never under 16.7 ms)",
    "uncapped": f"Chromium with {' '.join(UNCAPPED)}: frame intervals not held to vsync",
}


def loadavg() -> str:
    """The 1, 5 and 15 minute load averages (as ``uptime`` shows them)."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "?"


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def fmt_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}"


def report(cases: list[Case], results: dict[tuple[str, str], Result], mode: str) -> None:
    print(f"\n{mode}; load average at the end: {loadavg()}")
    print(
        f"{'case':<18}{'widget':<25}{'first frame ms':>15}{'kernel ms':>11}"
        f"{'pan p50':>9}{'pan p95':>9}{'pan max':>9}{'frames':>8}"
        f"{'work p50':>10}{'work p95':>10}{'CPU/step':>10}  note"
    )
    for case in cases:
        for widget in ("SlideViewer", *VARIANTS, "ipyleaflet"):
            r = results.get((case.name, widget))
            if r is None:
                continue
            print(
                f"{case.label:<18}{widget:<25}{fmt_ms(r.first_ms):>15}{fmt_ms(r.kernel_ms):>11}"
                f"{pct(r.frames, 50):>9.1f}{pct(r.frames, 95):>9.1f}"
                f"{max(r.frames, default=float('nan')):>9.0f}{len(r.frames):>8}"
                f"{pct(r.work or [], 50):>10.1f}{pct(r.work or [], 95):>10.1f}"
                f"{r.cpu_per_step or float('nan'):>10.1f}  {r.note}"
            )
    print()
    report_variants(cases, results)
    for case in cases:
        ours, peer = results.get((case.name, "SlideViewer")), results.get((case.name, "ipyleaflet"))
        if ours is None or peer is None or ours.first_ms is None:
            continue
        if peer.first_ms is None:
            waited = peer.gave_up_ms or 0.0
            print(
                f"{case.label}: first frame > {waited / ours.first_ms:.0f}x faster (ipyleaflet had "
                f"drawn nothing {waited / 1000:.0f} s after the cell started: {peer.note}); "
                "no pan figure for the peer"
            )
            continue
        first = peer.first_ms / ours.first_ms
        p50 = pct(peer.frames, 50) / pct(ours.frames, 50)
        p95 = pct(peer.frames, 95) / pct(ours.frames, 95)
        worst = max(peer.frames) / max(ours.frames)
        print(
            f"{case.label}: first frame {first:.1f}x faster; pan frame time "
            f"p50 {p50:.1f}x, p95 {p95:.1f}x, worst {worst:.1f}x lower (goals 50x, 10x)"
        )
        if ours.work and peer.work and ours.cpu_per_step and peer.cpu_per_step:
            print(
                f"{case.label}: main-thread work per frame p50 "
                f"{pct(peer.work, 50) / pct(ours.work, 50):.1f}x, p95 "
                f"{pct(peer.work, 95) / pct(ours.work, 95):.1f}x lower; CPU per drag step "
                f"{peer.cpu_per_step / ours.cpu_per_step:.1f}x lower"
            )


def report_variants(cases: list[Case], results: dict[tuple[str, str], Result]) -> None:
    """SlideViewer's variants against SlideViewer (above 1: the variant costs more)."""
    for case in cases:
        ours = results.get((case.name, "SlideViewer"))
        for variant in VARIANTS:
            other = results.get((case.name, variant))
            if ours and other and ours.work and other.work and ours.cpu_per_step:
                print(
                    f"{case.label}: {variant} / SlideViewer: pan p50 "
                    f"{pct(other.frames, 50) / pct(ours.frames, 50):.2f}x, p95 "
                    f"{pct(other.frames, 95) / pct(ours.frames, 95):.2f}x; work per frame p50 "
                    f"{pct(other.work, 50) / pct(ours.work, 50):.2f}x, p95 "
                    f"{pct(other.work, 95) / pct(ours.work, 95):.2f}x; CPU per drag step "
                    f"{(other.cpu_per_step or 0) / ours.cpu_per_step:.2f}x"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="*", default=["polygons", "points"])
    parser.add_argument("--widgets", nargs="*", default=["SlideViewer", "ipyleaflet"])
    parser.add_argument(
        "--uncapped",
        nargs="*",
        default=["polygons"],
        help="cases measured again in a Chromium launched without the 60 Hz frame cap",
    )
    parser.add_argument("--limit", type=float, default=180.0, help="seconds per first frame")
    parser.add_argument("--keep", action="store_true", help="keep the workspace")
    parser.add_argument("--traces", type=Path, help="write each traced pan's Chrome trace here")
    args = parser.parse_args()
    if args.traces:
        TRACES.append(args.traces)
    chromium = os.environ.get("EXACT_LAB_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        raise SystemExit("Chromium is needed: apt-get install chromium (or set EXACT_LAB_CHROMIUM)")
    if not (REPO / "exact_lab" / "widgets" / "static" / "viewer.js").exists():
        raise SystemExit("the viewer bundle is missing: run `make js` first")
    folder = Path(tempfile.mkdtemp(prefix="exact-lab-viewer-bench-"))
    try:
        url, cases = prepare(folder)
        cases = [c for c in cases if c.name in args.cases]
        root = folder / "root"
        root.mkdir()
        print(f"load average at the start: {loadavg()}")
        server = start_jupyter(
            "lab",
            folder / "lab",
            root,
            env={"EXACT_LAB_URL": url, "EXACT_LAB_DATA_DIR": str(folder / "data")},
            ready_path="exact/api/status",
            extra_args=[
                "--ExactLabApp.local_user=bench",
                f"--ExactLabApp.allowed_roots={CACHE}",
            ],
        )
        sessions: dict[str, dict[tuple[str, str], Result]] = {"vsync": {}, "uncapped": {}}
        uncapped = [c for c in cases if c.name in args.uncapped]
        try:
            for mode, todo in (("vsync", cases), ("uncapped", uncapped)):
                if not todo:
                    continue
                print(f"\n{SESSIONS[mode]}", flush=True)
                try:
                    run_all(
                        chromium, server, root, todo, args=args, results=sessions[mode], mode=mode
                    )
                except Exception as err:  # noqa: BLE001 - e.g. Playwright's driver out of memory
                    print(f"the browser session ended: {type(err).__name__}: {err}")
        finally:
            server.stop()
        for mode, results in sessions.items():
            report(cases if mode == "vsync" else uncapped, results, SESSIONS[mode])
    finally:
        if args.keep:
            print(f"workspace kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def run_all(
    chromium: str,
    server: JupyterProcess,
    root: Path,
    cases: list[Case],
    *,
    args: argparse.Namespace,
    results: dict[tuple[str, str], Result],
    mode: str,
) -> None:
    """Measure every case and widget in one Chromium session, filling ``results``."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when run

    flags = CHROMIUM_ARGS + (UNCAPPED if mode == "uncapped" else [])
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=flags)
        trivial = trivial_intervals(browser)
        print(
            f"trivial page: frame interval p50 {pct(trivial, 50):.1f} ms, min "
            f"{min(trivial, default=float('nan')):.1f} ms over {len(trivial)} frames",
            flush=True,
        )
        if mode == "uncapped" and pct(trivial, 50) > 15.0:
            print("the frame cap is still on in this Chromium: the uncapped figures are capped")
        for case in cases:
            for widget in args.widgets:
                started = time.perf_counter()
                result = measure(browser, server, root, case, widget, limit=args.limit)
                results[(case.name, widget)] = result
                print(
                    f"{case.label} / {widget}: first frame {fmt_ms(result.first_ms)} ms "
                    f"(kernel {fmt_ms(result.kernel_ms)} ms); pan p50 {pct(result.frames, 50):.1f}"
                    f" p95 {pct(result.frames, 95):.1f} ms over {len(result.frames)} frames; "
                    f"work per frame p50 {pct(result.work or [], 50):.1f} p95 "
                    f"{pct(result.work or [], 95):.1f} ms, "
                    f"CPU/step {result.cpu_per_step or 0:.1f} ms "
                    f"{result.note} ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
                if result.cpu_by_thread:
                    print(
                        "  CPU per drag step by thread (ms): "
                        + ", ".join(
                            f"{k} {v:.1f}" for k, v in sorted(result.cpu_by_thread.items())
                        ),
                        flush=True,
                    )
                if result.trace:
                    print(
                        "  stages (ms after the cell started): "
                        + ", ".join(f"{k} {v:,.0f}" for k, v in result.trace.items()),
                        flush=True,
                    )
                shutdown_kernels(server)
        with contextlib.suppress(Exception):
            browser.close()


def trivial_intervals(browser: Any) -> list[float]:
    """Animation-frame intervals (ms) of an empty page in ``browser``."""
    context = browser.new_context(viewport={"width": 400, "height": 300})
    try:
        page = context.new_page()
        page.set_content("<html><body>frames</body></html>")
        stamps: list[float] = page.evaluate(TRIVIAL)
        return [b - a for a, b in itertools.pairwise(stamps[1:])]
    finally:
        context.close()


def shutdown_kernels(server: JupyterProcess) -> None:
    """Stop the kernels of the last measurement, so that they do not load the next one."""
    with urllib.request.urlopen(server.url("api/kernels")) as answer:
        kernels = json.load(answer)
    for kernel in kernels:
        url = server.url(f"api/kernels/{kernel['id']}")
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"))


if __name__ == "__main__":
    main()
