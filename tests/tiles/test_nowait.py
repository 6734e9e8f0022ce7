"""TileService.tile_nowait: tiles an event loop may serve without waiting, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from exact_lab.tiles import TileService
from exact_lab.tiles._passthrough import NOWAIT, RawTiles


def test_nothing_before_the_slide_is_open(small_slide):
    service = TileService()
    assert service.tile_nowait(small_slide, 11, 1, 1) is None  # path never checked, slide closed
    assert service.cache_info()["open_slides"] == 0  # and it opened nothing


@pytest.mark.skipif(not NOWAIT, reason="needs preadv2 with RWF_NOWAIT (Linux)")
def test_passthrough_tiles_in_memory_come_without_a_thread(small_slide):
    service = TileService()
    slow = service.tile(small_slide, 11, 1, 1)  # opens the slide, reads the bytes (now cached)
    fast = service.tile_nowait(small_slide, 11, 1, 1)
    assert fast is not None
    assert fast.passthrough
    assert fast.data == slow.data
    Path(small_slide).read_bytes()  # the whole file is now in the page cache
    for col, row in ((0, 0), (2, 1), (3, 2)):
        tile = service.tile_nowait(small_slide, 11, col, row)
        assert tile is not None
        assert tile.data == service.tile(small_slide, 11, col, row).data


def test_reencoded_tiles_only_once_cached(small_slide):
    service = TileService()
    service.tile(small_slide, 11, 0, 0)  # open the slide
    assert service.tile_nowait(small_slide, 11, 2, 2, image_format="png") is None
    made = service.tile(small_slide, 11, 2, 2, image_format="png")
    again = service.tile_nowait(small_slide, 11, 2, 2, image_format="png")
    assert again is not None
    assert again.cached
    assert again.data == made.data
    assert service.tile_nowait(small_slide, 8, 0, 0) is None  # a partial edge tile: re-encoded


def test_errors_are_left_to_the_thread_path(small_slide):
    service = TileService()
    service.tile(small_slide, 11, 0, 0)
    assert service.tile_nowait(small_slide, 11, 999, 0) is None  # the slow path names the error
    assert service.tile_nowait(small_slide, 11, 0, 0, frame=3) is None
    assert service.tile_nowait(small_slide, 11, 0, 0, image_format="gif") is None


def test_raw_reader_refuses_to_wait(small_slide, monkeypatch):
    """Without the non-blocking read the raw reader raises instead of touching the disk."""
    import exact_lab.tiles._passthrough as passthrough

    monkeypatch.setattr(passthrough, "NOWAIT", False)
    raw = RawTiles.open(small_slide, [(2048, 1536)])
    assert raw is not None
    with pytest.raises(BlockingIOError):
        raw.get(0, 1, 1, nowait=True)
    assert raw.get(0, 1, 1)[:2] == b"\xff\xd8"
    raw.close()
