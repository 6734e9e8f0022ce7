"""Per-request view of the store: the acting user's store plus memos of repeated reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from exact_lab.entities import AnnotationType, Image, ImageSet, Membership, Product, Team
from exact_lab.errors import BadInput
from exact_lab.server_ext._framecache import FrameCache
from exact_lab.store import Store

__all__ = ["Ctx", "as_id", "as_ids"]

T = TypeVar("T")
MAX_ID = 2**31 - 1


def as_id(value: Any, field: str) -> int:
    """Return ``value`` as an object id (ints and digit strings), else raise BadInput.

    >>> as_id("12", "image"), as_id(3, "image")
    (12, 3)
    """
    if isinstance(value, bool):
        raise BadInput(f"{field}: expected an id, got {value!r}", field=field)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise BadInput(f"{field}: expected an id, got {value!r}", field=field)
    return value


def as_ids(value: Any, field: str) -> list[int]:
    """Return a list of ids (a list, or a comma-separated string)."""
    if isinstance(value, str):
        value = [v for v in value.strip("[] ").split(",") if v.strip()]
    if not isinstance(value, (list, tuple)):
        raise BadInput(f"{field}: expected a list of ids, got {value!r}", field=field)
    return [as_id(v, field) for v in value]


class Ctx:
    """The acting user's store and memos valid for one request."""

    def __init__(self, store: Store, frames: FrameCache | None = None) -> None:
        """Wrap ``store``; ``frames`` caches annotation frames across requests while paging."""
        self.store = store
        self.frames = frames
        self._memo: dict[Any, Any] = {}
        #: ``{scheme}://{host}{base_url}exact/api/v1/`` of the request, for absolute URLs.
        self.api_root = ""
        #: The server's upload folder (media files live below it).
        self.upload_dir: Path | None = None

    def memo(self, key: Any, fn: Callable[[], T]) -> T:
        """Return ``fn()``, computed once per request for ``key``."""
        if key not in self._memo:
            self._memo[key] = fn()
        value: T = self._memo[key]
        return value

    def forget(self) -> None:
        """Drop memos (after a write)."""
        self._memo.clear()

    @property
    def me(self) -> int:
        """The acting user's id."""
        return self.memo("me", lambda: self.store.user.id)

    def teams(self) -> list[Team]:
        """Return the user's teams."""
        return self.memo("teams", self.store.teams)

    def memberships(self, team: int) -> list[Membership]:
        """Members of a team."""
        return self.memo(("memberships", team), lambda: self.store.memberships(team))

    def image_sets(self) -> list[ImageSet]:
        """Visible image sets."""
        return self.memo("sets", self.store.image_sets)

    def images(self, image_set: int) -> list[Image]:
        """Images of a set."""
        return self.memo(("images", image_set), lambda: self.store.images(image_set))

    def all_images(self) -> list[Image]:
        """Images of every visible set."""
        return [image for s in self.image_sets() for image in self.images(s.id)]

    def products(self) -> list[Product]:
        """Visible products."""
        return self.memo("products", self.store.products)

    def annotation_types(self) -> list[AnnotationType]:
        """Visible annotation types."""
        return self.memo("types", self.store.annotation_types)
