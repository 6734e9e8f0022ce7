"""The viewer's editor: bases of consecutive edits, and real conflicts (on a real SQLite store)."""

from __future__ import annotations

from pathlib import Path

import pytest

from exact_lab.errors import Conflict
from exact_lab.store import connect
from exact_lab.widgets._edits import Editor


@pytest.fixture
def setup(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'edits.sqlite'}"
    alice = connect(url, user="alice")
    team = alice.create_team("Lab")
    alice.add_member(team, "bob")
    product = alice.create_product(team, "P")
    box = alice.create_annotation_type(product, "box", vector_type=1)
    other = alice.create_annotation_type(product, "other", vector_type=1)
    image_set = alice.create_image_set(team, "S", products=[product])
    image = alice.add_image(image_set, "I", width=100, height=100)
    yield alice, connect(url, user="bob"), image, box, other
    alice.close()


def test_an_edit_based_on_the_editors_own_previous_revision_is_no_conflict(setup) -> None:
    alice, _bob, image, box, other = setup
    editor = Editor(alice)
    made = editor.create(image, box, {"x1": 1, "y1": 1, "x2": 9, "y2": 9})
    editor.update(made.id, base_revision=made.revision, annotation_type=other.id)
    # the browser has not yet received the reply to the relabel: it still sends the old base
    deleted = editor.delete(made.id, base_revision=made.revision)
    assert deleted.deleted
    assert deleted.annotation_type == other.id
    assert editor.undo().deleted is False  # undo restores the store, one operation at a time


def test_someone_elses_change_is_still_a_conflict(setup) -> None:
    alice, bob, image, box, _other = setup
    editor = Editor(alice)
    made = editor.create(image, box, {"x1": 1, "y1": 1, "x2": 9, "y2": 9})
    bob.update_annotation(made.id, base_revision=made.revision, description="bob was here")
    with pytest.raises(Conflict):
        editor.delete(made.id, base_revision=made.revision)
    current = alice.annotation(made.id)
    assert not current.deleted
    assert current.description == "bob was here"
