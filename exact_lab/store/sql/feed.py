"""The change feed: committed changes reach subscribers in a background thread.

On SQLite, writers publish to an in-process bus after commit (other processes are not seen). On
PostgreSQL, writers call ``pg_notify`` inside their transaction, so a notification exists only
when the transaction commits, and one listener thread per database and process (``LISTEN``)
feeds the bus: changes made by any process arrive.

Examples
--------
>>> bus = Bus()
>>> seen = []
>>> handle = bus.add(seen.append)
>>> bus.publish(Change("team", "created", 1, None, None, (1,), 1, 1))
>>> bus.drain()
>>> seen[0].kind
'team'
>>> bus.remove(handle)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

import psycopg

from exact_lab.entities import Change

__all__ = ["CHANNEL", "MAX_IDS", "Bus", "PgListener", "bus_for", "decode", "encode"]

CHANNEL = "exact_lab_changes"
MAX_IDS = 200  # more ids than this travel as a count only (NOTIFY payloads stay < 8000 bytes)
log = logging.getLogger(__name__)


def encode(change: Change) -> str:
    """Serialise a change to JSON (ids are dropped beyond :data:`MAX_IDS`)."""
    data = dataclasses.asdict(change)
    if len(change.ids) > MAX_IDS:
        data["ids"] = []
    return json.dumps(data, separators=(",", ":"))


def decode(text: str) -> Change:
    """Parse :func:`encode`'s output."""
    data = json.loads(text)
    data["ids"] = tuple(data["ids"])
    return Change(**data)


class Bus:
    """Fan changes out to callbacks from one dispatcher thread, in commit order."""

    def __init__(self) -> None:
        """Create an idle bus; the dispatcher starts with the first subscriber."""
        self._callbacks: dict[int, Callable[[Change], None]] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._queue: queue.Queue[Change | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.listener: PgListener | None = None
        #: Bumped synchronously, before the writing call returns, when this process commits a
        #: change that can alter who sees what (see ``ACCESS_KINDS``). Delivery through the
        #: queue is asynchronous, so caches of access checks compare this counter as well.
        self.access_epoch = 0

    def add(self, callback: Callable[[Change], None]) -> int:
        """Register a callback; return a handle for :meth:`remove`."""
        with self._lock:
            self._next += 1
            self._callbacks[self._next] = callback
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="exact-lab-feed", daemon=True
                )
                self._thread.start()
            return self._next

    def remove(self, handle: int) -> None:
        """Unregister a callback (unknown handles are ignored)."""
        with self._lock:
            self._callbacks.pop(handle, None)

    @property
    def empty(self) -> bool:
        """True when nobody listens."""
        with self._lock:
            return not self._callbacks

    def publish(self, change: Change) -> None:
        """Queue a change for delivery (a no-op without subscribers)."""
        if not self.empty:
            self._queue.put(change)

    def drain(self) -> None:
        """Block until every queued change has been delivered."""
        self._queue.join()

    def _run(self) -> None:
        while True:
            change = self._queue.get()
            try:
                if change is None:
                    return
                with self._lock:
                    callbacks = list(self._callbacks.values())
                for callback in callbacks:
                    try:
                        callback(change)
                    except Exception:  # noqa: PERF203 - a failing subscriber must not stop others
                        log.exception("a change-feed subscriber failed")
            finally:
                self._queue.task_done()


class PgListener:
    """A thread holding ``LISTEN exact_lab_changes`` on its own connection, feeding a bus.

    When the connection drops (server restart, an administrator ending the session, a network
    fault) the thread reconnects with exponential backoff and listens again. Notifications are
    not durable in PostgreSQL: changes committed while the listener was away are not replayed,
    so the gap is logged as a warning.
    """

    #: Seconds between reconnection attempts: doubled after each failure, up to the maximum.
    RETRY_START, RETRY_MAX = 0.2, 10.0

    def __init__(self, conninfo: str, bus: Bus) -> None:
        """Start listening; returns once ``LISTEN`` is in place."""
        self._stop = threading.Event()
        self._bus = bus
        self._conninfo = conninfo
        self._conn: Any = self._connect()
        #: How many times the listener reconnected (for monitoring and tests).
        self.reconnects = 0
        self._thread = threading.Thread(target=self._run, name="exact-lab-listen", daemon=True)
        self._thread.start()

    def _connect(self) -> Any:
        conn = psycopg.connect(self._conninfo, autocommit=True)
        conn.execute(f"LISTEN {CHANNEL}")
        return conn

    def _run(self) -> None:
        delay = self.RETRY_START
        while not self._stop.is_set():
            try:
                self._listen()
            except psycopg.Error:
                if self._stop.is_set():
                    break
                log.warning(
                    "the change-feed connection dropped; reconnecting (changes committed "
                    "meanwhile are not delivered)"
                )
            with contextlib.suppress(Exception):
                self._conn.close()
            while not self._stop.wait(delay):
                try:
                    self._conn = self._connect()
                except psycopg.Error as err:
                    delay = min(delay * 2, self.RETRY_MAX)
                    log.warning("change-feed reconnection failed (%s); retry in %.1f s", err, delay)
                    continue
                self.reconnects += 1
                delay = self.RETRY_START
                break
        with contextlib.suppress(Exception):
            self._conn.close()

    def _listen(self) -> None:
        while not self._stop.is_set():
            for note in self._conn.notifies(timeout=0.2):
                try:
                    change = decode(note.payload)
                except (ValueError, TypeError):
                    log.warning("ignored a malformed change notification")
                    continue
                self._bus.publish(change)

    def stop(self) -> None:
        """Stop listening and close the connection."""
        self._stop.set()
        self._thread.join(timeout=5)


_BUSES: dict[str, Bus] = {}
_BUSES_LOCK = threading.Lock()


def bus_for(key: str) -> Bus:
    """Return the process-wide bus of one database (``key`` identifies it)."""
    with _BUSES_LOCK:
        if key not in _BUSES:
            _BUSES[key] = Bus()
        return _BUSES[key]
