"""DeepZoom grid math against openslide's own DeepZoomGenerator, and the DZI descriptor."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import openslide
import pytest
from openslide.deepzoom import DeepZoomGenerator

from exact_lab.errors import BadInput
from exact_lab.tiles import DeepZoomGrid

NS = "{http://schemas.microsoft.com/deepzoom/2008}"


@pytest.mark.parametrize(("tile_size", "overlap"), [(256, 0), (254, 1), (240, 0), (64, 1)])
@pytest.mark.parametrize("dims", [(2048, 1536), (2220, 2967), (300, 250), (1, 1), (257, 3)])
def test_grid_matches_openslide_deepzoom(tmp_path, dims, tile_size, overlap, make_pyramid):
    slide = openslide.ImageSlide(__import__("PIL.Image").Image.new("RGB", dims))
    reference = DeepZoomGenerator(slide, tile_size=tile_size, overlap=overlap)
    grid = DeepZoomGrid(dims, tile_size=tile_size, overlap=overlap)
    assert grid.level_count == reference.level_count
    assert grid.level_dimensions == reference.level_dimensions
    assert grid.level_tiles == reference.level_tiles
    for level in range(grid.level_count):
        cols, rows = grid.level_tiles[level]
        for col, row in {(0, 0), (cols - 1, rows - 1), (cols // 2, rows // 2)}:
            _, _, w, h = grid.tile_bounds(level, col, row)
            assert (w, h) == reference.get_tile_dimensions(level, (col, row))


def test_dzi_xml_is_valid_and_complete():
    xml = DeepZoomGrid((2220, 2967), tile_size=254, overlap=1).dzi("png")
    root = ET.fromstring(xml)
    assert root.tag == f"{NS}Image"
    assert root.attrib == {"TileSize": "254", "Overlap": "1", "Format": "png"}
    size = root.find(f"{NS}Size")
    assert size is not None
    assert size.attrib == {"Width": "2220", "Height": "2967"}


def test_tile_geometry_is_in_level0_pixels():
    grid = DeepZoomGrid((2048, 1536))
    top = grid.level_count - 1
    assert grid.tile_geometry(top, 1, 2).level0_location == (256, 512)
    geometry = grid.tile_geometry(top - 2, 1, 1)
    assert geometry.downsample == 4
    assert geometry.level0_location == (1024, 1024)
    assert geometry.dz_size == (256, 128)


@pytest.mark.parametrize(
    ("level", "col", "row", "field"),
    [
        (-1, 0, 0, "level"),
        (12, 0, 0, "level"),
        (11, 8, 0, "col"),
        (11, 0, 6, "row"),
        (0, 1, 0, "col"),
    ],
)
def test_out_of_range_tiles_name_the_field(level, col, row, field):
    grid = DeepZoomGrid((2048, 1536))
    with pytest.raises(BadInput) as info:
        grid.check_tile(level, col, row)
    assert info.value.field == field
    assert str(min(level, col, row)) in str(info.value) or str(max(level, col, row)) in str(
        info.value
    )


@pytest.mark.parametrize(
    ("dims", "tile_size", "overlap"), [((0, 5), 256, 0), ((5, 5), 0, 0), ((5, 5), 8, 8)]
)
def test_bad_grid_arguments(dims, tile_size, overlap):
    with pytest.raises(BadInput):
        DeepZoomGrid(dims, tile_size=tile_size, overlap=overlap)
