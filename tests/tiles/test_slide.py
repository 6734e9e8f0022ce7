"""Opening real sample slides and generated pyramids: metadata, every level, regions, thumbnails."""

from __future__ import annotations

import numpy as np
import openslide
import pytest

from exact_lab.tiles import open_slide, patch_around, read_level_array, vector_bounds


def test_cmu_small_region_metadata(sample_slides_dir):
    with open_slide(sample_slides_dir / "cmu_small_region.svs") as slide:
        assert slide.dimensions == (2220, 2967)
        assert slide.level_count == 1
        assert slide.vendor == "aperio"
        assert slide.mpp == pytest.approx((0.499, 0.499))
        assert slide.objective_power == 20
        assert slide.frames == 1
        assert not slide.converted
        assert set(slide.associated_image_names) == {"label", "macro", "thumbnail"}
        assert slide.properties["openslide.vendor"] == "aperio"


@pytest.mark.parametrize(
    ("name", "vendor", "dims", "levels"),
    [
        ("small.svs", "aperio", (16, 16), 1),
        ("😐.svs", "aperio", (16, 16), 1),
        ("boxes.tiff", "generic-tiff", (300, 250), 4),
        ("boxes_0.dcm", "dicom", (16, 16), 1),
        ("boxes_1.dcm", "dicom", (16, 16), 1),
    ],
)
def test_sample_slides_open_with_openslide_metadata(sample_slides_dir, name, vendor, dims, levels):
    path = sample_slides_dir / name
    reference = openslide.OpenSlide(path)
    with open_slide(path) as slide:
        assert slide.vendor == vendor
        assert slide.dimensions == dims
        assert slide.level_count == levels
        assert slide.level_dimensions == reference.level_dimensions
        assert slide.level_downsamples == pytest.approx(reference.level_downsamples)
        for level, (w, h) in enumerate(slide.level_dimensions):
            ours = slide.read_array((0, 0), level, (w, h))
            theirs = np.asarray(reference.read_region((0, 0), level, (w, h)).convert("RGB"))
            assert ours.shape == (h, w, 3)
            assert np.array_equal(ours, theirs), f"{name} level {level}"


def test_generated_pyramid_every_level(make_pyramid):
    path = make_pyramid(2048, 1536)
    with open_slide(path) as slide:
        assert slide.level_dimensions == ((2048, 1536), (1024, 768), (512, 384), (256, 192))
        assert slide.mpp == pytest.approx((0.25, 0.25))
        assert slide.objective_power == 40
        # the pattern's red channel is a left-to-right gradient: check it at every level
        for level, (w, _) in enumerate(slide.level_dimensions):
            row = slide.read_array((0, 0), level, (w, 1))[0, :, 0].astype(int)
            assert row[0] < 20, level
            assert row[-1] > 235, level


def test_regions_outside_the_image_are_background(small_slide):
    with open_slide(small_slide) as slide:
        region = slide.read_array((2040, 0), 0, (16, 4))
        assert region.shape == (4, 16, 3)
        assert (region[:, 8:] == 255).all()
        assert not (region[:, :8] == 255).all()


def test_thumbnail_keeps_aspect_ratio(sample_slides_dir):
    with open_slide(sample_slides_dir / "cmu_small_region.svs") as slide:
        thumb = slide.get_thumbnail((128, 128))
        assert thumb.mode == "RGB"
        assert max(thumb.size) == 128
        assert thumb.size == (96, 128)
        assert np.asarray(thumb).std() > 5  # real tissue, not a blank image


def test_patch_centred_on_an_exact_vector(small_slide):
    vector = {"x1": 500, "y1": 300, "x2": 700, "y2": 420, "frame": 1}
    assert vector_bounds(vector) == (500, 300, 700, 420)
    with open_slide(small_slide) as slide:
        patch = patch_around(slide, vector, size=(64, 32))
        assert patch.shape == (32, 64, 3)
        direct = read_level_array(slide, (600 - 32, 360 - 16), 0, (64, 32))
        assert np.array_equal(patch, direct)
        bbox = patch_around(slide, vector, margin=10, level=1)
        assert bbox.shape == (60 + 20, 100 + 20, 3)


def test_best_level_for_downsample(small_slide):
    with open_slide(small_slide) as slide:
        assert slide.get_best_level_for_downsample(1) == 0
        assert slide.get_best_level_for_downsample(3.9) == 1
        assert slide.get_best_level_for_downsample(4) == 2
        assert slide.get_best_level_for_downsample(1000) == 3
