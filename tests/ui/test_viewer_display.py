"""SlideViewer display features in headless Chromium: slide filters, thumbnail strip, frames.

Pixels are read back from screenshots (they include CSS/SVG filters, which the canvases' own
pixels do not) and compared with what the filter formula gives for the unfiltered screenshot,
computed here with numpy; the multi-frame image is a generated z-stack whose planes are flat
greys, so each frame's brightness is known in advance.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tifffile
from PIL import Image as PILImage

from tests.ui.conftest import screenshot
from tests.ui.servers import JupyterProcess, start_jupyter
from tests.ui.test_viewer import VIEWER, View, notebook, open_viewer, viewer_cell
from tests.widgets.world import World, add_slide, make_world

#: Grey level of each plane of the generated z-stack (frames 1, 2, 3).
PLANES = (40, 128, 220)
#: Images in the long set that proves the strip asks only for the thumbnails in view.
LONG_SET = 40
#: The box drawn from this process before the page opens: level-0 corners, colour #00C853.
BOX = (400, 500, 1400, 1500)
GREEN = (0x00, 0xC8, 0x53)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, sample_slides_dir: Path, isolated_data_dir: Path
) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("display-store")
    slides = isolated_data_dir / "display-slides"
    built = make_world(
        f"sqlite:///{folder / 'exact.sqlite'}",
        sample_slides_dir / "cmu_small_region.svs",
        slides,
        second=sample_slides_dir / "small.svs",
    )
    planes = np.stack([np.full((400, 600), grey, np.uint8) for grey in PLANES])
    tifffile.imwrite(slides / "zstack.tif", planes, photometric="minisblack")
    built.stack = add_slide(built.store, built.image_set, slides / "zstack.tif")  # type: ignore[attr-defined]
    team = built.store.image_set(built.image_set.id).team
    long_set = built.store.create_image_set(team, "Long series")
    for _ in range(LONG_SET):
        add_slide(built.store, long_set, slides / "zstack.tif")
    built.long_set = long_set  # type: ignore[attr-defined]
    x0, y0, x1, y1 = BOX
    built.store.add_annotation(
        built.image, built.types["mitotic figure"], {"x1": x0, "y1": y0, "x2": x1, "y2": y1}
    )
    yield built
    built.store.close()


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, world: World) -> Path:
    folder = tmp_path_factory.mktemp("display-root")
    notebook(folder / "alice.ipynb", viewer_cell("alice", f"store.image({world.image.id})"))
    long_set = world.long_set  # type: ignore[attr-defined]
    notebook(folder / "long.ipynb", viewer_cell("alice", f"store.image_set({long_set.id})"))
    return folder


def server(kind: str, tmp: pytest.TempPathFactory, root: Path, world: World) -> JupyterProcess:
    extra = ["--ExactLabApp.local_user=alice"] if kind == "lab" else []
    return start_jupyter(
        kind,
        tmp.mktemp(f"display-{kind}"),
        root,
        env={"EXACT_LAB_URL": world.url},
        ready_path="exact/api/status" if kind == "lab" else "",
        extra_args=extra,
    )


def grab(page: Any, clip: dict[str, float]) -> np.ndarray:
    """RGB pixels of a page rectangle as floats."""
    png = page.screenshot(clip=clip)
    return np.asarray(PILImage.open(io.BytesIO(png)).convert("RGB")).astype(float)


def slide_clip(view: View, width: int, height: int, inset: float = 0.0) -> dict[str, float]:
    """The page rectangle of the slide's level-0 area, shrunk by ``inset`` of each side."""
    x0, y0 = view.page(width * inset, height * inset)
    x1, y1 = view.page(width * (1 - inset), height * (1 - inset))
    return {"x": x0 + 2, "y": y0 + 2, "width": x1 - x0 - 4, "height": y1 - y0 - 4}


def expected(before: np.ndarray, brightness: float, contrast: float, gamma: float) -> np.ndarray:
    """The filter's formula, per channel on 0..1 values (independent of the widget's code)."""
    value = (before / 255.0) ** gamma
    return np.clip(contrast * (value - 0.5) + 0.5 + brightness, 0, 1) * 255.0


def set_filters(page: Any, **values: float) -> None:
    for name, value in values.items():
        page.locator(f"{VIEWER} input.elv-{name}").fill(str(value))
    page.wait_for_selector(f"{VIEWER}[data-filter='on']")
    page.wait_for_timeout(300)  # a frame or two for the compositor


def green_pixels(pixels: np.ndarray) -> int:
    """How many pixels have the box's own colour (the overlay, drawn unfiltered)."""
    return int((np.abs(pixels - np.array(GREEN)).max(axis=2) <= 12).sum())


