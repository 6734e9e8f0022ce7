"""History (who changed what), versions (time travel without copies), diff, artefacts."""

from __future__ import annotations

import hashlib

import pytest

from exact_lab.errors import BadInput, Conflict
from tests.store.conftest import World, box


def test_history_records_every_change_with_old_and_new(world: World) -> None:
    a = world.member.add_annotation(world.image, world.box, box(1, 1), description="v1")
    world.admin.update_annotation(a, base_revision=1, description="v2")
    world.member.update_annotation(a, base_revision=2, vector=box(5, 5))
    world.admin.delete_annotation(a)
    history = world.member.history(a)
    assert [h.revision for h in history] == [1, 2, 3, 4]
    assert [h.action for h in history] == ["create", "update", "update", "delete"]
    users = [world.member.user.id, world.admin.user.id, world.member.user.id, world.admin.user.id]
    assert [h.user for h in history] == users
    assert history[0].old is None
    assert history[0].new["description"] == "v1"
    assert history[1].old == history[0].new
    assert (history[1].old["description"], history[1].new["description"]) == ("v1", "v2")
    assert history[2].new["vector"] == box(5, 5)
    assert history[3].new["deleted"] is True
    assert history[3].old["deleted"] is False
    positions = [h.position for h in history]
    assert positions == sorted(positions)
    assert len(set(positions)) == 4
    assert all(h.time.tzinfo is not None for h in history)


def test_versions_reproduce_the_past_exactly(world: World) -> None:
    s = world.admin
    a = s.add_annotation(world.image, world.box, box(1, 1), description="a1")
    b = s.add_annotation(world.image, world.box, box(40, 40), description="b1")
    v1 = s.create_version(world.image_set, "v1", description="first cut")
    past = s.annotations(version=v1)
    s.update_annotation(a, base_revision=1, description="a2", vector=box(9, 9))
    s.delete_annotation(b)
    c = s.add_annotation(
        world.image, world.polygon, {"x1": 1, "y1": 1, "x2": 5, "y2": 1, "x3": 3, "y3": 4}
    )
    img2 = s.add_image(world.image_set, f"late-{world.suffix}", width=100, height=100)
    d = s.add_annotation(img2, world.box, box(1, 1))
    v2 = s.create_version(world.image_set, "v2")
    assert v1.images == (world.image.id,)
    assert v2.images == (world.image.id, img2.id)
    again = s.annotations(version=v1)
    assert again.drop(columns=["verified_count"]).equals(past.drop(columns=["verified_count"]))
    assert dict(zip(again["id"], again["description"], strict=False)) == {a.id: "a1", b.id: "b1"}
    assert again.set_index("id").loc[a.id, "vector"] == box(1, 1)
    now = s.annotations(version=v2)
    assert sorted(now["id"]) == sorted([a.id, c.id, d.id])
    assert now.set_index("id").loc[a.id, "description"] == "a2"
    with_deleted = s.annotations(version=v2, deleted=None)
    assert b.id in with_deleted["id"].tolist()
    diff = s.diff(v1, v2)
    assert (diff.added, diff.removed, diff.changed) == (
        tuple(sorted([c.id, d.id])),
        (b.id,),
        (a.id,),
    )
    assert s.diff(v2).added == ()
    assert s.diff(v2).changed == ()
    s.update_annotation(d, base_revision=1, description="after v2")
    assert s.diff(v2).changed == (d.id,)
    assert [v.name for v in s.versions(world.image_set)] == ["v1", "v2"]
    assert s.version(v1.id).description == "first cut"
    with pytest.raises(Conflict):
        s.create_version(world.image_set, "v1")


def test_version_of_an_image_filter_and_type_filter(world: World) -> None:
    s = world.member
    a = s.add_annotation(world.image, world.box, box(1, 1))
    s.add_annotation(world.image, world.point, box(10, 10))
    v = s.create_version(world.image_set, "filters")
    assert s.annotations(version=v, annotation_type=world.box)["id"].tolist() == [a.id]
    assert len(s.annotations(version=v, image=world.image)) == 2


def test_artefacts_have_checksums(world: World, tmp_path) -> None:
    v = world.admin.create_version(world.image_set, "with files")
    f = tmp_path / "model.bin"
    f.write_bytes(b"weights" * 100)
    art = world.admin.add_artefact(v, "model", path=str(f))
    assert art.sha256 == hashlib.sha256(b"weights" * 100).hexdigest()
    assert art.size == 700
    metrics = world.member.add_artefact(v, "metrics", metrics={"f1": 0.81, "n": 3})
    assert metrics.metrics == {"f1": 0.81, "n": 3}
    assert len(metrics.sha256) == 64
    assert [x.name for x in world.member.version(v.id).artefacts] == ["model", "metrics"]
    with pytest.raises(BadInput, match="exactly one"):
        world.admin.add_artefact(v, "both", path=str(f), metrics={})
    with pytest.raises(BadInput):
        world.admin.add_artefact(v, "missing", path=str(tmp_path / "nope"))
    with pytest.raises(Conflict):
        world.admin.add_artefact(v, "model", metrics={})
