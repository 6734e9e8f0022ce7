"""Bounded, thread-safe caches: encoded tiles by size in bytes, open slides by count.

Examples
--------
>>> cache = ByteLRU(max_bytes=10)
>>> cache.put("a", b"12345")
>>> cache.put("b", b"67890")
>>> cache.put("c", b"xyz")  # evicts "a", the least recently used
>>> cache.get("a") is None, cache.get("c")
(True, b'xyz')
>>> cache.size_bytes <= 10
True
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["ByteLRU", "HandleLRU"]

V = TypeVar("V")


class ByteLRU:
    """A least-recently-used cache of ``bytes`` bounded by their total size.

    Parameters
    ----------
    max_bytes
        Upper bound of the summed lengths of the cached values. A value larger than the bound
        is never stored. ``0`` disables the cache.
    """

    def __init__(self, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def size_bytes(self) -> int:
        """Sum of the lengths of the cached values."""
        return self._size

    def __len__(self) -> int:
        """Return the number of cached values."""
        return len(self._items)

    def get(self, key: Hashable) -> bytes | None:
        """Return the cached value for ``key`` (marking it recently used), or ``None``."""
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: bytes) -> None:
        """Store ``value`` under ``key``, evicting least recently used values to stay in bounds."""
        if len(value) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = value
            self._size += len(value)
            while self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)

    def clear(self) -> None:
        """Drop every cached value."""
        with self._lock:
            self._items.clear()
            self._size = 0


class HandleLRU(Generic[V]):
    """A least-recently-used map of open handles bounded by count; evicted handles are closed.

    Parameters
    ----------
    max_items
        How many handles stay open at most (at least 1).
    close
        Called with each evicted or discarded handle.

    Examples
    --------
    >>> closed = []
    >>> handles = HandleLRU[str](2, close=closed.append)
    >>> for name in "abc":
    ...     _ = handles.get_or_open(name, lambda name=name: name.upper())
    >>> closed, len(handles)
    (['A'], 2)
    """

    def __init__(self, max_items: int, *, close: Callable[[V], object]) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self.max_items = max_items
        self._close = close
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """Return the number of open handles."""
        return len(self._items)

    def get_or_open(self, key: Hashable, opener: Callable[[], V]) -> V:
        """Return the handle for ``key``, calling ``opener`` (outside the lock) on a miss."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        handle = opener()
        evicted: list[V] = []
        with self._lock:
            if key in self._items:  # another thread opened it meanwhile: keep theirs
                evicted.append(handle)
                handle = self._items[key]
                self._items.move_to_end(key)
            else:
                self._items[key] = handle
                while len(self._items) > self.max_items:
                    evicted.append(self._items.popitem(last=False)[1])
        for old in evicted:
            self._close(old)
        return handle

    def peek(self, key: Hashable) -> V | None:
        """Return the open handle for ``key`` without opening it (lock-free), else ``None``."""
        return self._items.get(key)

    def discard(self, key: Hashable) -> None:
        """Close and forget the handle for ``key`` (for example after a read error)."""
        with self._lock:
            handle = self._items.pop(key, None)
        if handle is not None:
            self._close(handle)

    def clear(self) -> None:
        """Close every handle."""
        with self._lock:
            handles = list(self._items.values())
            self._items.clear()
        for handle in handles:
            self._close(handle)
