"""ipyleaflet adapter: a slide as a pixel-space tile layer, its annotations and a draw control.

For people who compose maps with ``ipyleaflet.Map`` and their own layers. The map's CRS
(:func:`pixel_crs`) is Leaflet's flat ``Simple`` CRS with one map unit per level-0 pixel: map
zoom 0 shows the slide at full resolution, zoom ``-k`` at ``1/2**k``, and the DeepZoom level of
a map zoom is ``zoom + top level`` (the tile layer's ``zoom_offset``). Leaflet's y axis points
up, so the pixel at column ``x``, row ``y`` is ``LatLng(-y, x)`` and the GeoJSON position
``[x, -y]`` (:func:`to_latlng`, :func:`from_latlng`). Tiles come over HTTP from the exact_lab
server extension at EXACT's DeepZoom paths, with the page's Jupyter login (the extension acts
as the server's owner, or the hub user).

This path is for composition, not for many annotations: an ipyleaflet ``GeoJSON`` layer sends
every annotation as JSON and draws one SVG node each (see ``docs/viewer.md`` for figures).
:class:`~exact_lab.widgets.SlideViewer` is the fast path.

Examples
--------
>>> pixel_crs()
{'name': 'Simple', 'custom': False}
>>> deepzoom_levels(2220, 2967)
12
>>> to_latlng(100, 60), from_latlng((-60, 100))
((-60.0, 100.0), (100.0, 60.0))
>>> vector_from_geometry({"type": "Polygon", "coordinates": [[[10, -20], [50, -20], [50, -80],
...     [10, -80], [10, -20]]]}, vector_type=1)
{'x1': 10.0, 'y1': 20.0, 'x2': 50.0, 'y2': 80.0}
>>> vector_from_geometry({"type": "Point", "coordinates": [100, -60]}, vector_type=2,
...     size=(40, 40))
{'x1': 80.0, 'y1': 40.0, 'x2': 120.0, 'y2': 80.0}
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import ipyleaflet
import pandas as pd

from exact_lab.entities import Image
from exact_lab.errors import BadInput
from exact_lab.store.abstract import Ref, Store, ref

__all__ = [
    "AnnotationLayer",
    "SlideDrawControl",
    "SlideLayer",
    "deepzoom_levels",
    "feature_collection",
    "from_latlng",
    "pixel_crs",
    "slide_map",
    "tile_url",
    "to_latlng",
    "vector_from_geometry",
]
log = logging.getLogger(__name__)

#: Zoom steps beyond level-0 resolution that the map allows (magnified pixels).
OVERZOOM = 2


def deepzoom_levels(width: int, height: int) -> int:
    """Return the highest DeepZoom level of a ``width`` × ``height`` image (level 0 is 1×1 px)."""
    return max(0, math.ceil(math.log2(max(int(width), int(height), 1))))


def pixel_crs() -> dict[str, Any]:
    """Return the map CRS of slides: Leaflet's ``Simple``, one map unit per level-0 pixel.

    With it, map zoom 0 is full resolution and every zoom step halves; the slide layer maps
    zoom ``z`` to DeepZoom level ``z + top`` (``zoom_offset``). One helper for every slide map,
    so that annotations, tiles and the user's own layers agree.
    """
    return {"name": "Simple", "custom": False}


def to_latlng(x: float, y: float) -> tuple[float, float]:
    """Return the map ``(lat, lng)`` of level-0 pixel ``(x, y)`` in :func:`pixel_crs`."""
    return (-float(y), float(x))


def from_latlng(latlng: Sequence[float]) -> tuple[float, float]:
    """Return the level-0 pixel ``(x, y)`` of a map ``(lat, lng)`` in :func:`pixel_crs`."""
    return (float(latlng[1]), -float(latlng[0]))


def _base_url(base_url: str | None) -> str:
    url = base_url or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    return url if url.endswith("/") else url + "/"


def tile_url(image: Ref, *, frame: int = 1, base_url: str | None = None, fmt: str = "jpeg") -> str:
    """Leaflet's URL template of an image's DeepZoom tiles on the server extension.

    ``base_url`` is the Jupyter server's (default ``$JUPYTERHUB_SERVICE_PREFIX`` under
    JupyterHub, else ``/``). ``pad=1`` asks for edge tiles grown to the full tile size: Leaflet
    draws every tile at ``tileSize``, and DeepZoom's last column and row are narrower, so
    unpadded they would be stretched (the slide's edge drawn past its annotations').

    >>> tile_url(7, base_url="/user/ann/")
    '/user/ann/exact/api/v1/images/images/7/1/1/tile_files/{z}/{x}_{y}.jpeg?pad=1'
    """
    ident = ref(image)
    return (
        f"{_base_url(base_url)}exact/api/v1/images/images/{ident}/1/{int(frame)}"
        f"/tile_files/{{z}}/{{x}}_{{y}}.{fmt}?pad=1"
    )


class SlideLayer:
    """A slide as an ipyleaflet tile layer: ``ipyleaflet.Map.add(SlideLayer(image))`` works.

    The map must use :func:`pixel_crs` of the same image (:func:`slide_map` builds one).
    """

    def __init__(
        self,
        image: Image,
        *,
        frame: int = 1,
        base_url: str | None = None,
        tile_size: int = 256,
    ) -> None:
        """Describe the tiles of ``image`` (the server must serve ``tile_size``, overlap 0)."""
        self.image = image
        self.frame = frame
        self.base_url = base_url
        self.tile_size = tile_size
        self._layer: ipyleaflet.TileLayer | None = None

    @property
    def crs(self) -> dict[str, Any]:
        """The pixel-space CRS a map showing this layer needs."""
        return pixel_crs()

    def as_leaflet_layer(self) -> ipyleaflet.TileLayer:
        """Return the ``ipyleaflet.TileLayer`` (the same one on every call)."""
        if self._layer is None:
            top = deepzoom_levels(self.image.width, self.image.height)
            self._layer = ipyleaflet.TileLayer(
                url=tile_url(self.image, frame=self.frame, base_url=self.base_url),
                name=self.image.name,
                attribution="exact_lab",
                min_zoom=-top,
                max_zoom=OVERZOOM,
                min_native_zoom=-top,
                max_native_zoom=0,
                zoom_offset=top,
                tile_size=self.tile_size,
                no_wrap=True,
                bounds=[
                    list(to_latlng(0, self.image.height)),
                    list(to_latlng(self.image.width, 0)),
                ],
            )
        return self._layer


# ---------------------------------------------------------------------- annotations as GeoJSON
def _coords(vector: dict[str, Any]) -> list[list[float]]:
    """GeoJSON positions ``[x, -y]`` of a vector's points."""
    out = []
    i = 1
    while f"x{i}" in vector and f"y{i}" in vector:
        out.append([float(vector[f"x{i}"]), -float(vector[f"y{i}"])])
        i += 1
    return out


