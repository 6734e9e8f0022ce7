"""Granted tile permission checks, reused briefly and forgotten as soon as access may change.

A viewer asks for dozens of tiles a second; checking each against the store costs a database
read and an executor hop. A granted check (this user may see this image, whose file is there)
is therefore kept for ``ttl`` seconds. It is dropped earlier, all at once, when the store's
change feed reports a change that can alter who sees what: memberships, teams, image sets,
images, users. Refusals are never kept, so a new member sees tiles at once.

The feed is subscribed unfiltered (a removed member can no longer see the change that removed
them). On SQLite it only carries this process's changes; the TTL bounds how long a change made
by another process goes unseen. The feed is delivered from a thread, a moment after the commit;
changes this process commits also bump the store's ``access_epoch`` before the writing call
returns, and a grant is only served while that epoch is the one it was checked under. A check
that started before an invalidation is not stored (the generation), so a grant computed from a
stale read cannot outlive the change.

Examples
--------
>>> permits = Permits(ttl=60)
>>> token = permits.generation
>>> permits.put("ann", 7, "grant", token)
>>> permits.get("ann", 7), permits.get("bob", 7)
('grant', None)
>>> from exact_lab.entities import Change
>>> permits.on_change(Change("annotation", "created", 1, 1, 7, (1,), 1, 1))
>>> permits.get("ann", 7)
'grant'
>>> permits.on_change(Change("membership", "deleted", 1, None, None, (2,), 1, 1))
>>> permits.get("ann", 7) is None
True
>>> permits.put("ann", 7, "stale", token)  # checked before the change: not kept
>>> permits.get("ann", 7) is None
True
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from exact_lab.entities import ACCESS_KINDS, Change
from exact_lab.store import Store, Subscription

__all__ = ["ACCESS_KINDS", "Permits"]

MAX_ENTRIES = 65536
log = logging.getLogger(__name__)


class Permits:
    """Granted checks per (username, image id), valid ``ttl`` seconds or until invalidated."""

    def __init__(self, ttl: float) -> None:
        """Keep grants ``ttl`` seconds (0 keeps none)."""
        self.ttl = ttl
        self._generation = 0
        self._epoch: Callable[[], int] = lambda: 0
        self._grants: dict[tuple[str, int], tuple[float, Any, int]] = {}
        self._subscription: Subscription | None = None
        self._lock = threading.Lock()

    def get(self, username: str, image: int) -> Any:
        """Return the grant kept for ``(username, image)``, or ``None``.

        Lock-free: a dict read is atomic, and a lock here convoys behind the GIL.
        """
        memo = self._grants.get((username, image))
        if memo is not None and time.monotonic() - memo[0] < self.ttl and memo[2] == self._epoch():
            return memo[1]
        return None

    @property
    def generation(self) -> tuple[int, int]:
        """Read before a check and hand to :meth:`put`: (local generation, store epoch)."""
        return self._generation, self._epoch()

    def put(self, username: str, image: int, grant: Any, generation: tuple[int, int]) -> None:
        """Keep ``grant`` unless access changed since ``generation`` was read."""
        if self.ttl <= 0:
            return
        with self._lock:
            if generation != self.generation:
                return
            if len(self._grants) >= MAX_ENTRIES:
                self._grants.clear()
            self._grants[(username, image)] = (time.monotonic(), grant, generation[1])

    def forget(self) -> None:
        """Drop every grant (access may have changed)."""
        with self._lock:
            self._generation += 1
            self._grants = {}

    def on_change(self, change: Change) -> None:
        """Change-feed callback: forget every grant when the change can alter access."""
        if change.kind in ACCESS_KINDS:
            self.forget()

    def watch(self, store: Store) -> None:
        """Subscribe to ``store``'s unfiltered change feed once (stores without one: TTL only)."""
        if self._subscription is not None or self.ttl <= 0:
            return
        epoch = getattr(store, "access_epoch", None)
        if epoch is not None:
            self._epoch = epoch
        subscribe = getattr(store, "subscribe_unfiltered", None)
        if subscribe is None:
            return
        subscription: Subscription = subscribe(self.on_change)
        with self._lock:
            if self._subscription is None:
                self._subscription = subscription
                log.debug("tile permission grants follow the change feed")
                return
        subscription.close()  # another thread subscribed meanwhile

    def close(self) -> None:
        """Stop following the change feed and drop every grant."""
        with self._lock:
            subscription, self._subscription = self._subscription, None
        if subscription is not None:
            subscription.close()
        self.forget()
