"""What each frame of a page costs, read from a Chrome trace of a gesture.

Animation-frame intervals show how often a page paints, not what a frame costs: in a Chromium
without the frame cap, a frame in which nothing changed still waits ~16.7 ms, so a page that
keeps animating shows shorter intervals than one that only repaints when the mouse moves. This
reads a trace (``browser.start_tracing`` with :data:`CATEGORIES`) and gives, for the page's
renderer:

- **work per frame**: the main thread's busy time (wall clock, ms) from the end of one frame to
  the end of the next, i.e. the tasks run in between (input events, timers, the widget's
  JavaScript) plus the frame itself (animation callbacks, style, layout, paint, commit);
- **CPU per step**: CPU time (ms) of the page renderer's main, compositor and raster threads
  and of the display compositor (software compositing without a GPU) over the whole trace,
  divided by the number of input steps; also split by those four threads (``by_thread``).

>>> work = frame_work(trace_bytes, steps=60)  # doctest: +SKIP
>>> work.per_frame[:3], work.cpu_per_step  # doctest: +SKIP
([0.4, 3.9, 0.6], 41.2)
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

#: Trace categories that hold the events read here.
CATEGORIES = [
    "devtools.timeline",
    "disabled-by-default-devtools.timeline",
    "toplevel",
    "cc",
    "viz",
    "blink",
]
TASK = "ThreadControllerImpl::RunTask"  # one top-level task of a thread
FRAME = "ProxyMain::BeginMainFrame"  # the main thread's part of one frame


@dataclass
class FrameWork:
    per_frame: list[float]  # main-thread busy ms per frame, in order
    cpu_per_step: float  # CPU ms of the renderer and display compositor per input step
    span_ms: float  # from the first to the last main-thread task of the page's renderer
    #: cpu_per_step split by thread: "main", "compositor", "raster", "display compositor"
    by_thread: dict[str, float] = field(default_factory=dict)


def frame_work(trace: bytes | str, *, steps: int) -> FrameWork:
    """Per-frame main-thread work and CPU per input step of the busiest page renderer."""
    data = json.loads(trace)
    events: list[dict[str, Any]] = data["traceEvents"] if isinstance(data, dict) else data
    names = {
        (e["pid"], e["tid"]): e["args"]["name"]
        for e in events
        if e.get("ph") == "M" and e.get("name") == "thread_name"
    }
    complete = [e for e in events if e.get("ph") == "X" and "dur" in e]
    # the page's renderer: the main thread with the most frames (others are idle tabs)
    mains = Counter(
        (e["pid"], e["tid"])
        for e in complete
        if e["name"] == FRAME and names.get((e["pid"], e["tid"])) == "CrRendererMain"
    )
    if not mains:
        raise ValueError("no frame in the trace: was it recorded with frame_work.CATEGORIES?")
    main = mains.most_common(1)[0][0]
    own = sorted((e for e in complete if (e["pid"], e["tid"]) == main), key=lambda e: e["ts"])
    tasks = [e for e in own if e["name"] == TASK]
    frame_ends = [e["ts"] + e["dur"] for e in own if e["name"] == FRAME]
    per_frame: list[float] = []
    busy = 0.0
    k = 0
    for task in tasks:
        busy += task["dur"] / 1000
        end = task["ts"] + task["dur"]
        closed = False
        while k < len(frame_ends) and frame_ends[k] <= end:
            closed = closed or frame_ends[k] >= task["ts"]
            k += 1
        if closed:  # this task ran a frame: what was busy since the last one belongs to it
            per_frame.append(busy)
            busy = 0.0

    split: Counter[str] = Counter()
    for e in complete:
        where = thread_group(names.get((e["pid"], e["tid"]), ""), in_page=e["pid"] == main[0])
        if e["name"] == TASK and where:
            split[where] += e.get("tdur", 0) / 1000 / max(steps, 1)
    cpu = sum(split.values())
    span = (tasks[-1]["ts"] + tasks[-1]["dur"] - tasks[0]["ts"]) / 1000 if tasks else 0.0
    # the first frame also carries whatever ran before the trace's first frame
    return FrameWork(per_frame[1:], cpu, span, dict(split))


def thread_group(name: str, *, in_page: bool) -> str | None:
    """Which counted thread a thread name is ("main", "compositor", "raster", "display
    compositor"), or None for threads not counted; ``in_page``: of the page's renderer.
    """
    if name.startswith("VizCompositorThread"):
        return "display compositor"  # in the GPU process: software compositing of every page
    if not in_page:
        return None
    if name.startswith("CrRendererMain"):
        return "main"
    if name.startswith("CompositorTileWorker"):
        return "raster"
    if name.startswith("Compositor"):
        return "compositor"
    return None
