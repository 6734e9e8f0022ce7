"""A request that cannot be encoded as JSON is BadInput at once, never "server unreachable"."""

from __future__ import annotations

import time

import pytest

from exact_lab.errors import BadInput
from tests.store.conftest import World, box

pytestmark = pytest.mark.parametrize("backend", ["http"], indirect=True)


def test_infinity_in_a_json_body_is_bad_input_and_writes_nothing(world: World) -> None:
    before = len(world.member.annotations(image=world.image))
    start = time.monotonic()
    with pytest.raises(BadInput, match="cannot be sent as JSON"):
        world.member.add_annotation(
            world.image, world.box, box(1, 1), meta_data={"p": float("inf")}
        )
    with pytest.raises(BadInput, match="cannot be sent as JSON"):
        world.member.annotations(image=world.image, min_verifications=float("inf"))  # type: ignore[arg-type]
    assert time.monotonic() - start < 10  # refused at once, not after the 30 s read retries
    assert len(world.member.annotations(image=world.image)) == before
