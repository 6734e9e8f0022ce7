"""Re-encodes built from the stored JPEG tiles: agreement with OpenSlide, DCT scaling, caches."""

from __future__ import annotations

import io
import random
import shutil

import numpy as np
import openslide
import pytest
from PIL import Image

from exact_lab.tiles import DeepZoomGrid, RawTiles, SlideTiles, TileService, open_slide
from exact_lab.tiles._stitch import DecodedLRU, Stitcher

from .conftest import decode


def openslide_region(path, level, box, *, level_ds=1):
    """Pixels ``(x, y, w, h)`` of slide ``level`` read by openslide.read_region, as int16 RGB."""
    x, y, w, h = box
    with openslide.OpenSlide(path) as reference:
        image = reference.read_region((x * level_ds, y * level_ds), level, (w, h))
    return np.asarray(image.convert("RGB")).astype(np.int16)


@pytest.mark.parametrize("aperio", [True, False])
def test_254_1_tiles_are_stitched_and_equal_openslide_pixels(make_pyramid, aperio):
    """Every kind of 254/1 tile (1, 2 or 4 stored tiles, edges) is exact against read_region."""
    path = make_pyramid(2048, 1536, aperio=aperio)
    service = TileService(cache_mb=0, tile_size=254, overlap=1)
    grid = DeepZoomGrid((2048, 1536), tile_size=254, overlap=1)
    tiles = service.open(path)
    top = grid.level_count - 1
    rng = random.Random(11)
    for slide_level in range(3):
        level = top - slide_level
        cols, rows = grid.level_tiles[level]
        picks = {(0, 0), (cols - 1, rows - 1), (cols - 1, 0)}
        picks |= {(rng.randrange(cols), rng.randrange(rows)) for _ in range(5)}
        for col, row in sorted(picks):
            assert tiles.stitched(grid, level, col, row, 0) is not None  # the new path serves it
            png = service.tile(path, level, col, row, image_format="png")
            box = grid.tile_bounds(level, col, row)
            expected = openslide_region(path, slide_level, box, level_ds=2**slide_level)
            assert np.array_equal(decode(png.data), expected), (level, col, row)


