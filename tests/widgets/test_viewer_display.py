"""SlideViewer's slide filters and thumbnail command, on a real SQLite store and real slides.

The browser side (pixels under the filters, the strip, the frame slider) is proven in
``tests/ui/test_viewer_display.py``.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import traitlets
from PIL import Image as PILImage

from exact_lab.widgets import SlideViewer, _commands
from tests.widgets.world import World, make_world


@pytest.fixture
def world(tmp_path: Path, sample_slides_dir: Path) -> World:
    return make_world(
        f"sqlite:///{tmp_path / 'display.sqlite'}",
        sample_slides_dir / "cmu_small_region.svs",
        tmp_path / "slides",
        second=sample_slides_dir / "small.svs",
    )


@pytest.mark.parametrize(
    ("name", "bad"), [("brightness", 1.5), ("contrast", -0.1), ("gamma", 0.0), ("gamma", 7)]
)
def test_out_of_range_filter_names_the_range_and_keeps_the_value(
    world: World, name: str, bad: float
) -> None:
    viewer = SlideViewer(world.image, store=world.store, live=False)
    before = getattr(viewer, name)
    with pytest.raises(traitlets.TraitError, match=rf"{name}: .* is outside .* leaves the slide"):
        setattr(viewer, name, bad)
    assert getattr(viewer, name) == before


def test_filters_sync_and_reset(world: World) -> None:
    viewer = SlideViewer(world.image, store=world.store, live=False)
    viewer.brightness, viewer.contrast, viewer.gamma = -0.25, 2.5, 0.4
    state = viewer.get_state()
    assert (state["brightness"], state["contrast"], state["gamma"]) == (-0.25, 2.5, 0.4)
    viewer.reset_filters()
    assert (viewer.brightness, viewer.contrast, viewer.gamma) == (0.0, 1.0, 1.0)
    with pytest.raises(traitlets.TraitError, match="gamma: nan"):
        viewer.gamma = float("nan")


def test_thumbnail_command_serves_the_sets_images_only(world: World) -> None:
    viewer = SlideViewer(world.image, store=world.store, live=False)
    reply, buffers = _commands.thumbnail(viewer, {"image": world.second_image.id, "size": 64}, [])
    assert reply == {"ok": True}
    picture = PILImage.open(io.BytesIO(buffers[0]))
    assert picture.format == "PNG"
    assert max(picture.size) <= 64
    # an image of another set: refused with the cause, no bytes
    team = world.store.teams()[0]
    other_set = world.store.create_image_set(team, "Elsewhere")
    other = world.store.add_image(other_set, "other", width=10, height=10)
    reply, buffers = _commands.thumbnail(viewer, {"image": other.id}, [])
    assert reply["error"] == "BadInput"
    assert "not in this viewer's image set" in reply["message"]
    assert buffers == []


def test_region_answer_lists_the_images_global_labels(world: World) -> None:
    product = world.types["tumour"].product
    free = world.store.create_annotation_type(product, "tumour-free", vector_type=7, sort_order=9)
    viewer = SlideViewer(world.image, store=world.store, live=False)
    bbox = {"bbox": [0, 0, 100, 100]}
    assert _commands.region(viewer, bbox, [])[0]["globals"] == []
    label = world.store.add_annotation(world.image, free, None)
    world.store.add_annotation(world.second_image, free, None)  # another image's: not listed
    assert _commands.region(viewer, bbox, [])[0]["globals"] == [[label.id, free.id, 1]]
    reply, _ = _commands.delete(viewer, {"items": [[label.id, 1]]}, [])
    assert reply["ok"][0]["deleted"]
    assert _commands.region(viewer, bbox, [])[0]["globals"] == []


def test_frame_outside_the_image_is_refused(world: World) -> None:
    viewer = SlideViewer(world.image, store=world.store, live=False)
    with pytest.raises(traitlets.TraitError, match="frame: 2 is outside 1 to 1"):
        viewer.frame = 2
    assert viewer.frame == 1
    assert viewer.dzi_url.endswith("/1/1/tile/")
