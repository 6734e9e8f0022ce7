"""The OpenAPI 3 document of the implemented routes, built from the resource table."""

from __future__ import annotations

from typing import Any

from exact_lab._version import __version__
from exact_lab.server_ext._base import ExactHandler
from exact_lab.server_ext._resources import RESOURCES, Resource

__all__ = ["OpenApiHandler", "openapi_document"]

_BINARY = {"type": "string", "format": "binary"}
_JSON = {"application/json": {"schema": {"type": "object"}}}
_ERROR = {
    "description": "error",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"detail": {"type": "string"}}}
        }
    },
}
_KINDS = {"int": "integer", "float": "number", "bool": "boolean", "str": "string", "time": "string"}


def _query(name: str, kind: str = "string", text: str = "") -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": {"type": kind},
        "description": text,
    }


def _path(name: str, text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "schema": {"type": "integer"},
        "description": text,
    }


def _filters(resource: Resource) -> list[dict[str, Any]]:
    params = []
    for field, spec in sorted(resource.filters.items()):
        if field.startswith("_"):
            continue
        kind = _KINDS.get(spec.kind, "string")
        params.append(_query(field, kind, "exact match"))
        params.extend(
            _query(f"{field}__{lookup}", "string", f"django-filter `{lookup}`")
            for lookup in sorted(spec.lookups - {"exact"})
        )
    aliases = resource.aliases.items()
    params += [_query(alias, "number", f"alias of {target}") for alias, target in aliases]
    return params


