"""The density route ``native/images/{id}/density`` over HTTP, as a browser calls it."""

from __future__ import annotations

import pandas as pd
import pytest
import requests

from exact_lab.store.rest import RestStore
from tests.store.conftest import World
from tests.store.test_density import COLUMNS, random_boxes

pytestmark = pytest.mark.parametrize("backend", ["http"], indirect=True)


def test_route_validates_and_answers_json(world: World) -> None:
    """The route itself (as a browser calls it): 400 naming the field, JSON columns."""
    store = world.member
    assert isinstance(store, RestStore)
    session: requests.Session = store._http.session
    url = f"{store._http.base}/api/native/images/{world.image.id}/density"
    for query, field in (
        ("cell=abc", "cell"), ("cell=0", "cell"), ("cell=nan", "cell"), ("", "cell"),
        ("cell=10&bbox=1,2,3", "bbox"), ("cell=10&frame=x", "frame"),
        ("cell=10&deleted=maybe", "deleted"), ("cell=10&format=xml", "format"),
    ):  # fmt: skip
        answer = session.get(f"{url}?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert answer.json()["field"] == field
    world.member.add_annotations(random_boxes(world, world.image.id, 500, seed=9))
    answer = session.get(f"{url}?cell=128&format=json")
    assert answer.status_code == 200
    columns = answer.json()
    assert pd.DataFrame(columns)[COLUMNS].equals(world.member.annotation_density(world.image, 128))
    outsider = world.outsider
    assert isinstance(outsider, RestStore)
    refused = outsider._http.session.get(f"{url}?cell=128")
    assert refused.status_code == 404
