"""The ipyleaflet adapter without a browser: CRS, tile URLs, GeoJSON and drawing into a store."""

from __future__ import annotations

import ipyleaflet
import pytest

from exact_lab.errors import BadInput
from exact_lab.store import connect
from exact_lab.widgets.leaflet import (
    AnnotationLayer,
    SlideDrawControl,
    SlideLayer,
    deepzoom_levels,
    feature_collection,
    from_latlng,
    pixel_crs,
    slide_map,
    tile_url,
    to_latlng,
    vector_from_geometry,
)


@pytest.fixture
def world():  # type: ignore[no-untyped-def]
    store = connect("sqlite://", user="alice")
    team = store.create_team("Lab")
    product = store.create_product(team, "Mitosis")
    types = {
        "box": store.create_annotation_type(product, "box", vector_type=1, sort_order=1),
        "point": store.create_annotation_type(
            product, "point", vector_type=2, sort_order=2, default_width=40, default_height=20
        ),
        "area": store.create_annotation_type(product, "area", vector_type=5, sort_order=3),
        "line": store.create_annotation_type(product, "line", vector_type=3, sort_order=4),
    }
    image_set = store.create_image_set(team, "Cases", products=[product])
    image = store.add_image(image_set, "A1", width=2220, height=2967, mpp=0.5)
    yield store, image, types
    store.close()


@pytest.mark.parametrize(
    ("width", "height", "levels"), [(1, 1, 0), (2, 2, 1), (256, 100, 8), (257, 10, 9)]
)
def test_deepzoom_levels(width: int, height: int, levels: int) -> None:
    assert deepzoom_levels(width, height) == levels


def test_pixel_space_is_level0_pixels_with_y_down() -> None:
    assert pixel_crs() == {"name": "Simple", "custom": False}
    for x, y in [(0, 0), (2220, 2967), (10.5, 3.25)]:
        lat, lng = to_latlng(x, y)
        assert (lat, lng) == (-y, x)  # Leaflet's y points up, image rows down
        assert from_latlng((lat, lng)) == (x, y)


def test_tile_url_uses_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert tile_url(3) == "/exact/api/v1/images/images/3/1/1/tile_files/{z}/{x}_{y}.jpeg?pad=1"
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ann/")
    assert tile_url(3, frame=2).startswith("/user/ann/exact/api/v1/images/images/3/1/2/")


def test_map_add_takes_a_slide_layer(world) -> None:  # type: ignore[no-untyped-def]
    _store, image, _types = world
    slide = SlideLayer(image)
    leaflet_map = ipyleaflet.Map(crs=slide.crs, layers=())
    leaflet_map.add(slide)
    (layer,) = leaflet_map.layers
    assert isinstance(layer, ipyleaflet.TileLayer)
    assert layer is slide.as_leaflet_layer()
    assert (layer.zoom_offset, layer.max_native_zoom, layer.min_native_zoom) == (12, 0, -12)
    assert layer.bounds == [[-2967, 0], [0, 2220]]
    assert layer.url.endswith(f"images/{image.id}/1/1/tile_files/{{z}}/{{x}}_{{y}}.jpeg?pad=1")


def test_geometries_round_trip_through_the_store(world) -> None:  # type: ignore[no-untyped-def]
    store, image, types = world
    store.add_annotation(image, types["box"], {"x1": 10, "y1": 20, "x2": 110, "y2": 220})
    store.add_annotation(image, types["point"], {"x1": 80, "y1": 90, "x2": 120, "y2": 110})
    store.add_annotation(
        image, types["area"], {"x1": 0, "y1": 0, "x2": 30, "y2": 0, "x3": 30, "y3": 40}
    )
    collection = feature_collection(
        store.annotations(image=image.id), store.annotation_types(image_set=image.image_set)
    )
    shapes = {f["properties"]["type_name"]: f["geometry"] for f in collection["features"]}
    assert shapes["box"]["coordinates"][0] == [
        [10, -20],
        [110, -20],
        [110, -220],
        [10, -220],
        [10, -20],
    ]
    assert shapes["point"] == {"type": "Point", "coordinates": [100.0, -100.0]}
    assert shapes["area"]["coordinates"][0][-1] == [0, 0]  # closed ring
    # drawing the same shapes back gives the stored vectors
    assert vector_from_geometry(shapes["box"], vector_type=1) == {
        "x1": 10,
        "y1": 20,
        "x2": 110,
        "y2": 220,
    }
    assert vector_from_geometry(shapes["point"], vector_type=2, size=(40, 20)) == {
        "x1": 80,
        "y1": 90,
        "x2": 120,
        "y2": 110,
    }
    assert vector_from_geometry(shapes["area"], vector_type=5) == {
        "x1": 0,
        "y1": 0,
        "x2": 30,
        "y2": 0,
        "x3": 30,
        "y3": 40,
    }
    with pytest.raises(BadInput, match="MultiPoint"):
        vector_from_geometry({"type": "MultiPoint", "coordinates": []}, vector_type=2)


def test_draw_control_saves_to_the_store_and_refreshes_the_layer(world) -> None:  # type: ignore[no-untyped-def]
    store, image, types = world
    layer = AnnotationLayer(image, store)
    assert layer.as_leaflet_layer().data["features"] == []
    draw = SlideDrawControl(image, store, types["line"], annotations=layer)
    line = {"type": "LineString", "coordinates": [[5, -6], [50, -60], [500, -600]]}
    # the same path ipyleaflet takes when the browser reports a drawing
    draw.control._handle_leaflet_event(
        None, {"event": "draw:created", "geo_json": {"geometry": line}}, []
    )
    (made,) = draw.saved
    assert store.annotation(made.id).vector == {"x1": 5, "y1": 6, "x2": 500, "y2": 600}
    assert [f["id"] for f in layer.layer.data["features"]] == [made.id]
    # another kind of drawing with another type
    draw.annotation_type = types["point"].id
    point = draw.save({"type": "Point", "coordinates": [100, -100]})
    assert store.annotation(point.id).vector == {"x1": 80, "y1": 90, "x2": 120, "y2": 110}


def test_slide_map_composes_tiles_annotations_and_drawing(world) -> None:  # type: ignore[no-untyped-def]
    store, image, types = world
    leaflet_map = slide_map(image.id, store=store, base_url="/base/")
    kinds = [type(layer).__name__ for layer in leaflet_map.layers]
    assert kinds == ["TileLayer", "GeoJSON"]
    assert leaflet_map.layers[0].url.startswith("/base/exact/")
    assert leaflet_map.crs == pixel_crs()
    assert leaflet_map.center == [-image.height / 2, image.width / 2]
    assert leaflet_map.min_zoom == -12
    assert any(isinstance(c, ipyleaflet.DrawControl) for c in leaflet_map.controls)
    assert leaflet_map.draw_control.annotation_type == types["box"].id
