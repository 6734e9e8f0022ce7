"""CRUD of every entity, through the one Store contract, on every backend."""

from __future__ import annotations

import dataclasses

import pytest

from exact_lab.entities import Annotation, CollaborationType, VectorType
from exact_lab.errors import BadInput, Conflict, NotFound, PermissionDenied
from tests.store.conftest import World, box


def test_users_are_created_on_first_use_and_can_be_listed(world: World) -> None:
    me = world.member.user
    assert me.username.startswith("a_member_")
    assert me.is_active
    names = {u.username for u in world.admin.users()}
    assert {world.admin.user.username, me.username} <= names
    assert world.outsider.user.username not in names
    assert world.admin.get_user(me.username) == me
    assert world.admin.get_user(me.id) == me


def test_create_user_explicitly_and_duplicate_is_conflict(world: World) -> None:
    made = world.admin.create_user(f"explicit_{world.suffix}")
    assert made.is_active
    with pytest.raises(Conflict):
        world.admin.create_user(f"explicit_{world.suffix}")


def test_teams_and_memberships(world: World) -> None:
    assert world.team in world.admin.teams()
    assert world.team in world.member.teams()
    members = world.admin.memberships(world.team)
    assert {(m.username, m.is_admin) for m in members} == {
        (world.admin.user.username, True),
        (world.member.user.username, False),
    }
    renamed = world.admin.update_team(world.team, name=f"renamed-{world.suffix}")
    assert renamed.name == f"renamed-{world.suffix}"
    with pytest.raises(Conflict):
        world.admin.create_team(f"renamed-{world.suffix}")
    granted = world.admin.set_admin(world.team, world.member.user.username, True)
    assert granted.is_admin
    world.member.set_admin(world.team, world.admin.user.username, False)
    with pytest.raises(Conflict, match="at least one admin"):
        world.member.remove_member(world.team, world.member.user.username)
    newcomer = f"newcomer_{world.suffix}"
    world.member.add_member(world.team, newcomer)
    with pytest.raises(Conflict):
        world.member.add_member(world.team, newcomer)
    world.member.remove_member(world.team, newcomer)
    assert newcomer not in {m.username for m in world.member.memberships(world.team)}


def test_delete_team_only_when_empty(world: World) -> None:
    empty = world.admin.create_team(f"empty-{world.suffix}")
    world.admin.delete_team(empty)
    with pytest.raises(NotFound):
        world.admin.team(empty.id)
    with pytest.raises(Conflict, match="image sets"):
        world.admin.delete_team(world.team)


def test_products_and_annotation_types_keep_every_exact_field(world: World) -> None:
    assert world.admin.product(world.product.id) == world.product
    assert world.admin.products(world.team) == [world.product]
    t = world.admin.create_annotation_type(
        world.product,
        "polyline",
        vector_type=4,
        color_code="#123abc",
        default_width=7,
        default_height=9,
        sort_order=-3,
        keyboard_shortcut="p",
        node_count=0,
        closed=False,
        area_hit_test=False,
        enable_concealed=False,
        enable_blurred=False,
        multi_frame=True,
    )
    got = world.member.annotation_type(t.id)
    assert got == t
    assert (got.vector_type, got.color_code, got.sort_order, got.keyboard_shortcut) == (
        4,
        "#123ABC",
        -3,
        "p",
    )
    assert (
        got.closed,
        got.area_hit_test,
        got.enable_concealed,
        got.enable_blurred,
        got.multi_frame,
    ) == (False,) * 4 + (True,)
    assert world.member.annotation_types(world.product)[0] == t  # sort_order -3 comes first
    assert t in world.member.annotation_types(image_set=world.image_set)
    changed = world.admin.update_annotation_type(t, name="polyline 2", active=False)
    assert (changed.name, changed.active) == ("polyline 2", False)
    with pytest.raises(Conflict):
        world.admin.create_annotation_type(world.product, "tumour")
    world.admin.delete_annotation_type(t)
    with pytest.raises(NotFound):
        world.admin.annotation_type(t.id)
    p2 = world.admin.update_product(world.product, description="new words")
    assert p2.description == "new words"
    spare = world.admin.create_product(world.team, "Spare")
    world.admin.delete_product(spare)
    assert spare.id not in {p.id for p in world.admin.products(world.team)}