def _geometry(vector: dict[str, Any], vector_type: int) -> dict[str, Any] | None:
    pts = _coords(vector or {})
    if vector_type == 7 or not pts:  # noqa: PLR2004 - global labels have no shape
        return None
    if vector_type in {1, 6} and len(pts) >= 2:  # noqa: PLR2004 - bbox, fixed box
        (x0, y0), (x1, y1) = pts[0], pts[1]
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        return {"type": "Polygon", "coordinates": [ring]}
    if vector_type == 2:  # noqa: PLR2004 - a point is stored as its marker box
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        return {"type": "Point", "coordinates": [sum(xs) / len(xs), sum(ys) / len(ys)]}
    if vector_type in {3, 4}:  # line, multi-line
        return {"type": "LineString", "coordinates": pts}
    return {"type": "Polygon", "coordinates": [[*pts, pts[0]]]}


def feature_collection(frame: pd.DataFrame, types: Sequence[Any]) -> dict[str, Any]:
    """Annotations (the store's DataFrame) as a GeoJSON FeatureCollection in pixel space."""
    by_id = {t.id: t for t in types}
    features = []
    records = frame[["id", "annotation_type", "vector"]].to_dict("records") if len(frame) else []
    for row in records:
        ident, type_id = int(row["id"]), int(row["annotation_type"])
        kind = by_id.get(type_id)
        vt = kind.vector_type if kind is not None else 5
        geometry = _geometry(row["vector"], vt)
        if geometry is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": ident,
                "geometry": geometry,
                "properties": {
                    "id": ident,
                    "type": type_id,
                    "type_name": kind.name if kind is not None else "",
                    "color": kind.color_code if kind is not None else "#ffff00",
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _style(feature: dict[str, Any]) -> dict[str, Any]:
    color = feature["properties"]["color"]
    return {"color": color, "fillColor": color, "weight": 2, "fillOpacity": 0.1}


class AnnotationLayer:
    """An image's annotations from the store as an ipyleaflet ``GeoJSON`` layer."""

    def __init__(self, image: Image, store: Store) -> None:
        """Show the annotations of ``image`` that the store's user may see."""
        self.image = image
        self.store = store
        self.layer = ipyleaflet.GeoJSON(
            data={"type": "FeatureCollection", "features": []},
            style_callback=_style,
            point_style={"radius": 5, "weight": 2, "fillOpacity": 0.6},
            name="annotations",
        )
        self.refresh()

    def refresh(self) -> None:
        """Reload the annotations from the store."""
        types = self.store.annotation_types(image_set=self.image.image_set)
        frame = self.store.annotations(image=self.image.id)
        self.layer.data = feature_collection(frame, types)

    def as_leaflet_layer(self) -> ipyleaflet.GeoJSON:
        """Return the ``GeoJSON`` layer."""
        return self.layer


# ---------------------------------------------------------------------- drawing into the store
def vector_from_geometry(
    geometry: dict[str, Any], *, vector_type: int, size: tuple[float, float] = (50, 50)
) -> dict[str, float]:
    """Return an EXACT vector (level-0 pixels) of a GeoJSON geometry drawn in :func:`pixel_crs`."""
    kind = geometry.get("type")
    if kind == "Point":
        x, y = from_latlng(geometry["coordinates"][1::-1])
        w, h = size
        return {"x1": x - w / 2, "y1": y - h / 2, "x2": x + w / 2, "y2": y + h / 2}
    if kind == "Polygon":
        ring = [list(from_latlng(p[1::-1])) for p in geometry["coordinates"][0]]
        if len(ring) > 1 and ring[0] == ring[-1]:
            ring = ring[:-1]
    elif kind == "LineString":
        ring = [list(from_latlng(p[1::-1])) for p in geometry["coordinates"]]
    else:
        raise BadInput(f"cannot store a drawn {kind!r}")
    if vector_type in {1, 6}:  # boxes: the drawn shape's bounding box
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        return {"x1": min(xs), "y1": min(ys), "x2": max(xs), "y2": max(ys)}
    if vector_type == 3:  # noqa: PLR2004 - a line keeps its two ends
        ring = [ring[0], ring[-1]]
    vector: dict[str, float] = {}
    for i, (x, y) in enumerate(ring, start=1):
        vector[f"x{i}"], vector[f"y{i}"] = x, y
    return vector


class SlideDrawControl:
    """An ipyleaflet ``DrawControl`` whose shapes become store annotations of ``image``.

    Rectangles, polygons, lines and circle markers are offered; each drawing is saved at once as
    an annotation of ``annotation_type`` (settable) and the drawn shape is cleared from the
    control (the annotation layer, when given, shows the stored one).
    """

    def __init__(
        self,
        image: Image,
        store: Store,
        annotation_type: Ref,
        *,
        annotations: AnnotationLayer | None = None,
        on_saved: Callable[[Any], None] | None = None,
    ) -> None:
        """Save drawings on ``image`` through ``store`` as ``annotation_type``."""
        self.image = image
        self.store = store
        self.annotation_type = ref(annotation_type)
        self.annotations = annotations
        self.on_saved = on_saved
        self.saved: list[Any] = []
        shape = {"shapeOptions": {"color": "#ffcc00", "weight": 2, "fillOpacity": 0.1}}
        self.control = ipyleaflet.DrawControl(
            rectangle=shape,
            polygon=shape,
            polyline={"shapeOptions": {"color": "#ffcc00", "weight": 2}},
            circlemarker={"color": "#ffcc00", "radius": 6},
            marker={},
            circle={},
            edit=False,
            remove=False,
        )
        self.control.on_draw(self._drawn)

    def save(self, geometry: dict[str, Any]) -> Any:
        """Store one drawn geometry as an annotation; return the new annotation."""
        kind = self.store.annotation_type(self.annotation_type)
        size = (float(kind.default_width or 50), float(kind.default_height or 50))
        vector = vector_from_geometry(geometry, vector_type=kind.vector_type, size=size)
        made = self.store.add_annotation(self.image, kind, vector)
        self.saved.append(made)
        if self.annotations is not None:
            self.annotations.refresh()
        if self.on_saved is not None:
            self.on_saved(made)
        return made

    def _drawn(self, _target: Any, action: str, geo_json: dict[str, Any]) -> None:
        if action != "created":
            return
        try:
            self.save(geo_json["geometry"])
        except Exception:
            log.exception("a drawn shape was not saved")
        finally:
            self.control.clear()

    def as_leaflet_layer(self) -> ipyleaflet.DrawControl:
        """Return the control (``Map.add`` accepts controls too)."""
        return self.control


def slide_map(
    image: Ref | Image,
    *,
    store: Store | None = None,
    annotation_type: Ref | None = None,
    base_url: str | None = None,
    height: str = "560px",
) -> ipyleaflet.Map:
    """Return an ``ipyleaflet.Map`` in the image's pixel space: tiles, annotations, drawing.

    Drawings become annotations of ``annotation_type`` (default: the first type of the image
    set's products that can be drawn). The layers are reachable as ``map.slide_layer``,
    ``map.annotation_layer`` and ``map.draw_control``.
    """
    if store is None:
        from exact_lab.store import connect  # noqa: PLC0415 - only without a store

        store = connect()
    shown = store.image(ref(image))
    slide = SlideLayer(shown, base_url=base_url)
    top = deepzoom_levels(shown.width, shown.height)
    fit = -math.ceil(math.log2(max(shown.width / 800, shown.height / 500, 1)))
    leaflet_map = ipyleaflet.Map(
        crs=slide.crs,
        center=to_latlng(shown.width / 2, shown.height / 2),
        zoom=fit,
        min_zoom=-top,
        max_zoom=OVERZOOM,
        layers=(),
        scroll_wheel_zoom=True,
        attribution_control=False,
        layout={"height": height},
    )
    leaflet_map.add(slide)
    annotations = AnnotationLayer(shown, store)
    leaflet_map.add(annotations)
    types = [
        t
        for t in store.annotation_types(image_set=shown.image_set)
        if t.active and t.vector_type != 7  # noqa: PLR2004 - global labels cannot be drawn
    ]
    draw = None
    chosen = annotation_type if annotation_type is not None else (types[0] if types else None)
    if chosen is not None:
        draw = SlideDrawControl(shown, store, chosen, annotations=annotations)
        leaflet_map.add(draw)
    leaflet_map.slide_layer = slide
    leaflet_map.annotation_layer = annotations
    leaflet_map.draw_control = draw
    return leaflet_map