def test_levels_without_a_stored_level_use_dct_scaling_within_jpeg_tolerance(sample_slides_dir):
    """cmu_small_region.svs has one level: DeepZoom levels 1-3 steps down decode at 1/2-1/8."""
    path = sample_slides_dir / "cmu_small_region.svs"
    grid = DeepZoomGrid((2220, 2967), tile_size=254, overlap=1)
    top = grid.level_count - 1
    with open_slide(path) as slide:
        tiles = SlideTiles(slide)
        for steps in (1, 2, 3):
            scale = 2**steps
            level = top - steps
            cols, rows = grid.level_tiles[level]
            for col, row in {(0, 0), (cols // 2, rows // 2), (cols - 1, rows - 1)}:
                ours = tiles.stitched(grid, level, col, row, 0)
                assert ours is not None
                x, y, w, h = grid.tile_bounds(level, col, row)
                assert ours.size == (w, h)
                # reference: the same area read at full resolution, box-averaged by `scale`
                full_w = min(w * scale, 2220 - x * scale)
                full_h = min(h * scale, 2967 - y * scale)
                full = openslide_region(path, 0, (x * scale, y * scale, full_w, full_h))
                image = Image.fromarray(full.astype(np.uint8))
                reference = np.asarray(image.resize((w, h), Image.Resampling.BOX)).astype(np.int16)
                diff = np.abs(np.asarray(ours).astype(np.int16) - reference)
                assert diff.mean() <= 3.0, (steps, col, row, diff.mean())
                assert np.percentile(diff, 99) <= 24, (steps, col, row)
            # and through the service, encoded once as JPEG
            tile = TileService(cache_mb=0, tile_size=254, overlap=1).tile(path, level, 0, 0)
            assert not tile.passthrough
            assert decode(tile.data).shape[:2] == grid.tile_bounds(level, 0, 0)[3:1:-1]


def test_partial_decode_equals_the_top_of_a_full_decode(make_pyramid):
    path = make_pyramid(2048, 1536)
    raw = RawTiles.open(path, [(2048, 1536)])
    assert raw is not None
    try:
        data = raw.get(0, 3, 2)
        assert data is not None
        full = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        for rows in (1, 3, 17, 200):
            stitcher = Stitcher(raw, DecodedLRU(0))
            part = stitcher.decoded(0, 3, 2, 1, rows)
            assert part is not None
            assert part.height >= rows
            assert np.array_equal(np.asarray(part)[:rows], full[:rows])
        quarter = Image.open(io.BytesIO(data))
        quarter.draft("RGB", (64, 64))
        scaled = Stitcher(raw, DecodedLRU(0)).decoded(0, 3, 2, 4, 10)
        assert scaled is not None
        assert np.array_equal(np.asarray(scaled)[:10], np.asarray(quarter.convert("RGB"))[:10])
    finally:
        raw.close()


def test_decoded_cache_is_bounded_shared_and_reused(make_pyramid):
    path = make_pyramid(2048, 1536)
    service = TileService(cache_mb=0, tile_size=254, overlap=1, decoded_mb=1)
    bound = service.decoded_cache.max_bytes
    top = DeepZoomGrid((2048, 1536), tile_size=254, overlap=1).level_count - 1
    for col in range(8):
        for row in range(6):
            service.tile(path, top, col, row)
            assert service.decoded_cache.size_bytes <= bound
    info = service.cache_info()
    assert 0 < info["decoded_tiles"] <= bound // (256 * 256 * 3)
    # a neighbour decodes nothing new when its stored tiles are cached
    service.decoded_cache.clear()
    service.tile(path, top, 2, 2)
    decoded = len(service.decoded_cache)
    service.tile(path, top, 2, 2, image_format="png")
    assert len(service.decoded_cache) == decoded
    off = TileService(cache_mb=0, tile_size=254, overlap=1, decoded_mb=0)
    off.tile(path, top, 1, 1)
    assert off.cache_info()["decoded_tiles"] == 0


def test_replaced_file_is_not_served_from_old_decoded_tiles(make_pyramid, tmp_path):
    first, second = make_pyramid(1024, 768), make_pyramid(1024, 768, quality=40)
    path = tmp_path / "slide.tiff"
    shutil.copy(first, path)
    service = TileService(cache_mb=0, tile_size=254, overlap=1, quality=95)
    top = DeepZoomGrid((1024, 768), tile_size=254, overlap=1).level_count - 1
    before = decode(service.tile(path, top, 1, 1, image_format="png").data)
    shutil.copy(second, path)
    service._checked.clear()  # skip the 1 s path-check memo
    after = decode(service.tile(path, top, 1, 1, image_format="png").data)
    box = DeepZoomGrid((1024, 768), tile_size=254, overlap=1).tile_bounds(top, 1, 1)
    assert np.array_equal(after, openslide_region(path, 0, box))
    assert not np.array_equal(before, after)


def test_direct_decoder_checks_the_frame_and_reports_damage(make_pyramid):
    from exact_lab.tiles._stitch import _decode_direct, _frame_size

    path = make_pyramid(1024, 768)
    raw = RawTiles.open(path, [(1024, 768)])
    assert raw is not None
    try:
        data = raw.get(0, 1, 1)
        assert data is not None
    finally:
        raw.close()
    assert _frame_size(data) == (256, 256, 3)
    assert _decode_direct(data, 240, 1, None) is None  # another size: the general path decides
    full = _decode_direct(data, 256, 1, None)
    assert full is not None
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(np.asarray(full), reference)
    with pytest.raises(OSError, match="damaged JPEG tile"):
        _decode_direct(data[: len(data) // 2], 256, 1, None)
    progressive = io.BytesIO()
    Image.fromarray(reference).save(progressive, "JPEG", progressive=True)
    assert _frame_size(progressive.getvalue()) is None
