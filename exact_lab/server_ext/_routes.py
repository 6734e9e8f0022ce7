"""The URL table of ``{base_url}exact/api/v1/`` (EXACT's layout)."""

from __future__ import annotations

from tornado import web

from exact_lab.server_ext._tiles import tile_routes

__all__ = ["api_routes"]


def api_routes(prefix: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """Every route below ``prefix`` (``/exact/api/v1``)."""
    return [*tile_routes(f"{prefix}/images/images")]
