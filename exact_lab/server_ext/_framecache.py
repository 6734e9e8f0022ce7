"""A short-lived cache of annotation DataFrames, so that walking JSON pages stays linear.

EXACT pages with SQL ``LIMIT/OFFSET``; the store reads an image's annotations as one DataFrame.
Listing page after page would re-read the whole image for every page, so the frame of a query
is kept for up to :attr:`FrameCache.ttl` seconds and dropped as soon as the store's change feed
reports a change the user can see (in this process, and on PostgreSQL from any process), or when
this server handles any write. Readers therefore see a consistent snapshot while paging.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd

from exact_lab.store import Store, Subscription

__all__ = ["FrameCache"]


class FrameCache:
    """Frames per (user, query), invalidated by the change feed and by local writes."""

    def __init__(self, *, ttl: float = 30.0, max_frames: int = 32) -> None:
        """Keep at most ``max_frames`` frames, each for at most ``ttl`` seconds."""
        self.ttl = ttl
        self.max_frames = max_frames
        self._frames: OrderedDict[tuple[str, Hashable], tuple[float, pd.DataFrame]] = OrderedDict()
        self._watches: dict[str, Subscription] = {}
        self._lock = threading.Lock()

    def get(
        self, store: Store, username: str, key: Hashable, load: Callable[[], pd.DataFrame]
    ) -> pd.DataFrame:
        """Return the cached frame of ``key`` for ``username``, loading it when needed."""
        now = time.monotonic()
        with self._lock:
            hit = self._frames.get((username, key))
            if hit is not None and now - hit[0] < self.ttl:
                self._frames.move_to_end((username, key))
                return hit[1]
        self._watch(store, username)
        frame = load()
        with self._lock:
            self._frames[(username, key)] = (now, frame)
            while len(self._frames) > self.max_frames:
                self._frames.popitem(last=False)
        return frame

    def _watch(self, store: Store, username: str) -> None:
        with self._lock:
            if username in self._watches:
                return

        def drop(_change: Any) -> None:
            self.drop(username)

        subscription = store.subscribe(drop)
        with self._lock:
            if username in self._watches:
                subscription.close()
            else:
                self._watches[username] = subscription

    def drop(self, username: str) -> None:
        """Forget every frame of one user."""
        with self._lock:
            for key in [k for k in self._frames if k[0] == username]:
                del self._frames[key]

    def clear(self) -> None:
        """Forget every frame (after a write through this server)."""
        with self._lock:
            self._frames.clear()

    def close(self) -> None:
        """Stop the change-feed subscriptions."""
        with self._lock:
            watches, self._watches = list(self._watches.values()), {}
            self._frames.clear()
        for subscription in watches:
            subscription.close()