def open_image(page: Any, ident: int) -> None:
    page.wait_for_selector(
        f"{VIEWER}[data-image='{ident}'][data-state='open'][data-fully-loaded='true']"
    )
    page.wait_for_timeout(200)


def frame_grey(page: Any, view: View, frame: int) -> float:
    page.wait_for_selector(f"{VIEWER}[data-frame='{frame}'][data-fully-loaded='true']")
    page.wait_for_timeout(200)
    return float(grab(page, slide_clip(view, 600, 400, inset=0.3)).mean())


def test_filters_strip_and_frames_in_jupyterlab(
    page: Any, tmp_path_factory: pytest.TempPathFactory, root: Path, world: World
) -> None:
    lab = server("lab", tmp_path_factory, root, world)
    try:
        open_viewer(page, lab, "alice.ipynb")
        page.wait_for_selector(f"{VIEWER}[data-fully-loaded='true'][data-annotations='1']")
        page.click(f"{VIEWER} .elv-home")
        page.wait_for_timeout(300)
        image = world.image
        view = View(page, image.width, image.height)
        clip = slide_clip(view, image.width, image.height)
        before = grab(page, clip)
        greens = green_pixels(before)
        assert greens > 200, greens  # the box outline is on screen
        # the box's own pixels, which must keep their colour under any filter
        x0, y0 = view.page(BOX[0], BOX[1])
        x1, y1 = view.page(BOX[2], BOX[3])
        box = np.zeros(before.shape[:2], bool)
        top, left = int(y0 - clip["y"]) - 4, int(x0 - clip["x"]) - 4
        bottom, right = int(y1 - clip["y"]) + 5, int(x1 - clip["x"]) + 5
        box[max(top, 0) : bottom, max(left, 0) : right] = True
        box[top + 9 : bottom - 9, left + 9 : right - 9] = False  # the inside is slide

        # --- gamma 0.5 brightens mid-tones: every slide pixel follows the formula
        set_filters(page, gamma=0.5)
        after = grab(page, clip)
        want = expected(before, 0.0, 1.0, 0.5)
        error = np.abs(after - want)[~box].mean()
        assert error < 3, error
        mid = ((before > 80) & (before < 170)).all(axis=2) & ~box
        assert mid.sum() > 1000
        assert after[mid].mean() > before[mid].mean() + 30
        assert green_pixels(after) >= 0.9 * greens  # the overlay is not filtered
        screenshot(page, "viewer-lab-gamma")

        # --- all three together
        set_filters(page, brightness=-0.1, contrast=1.5)
        after = grab(page, clip)
        error = np.abs(after - expected(before, -0.1, 1.5, 0.5))[~box].mean()
        assert error < 3, error
        assert green_pixels(after) >= 0.9 * greens
        assert page.input_value(f"{VIEWER} input.elv-contrast") == "1.5"
        screenshot(page, "viewer-lab-filters")

        # --- Reset: the slide's own pixels again
        page.click(f"{VIEWER} .elv-filter-reset")
        page.wait_for_selector(f"{VIEWER}[data-filter='off']")
        page.wait_for_timeout(300)
        assert np.abs(grab(page, clip) - before).mean() < 0.5
        assert page.is_disabled(f"{VIEWER} .elv-filter-reset")
        # a focused slider keeps its arrow keys (they do not pan the slide)
        page.focus(f"{VIEWER} input.elv-gamma")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        page.wait_for_selector(f"{VIEWER}[data-filter='on']")
        page.wait_for_timeout(300)
        assert page.input_value(f"{VIEWER} input.elv-gamma") == "0.96"
        assert np.abs(grab(page, clip) - expected(before, 0.0, 1.0, 0.96))[~box].mean() < 3
        page.click(f"{VIEWER} .elv-filter-reset")
        page.wait_for_selector(f"{VIEWER}[data-filter='off']")

        # --- the thumbnail strip: three pictures from the extension, the shown one highlighted
        thumbs = page.locator(f"{VIEWER} .elv-thumb")
        assert thumbs.count() == 3
        page.wait_for_selector(f"{VIEWER} .elv-thumb[data-index='2'][data-loaded='true']")
        for i in range(3):
            assert thumbs.nth(i).get_attribute("data-loaded") == "true"
            assert "/thumbnail/" in (thumbs.nth(i).locator("img").get_attribute("src") or "")
        assert thumbs.nth(0).get_attribute("aria-selected") == "true"
        # clicking the second thumbnail shows the second image and loads its tiles
        thumbs.nth(1).click()
        open_image(page, world.second_image.id)
        assert thumbs.nth(1).get_attribute("aria-selected") == "true"
        assert thumbs.nth(0).get_attribute("aria-selected") == "false"
        assert "(2/3)" in page.inner_text(f"{VIEWER} .elv-name")
        # the previous / next buttons walk the set too
        page.click(f"{VIEWER} .elv-prev")
        open_image(page, image.id)
        page.click(f"{VIEWER} .elv-next")
        open_image(page, world.second_image.id)

        # --- the z-stack: the frame slider and Shift+Q / Shift+E switch planes
        stack = world.stack  # type: ignore[attr-defined]
        assert page.is_hidden(f"{VIEWER} .elv-frames")  # no frames on an ordinary slide
        thumbs.nth(2).click()
        open_image(page, stack.id)
        assert page.is_visible(f"{VIEWER} .elv-frames")
        page.click(f"{VIEWER} .elv-home")
        page.wait_for_timeout(300)
        frames = View(page, 600, 400)
        assert abs(frame_grey(page, frames, 1) - PLANES[0]) < 6
        page.locator(f"{VIEWER} input.elv-frame").fill("3")
        assert abs(frame_grey(page, frames, 3) - PLANES[2]) < 6
        assert "frame 3/3" in page.inner_text(f"{VIEWER} .elv-frame-label")
        screenshot(page, "viewer-lab-frame3")
        page.focus(VIEWER)
        page.keyboard.press("Shift+Q")
        assert abs(frame_grey(page, frames, 2) - PLANES[1]) < 6
        assert page.input_value(f"{VIEWER} input.elv-frame") == "2"
    finally:
        lab.stop()


