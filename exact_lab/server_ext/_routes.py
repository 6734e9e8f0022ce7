"""The URL table of ``{base_url}exact/api/v1/`` (EXACT's layout)."""

from __future__ import annotations

from typing import Any

from exact_lab.server_ext import _resources as res
from exact_lab.server_ext._annotations import Annotations
from exact_lab.server_ext._density import density_routes
from exact_lab.server_ext._events import EventsHandler
from exact_lab.server_ext._images import ImageListHandler
from exact_lab.server_ext._media import MediaDownloadHandler, MediaFiles, MediaListHandler
from exact_lab.server_ext._native import native_routes
from exact_lab.server_ext._openapi import OpenApiHandler
from exact_lab.server_ext._rest import (
    CountHandler,
    DetailHandler,
    ListHandler,
    MultipleDeleteHandler,
)
from exact_lab.server_ext._set_tags import SetTags
from exact_lab.server_ext._store_rpc import store_rpc_routes
from exact_lab.server_ext._tiles import tile_routes

__all__ = ["api_routes"]

_RESOURCES: tuple[res.Resource, ...] = (
    res.Users(), res.Teams(), res.Memberships(), res.Products(), res.AnnotationTypes(),
    res.ImageSets(), res.Images(), Annotations(), res.Verifications(), MediaFiles(),
    res.ImageActions(), res.ScreeningModes(), res.SetVersions(), res.Tokens(), SetTags(),
)  # fmt: skip
res.RESOURCES.update({r.path: r for r in _RESOURCES})


def api_routes(prefix: str) -> list[tuple[Any, ...]]:
    """Every route below ``prefix`` (``/exact/api/v1``); native and events routes sit beside it."""
    api = prefix.rsplit("/", 1)[0]
    routes: list[tuple[Any, ...]] = [
        *tile_routes(f"{prefix}/images/images"),
        *native_routes(f"{api}/native"),
        *density_routes(f"{api}/native"),
        *store_rpc_routes(f"{api}/native"),
        (rf"{api}/events/?", EventsHandler),
        (rf"{prefix}/openapi/?", OpenApiHandler),
    ]
    annotations = res.RESOURCES["annotations/annotations"]
    routes += [
        (rf"{prefix}/annotations/annotations/count/?", CountHandler, {"resource": annotations}),
        (
            rf"{prefix}/annotations/annotations/multiple_delete/?",
            MultipleDeleteHandler,
            {"resource": annotations},
        ),
    ]
    media = res.RESOURCES["annotations/annotation_media_files"]
    routes.append(
        (
            rf"{prefix}/{media.path}/(\d{{1,18}})/download/?",
            MediaDownloadHandler,
            {"resource": media},
        )
    )
    special = {"images/images": ImageListHandler, media.path: MediaListHandler}
    for resource in _RESOURCES:
        base = f"{prefix}/{resource.path}"
        listing = special.get(resource.path, ListHandler)
        routes += [
            (rf"{base}/?", listing, {"resource": resource}),
            (rf"{base}/(\d{{1,18}})/?", DetailHandler, {"resource": resource}),
        ]
    return routes
