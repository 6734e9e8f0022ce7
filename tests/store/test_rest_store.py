"""What only the RestStore does: identity from the token, errors over the wire, uploads."""

from __future__ import annotations

import pytest
import requests

from exact_lab.errors import BadInput, NotFound, PermissionDenied
from exact_lab.store import connect
from exact_lab.store.rest import RestStore
from tests.store.conftest import World, box

pytestmark = pytest.mark.parametrize("backend", ["http"], indirect=True)


def test_as_user_of_anyone_else_is_refused(world: World) -> None:
    assert isinstance(world.member, RestStore)
    assert world.member.as_user(world.member.user.username) is world.member
    with pytest.raises(PermissionDenied, match="token"):
        world.member.as_user(world.admin.user.username)


def test_connect_needs_a_valid_token(world: World, backend) -> None:
    _, base, _ = backend
    with pytest.raises(BadInput, match="personal access token"):
        connect(base, user="anyone")
    with connect(base, token="pat_nothing.wrong") as bad, pytest.raises(PermissionDenied):
        bad.teams()


def test_errors_keep_their_kind_and_field(world: World) -> None:
    with pytest.raises(NotFound):
        world.outsider.image(world.image.id)
    with pytest.raises(BadInput) as caught:
        world.admin.add_annotation(world.image, world.box, {"x1": 1})
    assert caught.value.field


def test_server_refuses_paths_and_non_contract_methods(world: World, backend) -> None:
    _, base, _ = backend
    store = world.admin
    assert isinstance(store, RestStore)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {store._http.token}"
    v = store.create_version(world.image_set, "v")
    answer = session.post(
        f"{base}/api/native/store/add_artefact",
        json={"args": [v.id, "x"], "kwargs": {"path": "/etc/passwd"}},
    )
    assert answer.status_code == 400
    assert answer.json()["field"] == "path"
    for method in ("as_user", "close", "subscribe", "_tx"):
        assert session.post(f"{base}/api/native/store/{method}", json={}).status_code == 404
    answer = session.post(f"{base}/api/native/store/team", json={"args": [1, 2, 3]})
    assert answer.status_code == 400


def test_arrow_round_trip_and_subscription_of_invisible_set(world: World) -> None:
    ids = world.admin.add_annotations(
        [{"image": world.image.id, "annotation_type": world.box.id, "vector": box(5, 5)}]
    )
    table = world.member.annotations(image=world.image, format="arrow")
    assert table.column("id").to_pylist() == ids
    assert world.member.annotations_in(world.image, (0, 0, 10, 10))["id"].tolist() == ids
    with pytest.raises(NotFound):
        world.outsider.subscribe(lambda _: None, image_set=world.image_set)