def test_strip_and_filters_in_voila(
    page: Any, tmp_path_factory: pytest.TempPathFactory, root: Path, world: World
) -> None:
    voila = server("voila", tmp_path_factory, root, world)
    try:
        page.goto(voila.url("voila/render/alice.ipynb"))
        page.wait_for_selector(f"{VIEWER}[data-state='open'][data-fully-loaded='true']")
        assert page.get_attribute(VIEWER, "data-tile-mode") == "comm"
        # no extension here: the thumbnails came from the kernel over the widget channel
        page.wait_for_selector(f"{VIEWER} .elv-thumb[data-index='2'][data-loaded='true']")
        sources = page.eval_on_selector_all(
            f"{VIEWER} .elv-thumb img", "imgs => imgs.map(i => [i.src, i.naturalWidth])"
        )
        assert len(sources) == 3
        assert all(src.startswith("blob:") and width > 0 for src, width in sources), sources
        page.wait_for_selector(f"{VIEWER} .navigator")
        page.wait_for_timeout(2500)  # longer than OpenSeadragon's control fade delay
        navigator = page.locator(f"{VIEWER} .navigator").screenshot()
        overview = np.asarray(PILImage.open(io.BytesIO(navigator)).convert("RGB"))
        assert overview.mean() > 40, overview.mean()  # the overview, not a black box
        set_filters(page, gamma=0.6, contrast=1.2)
        screenshot(page, "viewer-voila-filters")
        page.locator(f"{VIEWER} .elv-thumb").nth(2).click()
        open_image(page, world.stack.id)  # type: ignore[attr-defined]
        page.click(f"{VIEWER} .elv-filter-reset")
        page.click(f"{VIEWER} .elv-home")
        page.wait_for_timeout(300)
        frames = View(page, 600, 400)
        page.locator(f"{VIEWER} input.elv-frame").fill("2")
        assert abs(frame_grey(page, frames, 2) - PLANES[1]) < 6
        screenshot(page, "viewer-voila-frame2")

        # --- a long set: only the thumbnails in (or near) view are asked for
        page.goto(voila.url("voila/render/long.ipynb"))
        page.wait_for_selector(f"{VIEWER}[data-state='open'][data-fully-loaded='true']")
        thumbs = page.locator(f"{VIEWER} .elv-thumb")
        assert thumbs.count() == LONG_SET
        page.wait_for_selector(f"{VIEWER} .elv-thumb[data-index='0'][data-loaded='true']")
        page.wait_for_timeout(1500)  # time for any extra (wrong) requests to land
        loaded = page.locator(f"{VIEWER} .elv-thumb[data-loaded='true']").count()
        assert 0 < loaded < LONG_SET / 2, loaded
        assert thumbs.last.get_attribute("data-loaded") is None
        thumbs.last.scroll_into_view_if_needed()
        page.wait_for_selector(
            f"{VIEWER} .elv-thumb[data-index='{LONG_SET - 1}'][data-loaded='true']"
        )
        thumbs.last.click()
        open_image(page, int(thumbs.last.get_attribute("data-image") or 0))
        assert f"({LONG_SET}/{LONG_SET})" in page.inner_text(f"{VIEWER} .elv-name")
        screenshot(page, "viewer-voila-long-set")
    finally:
        voila.stop()