def _responses(ok: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": "success"}
    if content is not None:
        answer["content"] = content
    return {ok: answer, "400": _ERROR, "403": _ERROR, "404": _ERROR}


def openapi_document(server_url: str) -> dict[str, Any]:
    """Return the OpenAPI 3.0 document; ``server_url`` is the absolute ``.../exact`` URL."""
    paging = [
        _query("limit", "integer", "page size (default 50)"),
        _query("offset", "integer", "first row"),
        _query("expand", "string", "comma-separated fields to expand (dots nest, *)"),
        _query("fields", "string", "comma-separated fields to keep"),
        _query("omit", "string", "comma-separated fields to drop"),
    ]
    paths: dict[str, Any] = {}
    for resource in RESOURCES.values():
        tag = resource.path.split("/")[-1]
        paths[f"/api/v1/{resource.path}/"] = {
            "get": {
                "tags": [tag],
                "summary": f"list {tag}",
                "parameters": paging + _filters(resource),
                "responses": _responses("200", _JSON),
            },
            "post": {
                "tags": [tag],
                "summary": f"create {tag}",
                "requestBody": {"content": _JSON},
                "responses": _responses("201", _JSON),
            },
        }
        paths[f"/api/v1/{resource.path}/{{id}}/"] = {
            "parameters": [_path("id", "object id")],
            "get": {"tags": [tag], "summary": "retrieve", "responses": _responses("200", _JSON)},
            "put": {
                "tags": [tag],
                "summary": "update",
                "requestBody": {"content": _JSON},
                "responses": _responses("200", _JSON),
            },
            "patch": {
                "tags": [tag],
                "summary": "partial update",
                "requestBody": {"content": _JSON},
                "responses": _responses("200", _JSON),
            },
            "delete": {"tags": [tag], "summary": "delete", "responses": _responses("204")},
        }
    ann = "/api/v1/annotations/annotations"
    paths[f"{ann}/count/"] = {
        "get": {
            "tags": ["annotations"],
            "summary": "count matching rows",
            "responses": _responses("200", _JSON),
        }
    }
    paths[f"{ann}/multiple_delete/"] = {
        "delete": {
            "tags": ["annotations"],
            "summary": "soft-delete many",
            "parameters": [_query("id__in", "string", "comma-separated ids")],
            "responses": _responses("200", _JSON),
        }
    }
    media = "/api/v1/annotations/annotation_media_files"
    paths[f"{media}/"]["post"]["requestBody"]["content"] = {
        **_JSON,
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["annotation", "file"],
                "properties": {
                    "annotation": {"type": "integer"},
                    "name": {"type": "string"},
                    "media_file_type": {"type": "integer", "enum": [1, 2, 3, 4]},
                    "file": _BINARY,
                },
            }
        },
    }
    paths[f"{media}/{{id}}/download/"] = {
        "get": {
            "tags": ["annotation_media_files"],
            "summary": "the uploaded file, as an attachment",
            "parameters": [_path("id", "media file id")],
            "responses": _responses("200", {"application/octet-stream": {"schema": _BINARY}}),
        }
    }
    image = "/api/v1/images/images/{id}"
    png = {"image/png": {"schema": _BINARY}}
    tile_params = [
        _path("id", "image id"),
        _path("z", "1-based z level"),
        _path("frame", "1-based frame"),
    ]
    paths[f"{image}/{{z}}/{{frame}}/tile/"] = {
        "get": {
            "tags": ["tiles"],
            "summary": "DeepZoom descriptor (DZI XML)",
            "parameters": tile_params,
            "responses": _responses("200", {"application/xml": {"schema": {"type": "string"}}}),
        }
    }
    paths[f"{image}/{{z}}/{{frame}}/tile_files/{{level}}/{{col}}_{{row}}.{{format}}"] = {
        "get": {
            "tags": ["tiles"],
            "summary": "one DeepZoom tile (jpeg, png or webp); ETag and 304",
            "parameters": [
                *tile_params,
                _path("level", "DeepZoom level"),
                _path("col", "column"),
                _path("row", "row"),
                {
                    "name": "format",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "enum": ["jpeg", "png", "webp"]},
                },
            ],
            "responses": _responses("200", {"image/jpeg": {"schema": _BINARY}}),
        }
    }
    for action, summary, content in (
        ("thumbnail", "PNG thumbnail (≤128 px)", png),
        ("slide_information", "levels and DeepZoom tile counts", _JSON),
        ("get_patch", "PNG region ≤2048² (x, y, level, width, height)", png),
    ):
        paths[f"{image}/{action}/"] = {
            "get": {
                "tags": ["tiles"],
                "summary": summary,
                "parameters": [_path("id", "image id")],
                "responses": _responses("200", content),
            }
        }
    arrow = {"application/vnd.apache.arrow.stream": {"schema": _BINARY}}
    paths["/api/native/images/{id}/annotations"] = {
        "get": {
            "tags": ["native"],
            "summary": "annotations of an image as an Arrow IPC stream",
            "parameters": [
                _path("id", "image id"),
                _query("bbox", "string", "x0,y0,x1,y1"),
                _query("types", "string", "type ids"),
                _query("version", "integer"),
                _query("deleted", "string", "true, false or all"),
                _query("vector", "boolean"),
                _query("columns", "string", "with bbox: column names, e.g. id,vector"),
            ],
            "responses": _responses("200", arrow),
        }
    }
    paths["/api/native/images/{id}/density"] = {
        "get": {
            "tags": ["native"],
            "summary": "annotation counts per grid cell and type (Arrow, or JSON columns)",
            "parameters": [
                _path("id", "image id"),
                {**_query("cell", "number", "cell size in level-0 px"), "required": True},
                _query("bbox", "string", "x0,y0,x1,y1"),
                _query("frame", "integer"),
                _query("types", "string", "type ids"),
                _query("deleted", "string", "true, false or all"),
                _query("format", "string", "arrow or json"),
            ],
            "responses": _responses("200", {**arrow, **_JSON}),
        }
    }
    paths["/api/native/annotations"] = {
        "post": {
            "tags": ["native"],
            "summary": "add annotations from an Arrow IPC stream",
            "requestBody": {"content": arrow},
            "responses": _responses("201", _JSON),
        }
    }
    paths["/api/native/versions/{id}/diff"] = {
        "get": {
            "tags": ["native"],
            "summary": "version diff as Arrow (id, change)",
            "parameters": [_path("id", "version id"), _query("to", "integer", "other version")],
            "responses": _responses("200", arrow),
        }
    }
    paths["/api/events"] = {
        "get": {
            "tags": ["events"],
            "summary": "websocket of committed changes (JSON messages)",
            "parameters": [_query("image_set", "integer")],
            "responses": {
                "101": {"description": "switching protocols"},
                "403": _ERROR,
                "404": _ERROR,
            },
        }
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "exact_lab API",
            "version": __version__,
            "description": "EXACT-compatible REST API (/api/v1), native Arrow endpoints, "
            "tiles and live events.",
        },
        "servers": [{"url": server_url}],
        "components": {
            "securitySchemes": {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "username and password (set with `exact-lab user "
                    "set-password` or Store.set_password); a personal access token is "
                    "accepted as the password too",
                },
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "pat_<prefix>.<secret>",
                },
            }
        },
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "paths": paths,
    }


class OpenApiHandler(ExactHandler):
    """``GET {base}exact/api/v1/openapi``."""

    def get(self) -> None:
        """Answer with the OpenAPI document (JSON)."""
        request = self.request
        base = f"{request.protocol}://{request.host}{self.base_url}exact"
        self.write_json(openapi_document(base))
