"""The events websocket: every committed change the user may see, as JSON messages.

``ws(s)://{base}exact/api/events[?image_set=ID]`` — each message is a
:class:`~exact_lab.entities.Change` as JSON (``kind``, ``action``, ``team``, ``image_set``,
``image``, ``ids``, ``count``, ``user``, ``position``). The store's change feed decides
visibility (team membership, blind sets); on PostgreSQL changes made by other processes arrive
too (LISTEN/NOTIFY). Subscribing to a set the user may not see fails with 404 before the upgrade.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from jupyter_server.base.websocket import WebSocketMixin
from tornado import websocket
from tornado.ioloop import IOLoop

from exact_lab.entities import Change
from exact_lab.server_ext._base import ExactHandler
from exact_lab.server_ext._context import as_id
from exact_lab.store import Subscription

__all__ = ["EventsHandler"]


class EventsHandler(WebSocketMixin, websocket.WebSocketHandler, ExactHandler):
    """``GET {base}exact/api/events``: a websocket fed by ``Store.subscribe``."""

    subscription: Subscription | None = None

    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Subscribe (as the authenticated user), then upgrade to a websocket."""
        wanted = self.get_query_argument("image_set", None)
        image_set = as_id(wanted, "image_set") if wanted else None
        loop = IOLoop.current()

        def deliver(change: Change) -> None:
            message = json.dumps(dataclasses.asdict(change))
            loop.add_callback(self._send, message)

        store = self.store
        self.subscription = await self.run(lambda: store.subscribe(deliver, image_set=image_set))
        await super().get(*args, **kwargs)

    def _send(self, message: str) -> None:
        if self.ws_connection is None or self.ws_connection.is_closing():
            return
        try:
            self.write_message(message)
        except websocket.WebSocketClosedError:
            self._unsubscribe()

    def on_message(self, message: str | bytes) -> None:
        """Clients only listen; ``ping`` text is answered with ``pong``."""
        if message == "ping":
            self.write_message("pong")

    def on_close(self) -> None:
        """Stop the subscription."""
        self._unsubscribe()

    def on_finish(self) -> None:
        """Stop the subscription when the upgrade never happened."""
        if self.ws_connection is None:
            self._unsubscribe()

    def _unsubscribe(self) -> None:
        subscription, self.subscription = self.subscription, None
        if subscription is not None:
            # Synchronously: a close still pending when the next subscription starts could
            # stop the shared PostgreSQL listener under it (the store guards the listener
            # with a per-connection lock, not a per-bus one).
            subscription.close()
