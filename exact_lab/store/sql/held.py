"""One PostgreSQL connection per thread, held open in autocommit for one-statement reads.

Checking a connection out of SQLAlchemy's pool costs a round trip of its own (the engine pings
the server first, ``pool_pre_ping``) plus the pool's bookkeeping: about 0.4 ms, as much as the
viewport statement's whole server execution. A viewer asks for windows many times a second, so
:func:`run` keeps one connection per thread and per engine outside the pool, in autocommit,
where prepared statements stay prepared. Instead of pinging first, a read that meets a broken
connection (server restart, idle timeout) opens a new one and runs once more; only reads
belong here, so running one twice is harmless.

The connections close with the engine (``Engine.dispose``, which ``SqlStore.close`` calls), or
when their thread has ended and another thread opens one.

Example (PostgreSQL only)::

    rows = held.run(engine, lambda raw: raw.execute("SELECT 1").fetchall())
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
import sqlalchemy as sa

__all__ = ["run"]

T = TypeVar("T")


class _Held:
    """The held connections of one engine; it keeps no reference to the engine itself."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.open: list[tuple[threading.Thread, Any]] = []

    def get(self, engine: sa.Engine) -> Any:
        raw = getattr(self.local, "raw", None)
        if raw is None or raw.closed or raw.broken:
            raw = self.local.raw = self._connect(engine)
        return raw

    def _connect(self, engine: sa.Engine) -> Any:
        pooled = engine.raw_connection()  # the engine's connect arguments and adapters
        raw: Any = pooled.driver_connection
        pooled.detach()  # ours from now on: the pool opens another when it needs one
        raw.autocommit = True
        with self.lock:
            ended = [pair for pair in self.open if not pair[0].is_alive() or pair[1].closed]
            for pair in ended:
                self.open.remove(pair)
                pair[1].close()
            self.open.append((threading.current_thread(), raw))
        return raw

    def forget(self) -> None:
        """Drop this thread's connection (it is broken)."""
        raw = getattr(self.local, "raw", None)
        self.local.raw = None
        if raw is not None:
            raw.close()

    def close_all(self) -> None:
        with self.lock:
            pairs, self.open = self.open, []
        for _, raw in pairs:
            raw.close()


_HELD: weakref.WeakKeyDictionary[sa.Engine, _Held] = weakref.WeakKeyDictionary()
_HELD_LOCK = threading.Lock()


def _held(engine: sa.Engine) -> _Held:
    held = _HELD.get(engine)
    if held is None:
        with _HELD_LOCK:
            held = _HELD.get(engine)
            if held is None:
                held = _HELD[engine] = _Held()
                sa.event.listen(engine, "engine_disposed", lambda _engine: held.close_all())
    return held


def run(engine: sa.Engine, read: Callable[[Any], T]) -> T:
    """Call ``read(connection)`` with this thread's held psycopg connection (autocommit).

    ``read`` must only read: on a broken connection it runs again on a new one.
    """
    held = _held(engine)
    raw = held.get(engine)
    try:
        return read(raw)
    except psycopg.OperationalError:
        if not raw.broken and not raw.closed:
            raise  # an error of the statement, not of the connection
        held.forget()
        return read(held.get(engine))
