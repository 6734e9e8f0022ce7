"""``Store.subscribe`` over the server's events websocket (a tornado client in its own thread)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any

from tornado import httpclient, websocket

from exact_lab.entities import Change
from exact_lab.errors import ExactLabError
from exact_lab.store.abstract import Subscription
from exact_lab.store.rest._wire import decode, error_for

__all__ = ["WebSocketSubscription"]

log = logging.getLogger(__name__)
CONNECT_TIMEOUT = 30.0


class WebSocketSubscription(Subscription):
    """Receives :class:`Change` messages and calls ``callback`` in a background thread."""

    def __init__(self, url: str, token: str, callback: Callable[[Change], None]) -> None:
        """Connect to ``url`` (``ws(s)://.../api/events``); raise the server's error if refused."""
        self._callback = callback
        self._loop = asyncio.new_event_loop()
        self._conn: websocket.WebSocketClientConnection | None = None
        self._closed = False
        self._ready = threading.Event()
        self._error: BaseException | None = None
        request = httpclient.HTTPRequest(
            url, headers={"Authorization": f"Bearer {token}"}, connect_timeout=CONNECT_TIMEOUT
        )
        self._thread = threading.Thread(
            target=self._run, args=(request,), name="exact-lab-events", daemon=True
        )
        self._thread.start()
        self._ready.wait(CONNECT_TIMEOUT + 5)
        if self._error is not None:
            self._thread.join(5)
            raise self._error
        if self._conn is None:
            self.close()
            raise ExactLabError(f"the events websocket {url} did not open")

    def _run(self, request: httpclient.HTTPRequest) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._listen(request))
        finally:
            self._loop.close()

    async def _listen(self, request: httpclient.HTTPRequest) -> None:
        try:
            self._conn = await websocket.websocket_connect(request)
        except httpclient.HTTPClientError as err:
            body = err.response.body if err.response is not None else b""
            self._error = error_for(err.code, body or b"")
        except OSError as err:
            self._error = ExactLabError(f"cannot open the events websocket: {err}")
        finally:
            self._ready.set()
        if self._conn is None:
            return
        while not self._closed:
            message = await self._conn.read_message()
            if message is None:  # the server went away
                break
            self._deliver(message)

    def _deliver(self, message: str | bytes) -> None:
        try:
            data: Any = json.loads(message)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return
        if not isinstance(data, dict):
            return
        try:
            self._callback(decode(Change, data))
        except Exception:
            log.exception("a change-feed callback failed")

    def close(self) -> None:
        """Close the websocket and stop the thread."""
        if self._closed:
            return
        self._closed = True
        conn = self._conn
        if conn is not None and self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop already stopped
                self._loop.call_soon_threadsafe(conn.close)
        if threading.current_thread() is not self._thread:
            self._thread.join(10)
