"""``Store.media_file``: one media file record, visible exactly when its annotation is."""

from __future__ import annotations

import pytest

from exact_lab.errors import NotFound
from tests.store.conftest import World, box


def test_media_file_by_id(world: World) -> None:
    a = world.member.add_annotation(world.image, world.box, box(3, 3))
    made = world.member.add_media_file(a, "photo", file="https://example.org/p.png")
    assert world.admin.media_file(made.id) == made
    assert world.member.media_file(made) == made
    with pytest.raises(NotFound) as hidden:
        world.outsider.media_file(made.id)
    with pytest.raises(NotFound) as missing:
        world.outsider.media_file(10**9)
    assert str(hidden.value).replace(str(made.id), "N") == str(missing.value).replace(
        str(10**9), "N"
    )
    world.member.delete_media_file(made)
    with pytest.raises(NotFound):
        world.admin.media_file(made.id)