def test_image_sets_carry_exact_fields(world: World) -> None:
    s = world.admin.create_image_set(
        world.team,
        "full",
        description="all fields",
        location="Lab 3",
        tags=["b", "a", "a"],
        products=[world.product],
        main_annotation_type=world.box,
        collaboration_type=2,
        priority=1,
    )
    assert (s.tags, s.products, s.main_annotation_type) == (
        ("a", "b"),
        (world.product.id,),
        world.box.id,
    )
    assert (s.collaboration_type, s.priority, s.location) == (
        CollaborationType.SECONDOPINION,
        1,
        "Lab 3",
    )
    assert world.member.image_set(s.id) == s
    assert s in world.member.image_sets(world.team)
    updated = world.admin.update_image_set(s, priority=-1, products=[], description="changed")
    assert (updated.priority, updated.products, updated.description) == (-1, (), "changed")
    world.admin.delete_image_set(s)
    with pytest.raises(NotFound):
        world.admin.image_set(s.id)
    with pytest.raises(Conflict, match="holds images"):
        world.admin.delete_image_set(world.image_set)


def test_images_hide_private_fields_from_non_admins(world: World) -> None:
    seen_by_admin = world.admin.image(world.image.id)
    seen_by_member = world.member.image(world.image.id)
    assert seen_by_admin.original_name == "patient-17.svs"
    assert seen_by_admin.path == "/data/patient-17.svs"
    assert seen_by_member.original_name is None
    assert seen_by_member.path is None
    assert dataclasses.replace(seen_by_admin, original_name=None, path=None) == seen_by_member
    img = world.member.add_image(
        world.image_set,
        f"more-{world.suffix}",
        width=64,
        height=32,
        frames=3,
        channels=1,
        objective_power=40,
        image_type=2,
        checksum="sha256:abc",
    )
    assert (img.frames, img.channels, img.objective_power, img.image_type) == (3, 1, 40.0, 2)
    assert img.id in [i.id for i in world.member.images(world.image_set)]
    assert world.admin.update_image(img, mpp=0.5).mpp == 0.5
    with pytest.raises(Conflict):
        world.member.add_image(world.image_set, f"more-{world.suffix}", width=64, height=32)
    world.admin.delete_image(img)
    with pytest.raises(NotFound):
        world.admin.image(img.id)


def test_annotation_crud_and_soft_delete(world: World) -> None:
    a = world.member.add_annotation(
        world.image,
        world.box,
        {**box(10, 20), "frame": 1},
        description="first",
        meta_data={"score": 0.9},
    )
    assert isinstance(a, Annotation)
    assert (a.revision, a.frame, a.x_min, a.y_max, a.user) == (
        1,
        1,
        10.0,
        40.0,
        world.member.user.id,
    )
    assert a.meta_data == {"score": 0.9}
    assert world.admin.annotation(a.id) == a
    b = world.admin.update_annotation(
        a, base_revision=1, vector=box(100, 100, 50, 10), concealed=True
    )
    assert (b.revision, b.x_max, b.concealed, b.last_editor) == (
        2,
        150.0,
        True,
        world.admin.user.id,
    )
    assert b.user == world.member.user.id
    c = world.member.delete_annotation(b)
    assert c.deleted
    assert c.revision == 3
    frame = world.member.annotations(image_set=world.image_set)
    assert a.id not in frame["id"].tolist()
    assert a.id in world.member.annotations(image_set=world.image_set, deleted=True)["id"].tolist()
    restored = world.member.update_annotation(a, base_revision=3, deleted=False)
    assert not restored.deleted
    poly = world.member.add_annotation(
        world.image, world.polygon, {"x1": 1, "y1": 1, "x2": 9, "y2": 1, "x3": 5, "y3": 7}
    )
    assert (poly.x_min, poly.y_min, poly.x_max, poly.y_max) == (1, 1, 9, 7)
    gone = world.member.add_annotation(world.image, world.box, None)
    assert gone.vector is None
    assert gone.x_min is None


def test_upsert_by_unique_identifier(world: World) -> None:
    uid = f"uid-{world.suffix}"
    first, created = world.member.upsert_annotation(world.image, uid, world.box, box(1, 1))
    assert created
    assert first.revision == 1
    assert first.unique_identifier == uid
    second, created = world.admin.upsert_annotation(
        world.image, uid, world.point, box(5, 5), description="moved"
    )
    assert not created
    assert (second.id, second.revision, second.annotation_type, second.x_min) == (
        first.id,
        2,
        world.point.id,
        5.0,
    )
    same_uid_elsewhere, created = world.member.upsert_annotation(
        world.blind_image, uid, world.box, box(1, 1)
    )
    assert created
    assert same_uid_elsewhere.id != first.id
    with pytest.raises(Conflict, match="upsert"):
        world.member.add_annotations(
            [
                {
                    "image": world.image.id,
                    "annotation_type": world.box.id,
                    "vector": box(1, 1),
                    "unique_identifier": uid,
                }
            ]
        )


