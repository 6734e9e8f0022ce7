"""Generic handlers for the ``/api/v1`` resources: list/create and retrieve/update/delete.

Responses follow DRF: lists are ``{"count", "next", "previous", "results"}`` pages with absolute
``next`` URLs; ``expand``/``fields``/``omit`` shape lists, details and write responses alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from exact_lab.errors import BadInput, NotFound
from exact_lab.server_ext._annotations import Annotations
from exact_lab.server_ext._base import ExactHandler
from exact_lab.server_ext._context import Ctx
from exact_lab.server_ext._query import FlexFields, apply_filters, page, resolve
from exact_lab.server_ext._resources import RESOURCES, Resource
from exact_lab.server_ext._tiles import parse_id

__all__ = ["CountHandler", "DetailHandler", "ListHandler", "MultipleDeleteHandler", "shape"]

Row = dict[str, Any]


def shape(
    ctx: Ctx, resource: Resource, row: Row, tree: dict[str, Any], flex: FlexFields | None
) -> Row:
    """Apply ``fields``/``omit`` (top level) and ``expand`` (nested) to one row."""
    out: Row = {}
    everything = "*" in tree or "~all" in tree
    for key, lazy in row.items():
        if key.startswith("_") or (flex is not None and not flex.keep(key)):
            continue
        value = resolve(lazy)
        target = resource.expandable.get(key)
        sub = tree.get(key, {} if everything else None)
        if target is not None and sub is not None and value is not None:
            value = _expand(ctx, RESOURCES[target], value, sub)
        out[key] = value
    return out


def _expand(ctx: Ctx, resource: Resource, value: Any, tree: dict[str, Any]) -> Any:
    if isinstance(value, list):
        return [_expand(ctx, resource, v, tree) for v in value]
    try:
        return shape(ctx, resource, resource.row(ctx, int(value)), tree, None)
    except NotFound:
        return value


class _ResourceHandler(ExactHandler):
    resource: Resource

    def initialize(self, name: str, resource: Resource) -> None:
        """Bind the handler to its resource (``name`` is the extension's, from ExtensionApp)."""
        super().initialize(name)
        self.resource = resource

    def params(self) -> dict[str, str]:
        """Query parameters (last value wins); undecodable text is a 400."""
        arguments = self.request.query_arguments
        try:
            return {key: values[-1].decode("utf-8") for key, values in arguments.items()}
        except UnicodeDecodeError:
            raise BadInput("a query parameter is not UTF-8 text") from None

    def ctx(self) -> Ctx:
        """Return a fresh per-request context (call inside the executor)."""
        ctx = Ctx(self.store, self.state.frames)
        request = self.request
        ctx.api_root = f"{request.protocol}://{request.host}{self.base_url}exact/api/v1/"
        ctx.upload_dir = self.state.upload_dir
        return ctx

    def on_finish(self) -> None:
        """Any write through this server makes cached annotation frames stale."""
        if self.request.method not in {"GET", "HEAD", "OPTIONS"}:
            self.state.frames.clear()
            if self.resource.path == "users/tokens":
                self.state.forget_tokens()  # a revoked token stops working at once

    def shaped(self, ctx: Ctx, result: Any, params: Mapping[str, str]) -> Any:
        flex = FlexFields.parse(params)
        if isinstance(result, list):
            return [shape(ctx, self.resource, r, flex.expand, flex) for r in result]
        return shape(ctx, self.resource, result, flex.expand, flex)

    def filtered(self, ctx: Ctx, params: Mapping[str, str]) -> Sequence[Row]:
        aliases = self.resource.aliases
        params = {aliases.get(k, k): v for k, v in params.items()}
        rows = self.resource.rows(ctx, params)
        if getattr(rows, "prefiltered", False):
            return rows
        return apply_filters(rows, params, self.resource.filters)


class ListHandler(_ResourceHandler):
    """``GET`` a page of the collection, ``POST`` to create."""

    async def get(self) -> None:
        """Answer with one page."""
        params = self.params()
        url = self.request.full_url()

        def work() -> Row:
            ctx = self.ctx()
            rows = self.filtered(ctx, params)
            chunk, next_url, previous = page(rows, params, url)
            results = self.shaped(ctx, chunk, params)
            return {"count": len(rows), "next": next_url, "previous": previous, "results": results}

        self.write_json(await self.run(work))

    async def post(self) -> None:
        """Create (a JSON object, or for annotations a list of objects)."""
        data = self.json_body()
        params = self.params()

        def work() -> tuple[Any, int]:
            ctx = self.ctx()
            result, status = self.resource.create(ctx, data)
            return self.shaped(ctx, result, params), status

        payload, status = await self.run(work)
        self.write_json(payload, status)


class DetailHandler(_ResourceHandler):
    """``GET/PUT/PATCH/DELETE {id}/``."""

    async def get(self, ident: str) -> None:
        """Answer with one object."""
        key, params = parse_id(ident, "object"), self.params()

        def work() -> Any:
            ctx = self.ctx()
            return self.shaped(ctx, self.resource.row(ctx, key), params)

        self.write_json(await self.run(work))

    async def _update(self, ident: str, *, partial: bool) -> None:
        key, params, data = parse_id(ident, "object"), self.params(), self.json_body()

        def work() -> Any:
            ctx = self.ctx()
            row = self.resource.update(ctx, key, data, partial=partial)
            return self.shaped(ctx, row, params)

        self.write_json(await self.run(work))

    async def put(self, ident: str) -> None:
        """Replace (fields not given keep their values)."""
        await self._update(ident, partial=False)

    async def patch(self, ident: str) -> None:
        """Change the given fields."""
        await self._update(ident, partial=True)

    async def delete(self, ident: str) -> None:
        """Delete (annotations: soft delete)."""
        key = parse_id(ident, "object")
        await self.run(lambda: self.resource.delete(self.ctx(), key))
        self.set_status(204)
        self.finish()


class CountHandler(_ResourceHandler):
    """``GET annotations/annotations/count/?<filters>`` → ``{"count": n}``."""

    async def get(self) -> None:
        """Count the matching rows."""
        params = self.params()
        count = await self.run(lambda: len(self.filtered(self.ctx(), params)))
        self.write_json({"count": count})


class MultipleDeleteHandler(_ResourceHandler):
    """``DELETE annotations/annotations/multiple_delete/?id__in=1,2``."""

    async def delete(self) -> None:
        """Soft-delete the named annotations atomically."""
        params = self.params()
        resource = self.resource
        assert isinstance(resource, Annotations)
        self.write_json(await self.run(lambda: resource.multiple_delete(self.ctx(), params)))
