"""The store contract over exact_lab's HTTP API (``connect("https://.../exact", token=...)``)."""

from exact_lab.store.rest.store import RestStore

__all__ = ["RestStore"]