def test_verifications_media_logs_screening(world: World) -> None:
    a = world.member.add_annotation(world.image, world.box, box(10, 10))
    v = world.member.verify(a)
    assert (v.annotation, v.user, v.verified) == (a.id, world.member.user.id, True)
    world.admin.verify(a, verified=True)
    assert world.admin.annotation(a.id).verified_count == 2
    again = world.admin.verify(a, verified=False)
    assert again.verified is False
    assert world.admin.annotation(a.id).verified_count == 1
    assert len(world.member.verifications(a)) == 2
    media = world.member.add_media_file(
        a, "snapshot.png", file="media/snapshot.png", media_file_type=2
    )
    assert world.member.media_files(a) == [media]
    world.member.delete_media_file(media)
    assert world.member.media_files(a) == []
    with pytest.raises(BadInput):
        world.member.add_media_file(a, "x", file="y", media_file_type=9)
    opened = world.member.log_image_action(world.image, 1, ip="10.0.0.1")
    world.member.log_image_action(world.image, 2)
    log = world.admin.image_actions(world.image)
    assert [e.action for e in log] == [1, 2]
    assert log[0] == opened
    tiles = {
        "0": {"Screened": False, "x_min": 0, "y_min": 0, "x_max": 500, "y_max": 400},
        "1": {"Screened": False, "x_min": 500, "y_min": 0, "x_max": 1000, "y_max": 400},
    }
    st = world.member.save_screening(
        world.image,
        screening_tiles=tiles,
        x_steps=2,
        y_steps=1,
        x_resolution=500,
        y_resolution=400,
        current_index=0,
    )
    assert st.x_steps == 2
    moved = world.member.save_screening(world.image, current_index=1)
    assert moved.current_index == 1
    assert moved.screening_tiles["1"]["Screened"] is True
    assert world.member.screening(world.image) == moved
    assert world.admin.screening(world.image) is None
    assert world.admin.screening(world.image, user=world.member.user.username) == moved


def test_tokens_are_hashed_and_shown_once(world: World) -> None:
    before = {t.id for t in world.member.tokens()}  # over HTTP: the token the store connects with
    made = world.member.create_token("laptop")
    assert made.plain.startswith("pat_")
    assert "." in made.plain
    assert made.plain not in repr(made)
    assert made.token.prefix in made.plain
    assert world.outsider.authenticate_token(made.plain) == world.member.user
    assert {t.id for t in world.member.tokens()} == {*before, made.token.id}
    with pytest.raises(PermissionDenied):
        world.outsider.authenticate_token(made.plain[:-1] + ("A" if made.plain[-1] != "A" else "B"))
    with pytest.raises(PermissionDenied):
        world.outsider.authenticate_token("Token abc")
    with pytest.raises(NotFound):
        world.outsider.revoke_token(made.token.id)
    world.member.revoke_token(made.token)
    assert {t.id for t in world.member.tokens()} == before
    with pytest.raises(PermissionDenied):
        world.outsider.authenticate_token(made.plain)


def test_deactivate_and_anonymise_keeps_annotations(world: World, store_factory) -> None:
    leaver = store_factory(f"leaver_{world.suffix}")
    world.admin.add_member(world.team, leaver.user.username)
    a = leaver.add_annotation(world.image, world.box, box(1, 1))
    token = leaver.create_token("t")
    with pytest.raises(PermissionDenied):
        world.member.deactivate_user(leaver.user.id)
    gone = world.admin.deactivate_user(leaver.user.id)
    assert not gone.is_active
    assert gone.username == f"deactivated-user-{gone.id}"
    kept = world.admin.annotation(a.id)
    assert kept.user == gone.id
    assert world.admin.history(a)[0].user == gone.id
    with pytest.raises(PermissionDenied):
        world.admin.authenticate_token(token.plain)
    # SQL names the deactivated user; over HTTP the server only sees a token that no longer works
    with pytest.raises(PermissionDenied, match=r"deactivated|Invalid token"):
        leaver.teams()


def test_vector_types_are_exact_codes() -> None:
    assert [int(v) for v in VectorType] == list(range(1, 9))
