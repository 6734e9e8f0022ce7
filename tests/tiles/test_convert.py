"""Conversion of what OpenSlide cannot read into cached pyramids, frames addressable by index."""

from __future__ import annotations

import numpy as np
import openslide
import pytest
import pyvips
import tifffile
from PIL import Image

from exact_lab.errors import BadInput
from exact_lab.tiles import TileService, convert_to_pyramid, open_slide

from .conftest import decode

W, H = 700, 500


def pattern() -> np.ndarray:
    """An RGB test image: red gradient left to right, green top to bottom, blue squares."""
    y, x = np.mgrid[0:H, 0:W]
    red = (x * 255 // (W - 1)).astype(np.uint8)
    green = (y * 255 // (H - 1)).astype(np.uint8)
    blue = np.where(((x // 50) + (y // 50)) % 2 == 0, 40, 210).astype(np.uint8)
    return np.dstack([red, green, blue])


def assert_like_pattern(slide, expected: np.ndarray, tolerance: float) -> None:
    got = slide.read_array((0, 0), 0, (W, H)).astype(np.int16)
    assert got.shape == expected.shape
    assert np.abs(got - expected.astype(np.int16)).mean() <= tolerance


@pytest.mark.parametrize(
    ("suffix", "save", "tolerance"),
    [
        ("png", lambda img, p: Image.fromarray(img).save(p), 2.5),
        ("jpg", lambda img, p: Image.fromarray(img).save(p, quality=95), 3.5),
        ("bmp", lambda img, p: Image.fromarray(img).save(p), 2.5),
        ("webp", lambda img, p: Image.fromarray(img).save(p, lossless=True), 2.5),
        ("tif", lambda img, p: tifffile.imwrite(p, img), 2.5),  # untiled TIFF
        ("tiff", lambda img, p: tifffile.imwrite(p, img, tile=(128, 128)), 2.5),  # tiled, one level
    ],
)
def test_formats_convert_to_pyramids(tmp_path, conversion_dir, suffix, save, tolerance):
    image = pattern()
    path = tmp_path / f"input.{suffix}"
    save(image, path)
    with open_slide(path, conversion_dir=conversion_dir) as slide:
        assert slide.converted
        assert slide.vendor == "converted"
        assert slide.dimensions == (W, H)
        assert slide.level_count >= 2
        assert slide.frames == 1
        assert_like_pattern(slide, image, tolerance)
        # the pyramid is a real OpenSlide-readable tiled TIFF
        with openslide.OpenSlide(slide.frame_paths[0]) as reference:
            assert reference.level_dimensions[0] == (W, H)


def test_rgba_png_is_flattened_on_white(tmp_path, conversion_dir):
    rgba = np.zeros((H, W, 4), np.uint8)
    rgba[:, : W // 2] = (10, 20, 30, 255)
    Image.fromarray(rgba).save(tmp_path / "alpha.png")
    with open_slide(tmp_path / "alpha.png", conversion_dir=conversion_dir) as slide:
        region = slide.read_array((0, 0), 0, (W, H)).astype(int)
    assert np.abs(region[:, : W // 2 - 16] - (10, 20, 30)).max() <= 6
    assert np.abs(region[:, W // 2 + 16 :] - 255).max() <= 6


def test_sixteen_bit_single_channel_is_scaled(tmp_path, conversion_dir):
    _, x = np.mgrid[0:H, 0:W]
    grey16 = (1000 + x * 3).astype(np.uint16)  # uses only a slice of the 16-bit range
    tifffile.imwrite(tmp_path / "grey16.tif", grey16)
    with open_slide(tmp_path / "grey16.tif", conversion_dir=conversion_dir) as slide:
        region = slide.read_array((0, 0), 0, (W, H)).astype(int)
    assert region[:, :5].mean() < 5  # min maps to black
    assert region[:, -5:].mean() > 250  # max maps to white
    assert np.abs(region[..., 0] - region[..., 2]).max() <= 3  # grey stays grey


def test_eight_bit_single_channel_png(tmp_path, conversion_dir):
    grey = pattern()[..., 0]
    Image.fromarray(grey, mode="L").save(tmp_path / "grey.png")
    with open_slide(tmp_path / "grey.png", conversion_dir=conversion_dir) as slide:
        assert_like_pattern(slide, np.dstack([grey] * 3), 2.5)


def test_multipage_tiff_stack_becomes_frames(tmp_path, conversion_dir):
    planes = np.stack([np.full((H, W), value, np.uint8) for value in (30, 130, 230)])
    tifffile.imwrite(tmp_path / "stack.tif", planes, photometric="minisblack")
    path = tmp_path / "stack.tif"
    service = TileService(conversion_dir=conversion_dir)
    info = service.slide_information(path)
    assert info["frames"] == 3
    top = info["levels"] - 1
    for frame, value in enumerate((30, 130, 230)):
        tile = decode(service.tile(path, top, 1, 1, frame=frame, image_format="png").data)
        assert abs(tile.mean() - value) <= 3, frame
    with pytest.raises(BadInput, match="frame 3 is out of range"):
        service.tile(path, top, 0, 0, frame=3)


def test_conversion_cache_is_keyed_by_content(tmp_path):
    cache = tmp_path / "cache"
    Image.fromarray(pattern()).save(tmp_path / "a.png")
    first = convert_to_pyramid(tmp_path / "a.png", cache_dir=cache)
    (tmp_path / "b.png").write_bytes((tmp_path / "a.png").read_bytes())
    stamp = first.frames[0].stat().st_mtime_ns
    second = convert_to_pyramid(tmp_path / "b.png", cache_dir=cache)
    assert second.checksum == first.checksum
    assert second.frames == first.frames
    assert first.frames[0].stat().st_mtime_ns == stamp  # not converted again
    assert [p.name for p in cache.iterdir()] == [first.checksum]


def test_converted_tiles_pass_through(tmp_path, conversion_dir):
    Image.fromarray(pattern()).save(tmp_path / "p.png")
    service = TileService(conversion_dir=conversion_dir)
    top = service.slide_information(tmp_path / "p.png")["levels"] - 1
    assert service.tile(tmp_path / "p.png", top, 1, 0).passthrough


def test_resolution_becomes_mpp(tmp_path, conversion_dir):
    image = pyvips.Image.new_from_array(pattern()).copy(interpretation="srgb", xres=2000, yres=2000)
    image.tiffsave(str(tmp_path / "res.tif"))  # 2000 px/mm = 0.5 µm/px
    with open_slide(tmp_path / "res.tif", conversion_dir=conversion_dir) as slide:
        assert slide.mpp == pytest.approx((0.5, 0.5), rel=1e-3)
    Image.fromarray(pattern()).save(tmp_path / "nores.bmp")
    with open_slide(tmp_path / "nores.bmp", conversion_dir=conversion_dir) as slide:
        assert slide.mpp is None


def test_progress_bar_for_conversions(tmp_path, capsys):
    Image.fromarray(pattern()).save(tmp_path / "p.png")
    convert_to_pyramid(tmp_path / "p.png", cache_dir=tmp_path / "c", progress=True)
    assert "p.png frame 0" in capsys.readouterr().err
