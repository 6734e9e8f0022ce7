"""Hostile inputs give SlideReadError or BadInput naming the file and the reason, never a crash."""

from __future__ import annotations

import shutil

import pytest
import pyvips

from exact_lab.errors import BadInput, SlideReadError
from exact_lab.tiles import TileService, open_slide


@pytest.fixture
def service(conversion_dir):
    return TileService(conversion_dir=conversion_dir)


@pytest.mark.parametrize(
    ("name", "reason"),
    [("unopenable.tiff", "compression"), ("unreadable.svs", "damaged")],
)
def test_hostile_sample_slides(sample_slides_dir, service, name, reason):
    with pytest.raises(SlideReadError) as info:
        service.tile(sample_slides_dir / name, 0, 0, 0)
    assert name in str(info.value)
    assert reason in str(info.value).lower()


def test_zero_byte_file(tmp_path, service):
    path = tmp_path / "empty.svs"
    path.touch()
    with pytest.raises(SlideReadError, match=r"empty\.svs.*empty \(0 bytes\)"):
        service.dzi(path)


def test_truncated_slide(tmp_path, sample_slides_dir, service):
    data = (sample_slides_dir / "cmu_small_region.svs").read_bytes()
    path = tmp_path / "truncated.svs"
    path.write_bytes(data[: len(data) // 3])

    def read_all() -> None:
        for col in range(9):
            for row in range(12):
                service.tile(path, 12, col, row)

    with pytest.raises(SlideReadError) as info:
        read_all()
    assert "truncated.svs" in str(info.value)


def test_truncated_png(tmp_path, sample_slides_dir, service):
    pyvips.Image.xyz(400, 300)[0].cast("uchar").write_to_file(str(tmp_path / "full.png"))
    data = (tmp_path / "full.png").read_bytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(SlideReadError, match=r"cut\.png"):
        service.tile(path, 0, 0, 0)


def test_text_file_named_like_a_slide(tmp_path, service):
    path = tmp_path / "notes.svs"
    path.write_text("not a slide at all\n")
    with pytest.raises(SlideReadError, match=r"notes\.svs.*(?:read|pyvips)"):
        service.tile(path, 0, 0, 0)


def test_emoji_name_opens(sample_slides_dir, service):
    path = sample_slides_dir / "😐.svs"
    assert service.tile(path, 0, 0, 0).data.startswith(b"\xff\xd8")
    assert service.slide_information(path)["width"] == 16


def test_directory_and_missing_path(tmp_path, service):
    with pytest.raises(BadInput, match="is a directory"):
        service.tile(tmp_path, 0, 0, 0)
    with pytest.raises(SlideReadError, match=r"nope\.svs: no such file"):
        service.tile(tmp_path / "nope.svs", 0, 0, 0)


def test_path_outside_allowed_roots(tmp_path, sample_slides_dir):
    service = TileService(allowed_roots=[tmp_path])
    outside = sample_slides_dir / "small.svs"
    with pytest.raises(BadInput) as info:
        service.dzi(outside)
    assert str(outside) in str(info.value)
    assert "outside the allowed folders" in str(info.value)
    link = tmp_path / "link.svs"
    link.symlink_to(outside)
    with pytest.raises(BadInput, match="outside the allowed folders"):
        service.dzi(link)
    inside = tmp_path / "copy.svs"
    shutil.copy(outside, inside)
    assert "TileSize" in service.dzi(inside)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"level": 99, "col": 0, "row": 0}, "level"),
        ({"level": 11, "col": 8, "row": 0}, "col"),
        ({"level": 11, "col": 0, "row": -1}, "row"),
        ({"level": 11, "col": 0, "row": 0, "frame": 1}, "frame"),
        ({"level": 11, "col": 0, "row": 0, "image_format": "gif"}, "format"),
    ],
)
def test_out_of_range_requests(small_slide, service, kwargs, field):
    level, col, row = kwargs.pop("level"), kwargs.pop("col"), kwargs.pop("row")
    with pytest.raises(BadInput) as info:
        service.tile(small_slide, level, col, row, **kwargs)
    assert info.value.field == field


def test_bad_patch_and_region_sizes(small_slide, service):
    with pytest.raises(BadInput, match="between 1 and 2048"):
        service.get_patch(small_slide, x=0, y=0, level=0, width=4096, height=10)
    with open_slide(small_slide) as slide, pytest.raises(BadInput, match="level 9 is out of range"):
        slide.read_region((0, 0), 9, (10, 10))


def test_service_keeps_working_after_errors(sample_slides_dir, small_slide, service):
    for _ in range(3):
        with pytest.raises(SlideReadError):
            service.tile(sample_slides_dir / "unreadable.svs", 0, 0, 0)
        assert service.tile(small_slide, 11, 1, 1).passthrough
