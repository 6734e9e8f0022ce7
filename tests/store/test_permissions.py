"""The permissions matrix: admins, members, outsiders; blind and second-opinion sets."""

from __future__ import annotations

import re

import pytest

from exact_lab.errors import NotFound, PermissionDenied
from tests.store.conftest import World, box

MISSING = 10**9


def _same_error(call_existing, call_missing) -> None:
    """Outsiders get the same error type and wording for hidden and missing objects."""
    with pytest.raises(NotFound) as hidden:
        call_existing()
    with pytest.raises(NotFound) as missing:
        call_missing()
    assert re.sub(r"\d+", "N", str(hidden.value), count=1) == re.sub(
        r"\d+", "N", str(missing.value), count=1
    )


def test_outsiders_cannot_learn_existence(world: World) -> None:
    o = world.outsider
    a = world.member.add_annotation(world.image, world.box, box(1, 1))
    v = world.admin.create_version(world.image_set, "v")
    _same_error(lambda: o.team(world.team.id), lambda: o.team(MISSING))
    _same_error(lambda: o.image_set(world.image_set.id), lambda: o.image_set(MISSING))
    _same_error(lambda: o.image(world.image.id), lambda: o.image(MISSING))
    _same_error(lambda: o.annotation(a.id), lambda: o.annotation(MISSING))
    _same_error(lambda: o.product(world.product.id), lambda: o.product(MISSING))
    _same_error(lambda: o.annotation_type(world.box.id), lambda: o.annotation_type(MISSING))
    _same_error(lambda: o.version(v.id), lambda: o.version(MISSING))
    for call in (
        lambda: o.annotations(image_set=world.image_set),
        lambda: o.annotations_in(world.image, (0, 0, 100, 100)),
        lambda: o.add_annotation(world.image, world.box, box(1, 1)),
        lambda: o.update_annotation(a, base_revision=1, description="x"),
        lambda: o.history(a),
        lambda: o.verify(a),
        lambda: o.images(world.image_set),
        lambda: o.memberships(world.team),
        lambda: o.add_image(world.image_set, "x", width=1, height=1),
        lambda: o.create_version(world.image_set, "mine"),
        lambda: o.log_image_action(world.image, 1),
        lambda: o.annotations(version=v),
    ):
        with pytest.raises(NotFound):
            call()
    assert o.teams() == []
    assert o.image_sets() == []
    assert o.products() == []


def test_members_work_but_do_not_manage(world: World) -> None:
    m = world.member
    a = m.add_annotation(world.image, world.box, box(1, 1))
    m.update_annotation(a, base_revision=1, description="mine")
    m.add_image(world.image_set, f"member-img-{world.suffix}", width=10, height=10)
    m.create_version(world.image_set, "by member")
    for call, what in (
        (lambda: m.add_member(world.team, "someone"), "add members"),
        (lambda: m.remove_member(world.team, world.admin.user.username), "remove members"),
        (lambda: m.set_admin(world.team, m.user.username, True), "change admin rights"),
        (lambda: m.create_product(world.team, "p"), "create products"),
        (lambda: m.update_product(world.product, name="p"), "change products"),
        (lambda: m.create_annotation_type(world.product, "t"), "create annotation types"),
        (lambda: m.update_annotation_type(world.box, name="t"), "change annotation types"),
        (lambda: m.delete_annotation_type(world.box), "delete annotation types"),
        (lambda: m.create_image_set(world.team, "s"), "create image sets"),
        (lambda: m.update_image_set(world.image_set, name="s"), "change image sets"),
        (lambda: m.delete_image_set(world.image_set), "delete image sets"),
        (lambda: m.update_image(world.image, name="s"), "change images"),
        (lambda: m.delete_image(world.image), "delete images"),
        (lambda: m.update_team(world.team, name="s"), "rename the team"),
        (lambda: m.delete_team(world.team), "delete the team"),
    ):
        with pytest.raises(PermissionDenied, match=what):
            call()


def test_admins_of_one_team_are_outsiders_of_another(world: World) -> None:
    with pytest.raises(NotFound):
        world.other_admin.image_set(world.image_set.id)
    with pytest.raises(NotFound):
        world.admin.add_image(world.other_set, "x", width=1, height=1)
    with pytest.raises(NotFound):
        world.admin.create_product(world.other_team, "steal")
    other_type = world.other_admin.annotation_types(image_set=world.other_set)[0]
    with pytest.raises(NotFound):
        world.admin.add_annotation(world.image, other_type, box(1, 1))


def test_blind_sets_show_each_user_only_their_own(world: World, store_factory) -> None:
    second = store_factory(f"second_{world.suffix}")
    world.admin.add_member(world.team, second.user.username)
    mine = world.member.add_annotation(world.blind_image, world.box, box(1, 1))
    theirs = second.add_annotation(world.blind_image, world.box, box(50, 50))
    assert world.member.annotations(image_set=world.blind_set)["id"].tolist() == [mine.id]
    assert second.annotations(image=world.blind_image)["id"].tolist() == [theirs.id]
    assert second.annotations_in(world.blind_image, (0, 0, 1000, 800))["id"].tolist() == [theirs.id]
    with pytest.raises(NotFound):
        world.member.annotation(theirs.id)
    with pytest.raises(NotFound):
        world.member.update_annotation(theirs, base_revision=1, description="peek")
    with pytest.raises(NotFound):
        world.member.history(theirs)
    assert sorted(world.admin.annotations(image_set=world.blind_set)["id"]) == sorted(
        [mine.id, theirs.id]
    )
    v = world.admin.create_version(world.blind_set, "blind v1")
    assert world.member.annotations(version=v)["id"].tolist() == [mine.id]
    # the collaborative set shows everybody's
    a = second.add_annotation(world.image, world.box, box(1, 1))
    assert a.id in world.member.annotations(image_set=world.image_set)["id"].tolist()


def test_second_opinion_counts_and_min_verifications(world: World, store_factory) -> None:
    s = world.admin.create_image_set(
        world.team, "second opinion", products=[world.product], collaboration_type=2
    )
    img = world.admin.add_image(s, f"so-{world.suffix}", width=100, height=100)
    one = world.member.add_annotation(img, world.box, box(1, 1))
    two = world.member.add_annotation(img, world.box, box(30, 30))
    world.admin.verify(one)
    world.member.verify(one)
    world.admin.verify(two, verified=False)
    frame = world.member.annotations(image_set=s)
    assert dict(zip(frame["id"], frame["verified_count"], strict=False)) == {one.id: 2, two.id: 0}
    assert world.member.annotations(image_set=s, min_verifications=2)["id"].tolist() == [one.id]
    assert world.member.annotations(image_set=s, min_verifications=1)["id"].tolist() == [one.id]
    assert len(world.member.annotations(image_set=s, min_verifications=0)) == 2
