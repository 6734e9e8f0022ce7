"""Edits made in a viewer: each one a single store operation with its base revision, undoable.

Undo and redo are store operations too (an update back to the old state, a soft delete or a
restore), each naming the revision the editor last saw. When someone else changed the annotation
meanwhile the store raises :class:`~exact_lab.errors.Conflict`; the operation then stays where it
was, so nothing anyone else wrote is ever overwritten.

Examples
--------
>>> from exact_lab.store import connect
>>> store = connect("sqlite://", user="alice")
>>> team = store.create_team("Lab")
>>> product = store.create_product(team, "P")
>>> box = store.create_annotation_type(product, "box", vector_type=1)
>>> image = store.add_image(store.create_image_set(team, "S", products=[product]), "I",
...                         width=100, height=100)
>>> editor = Editor(store)
>>> a = editor.create(image, box, {"x1": 1, "y1": 1, "x2": 9, "y2": 9})
>>> editor.delete(a.id, base_revision=a.revision).deleted
True
>>> editor.undo().deleted
False
>>> editor.undo().deleted
True
>>> editor.redo().deleted
False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from exact_lab.entities import Annotation
from exact_lab.errors import ExactLabError
from exact_lab.store.abstract import Ref, Store, ref

__all__ = ["Editor", "Operation"]

FIELDS = ("annotation_type", "vector", "deleted", "description")


@dataclass
class Operation:
    """One edit: the annotation, its state before and after, and the revision last seen."""

    kind: str  # "create" | "update" | "delete"
    annotation: int
    before: dict[str, Any]
    after: dict[str, Any]
    revision: int
    image: int = 0


class Editor:
    """Apply edits through a store and keep unlimited undo/redo stacks of them."""

    def __init__(self, store: Store) -> None:
        """Edit through ``store`` (acting as its user)."""
        self.store = store
        self.done: list[Operation] = []
        self.undone: list[Operation] = []
        #: The newest revision this editor wrote, per annotation: the base of undo and redo.
        self.seen: dict[int, int] = {}

    def _record(self, op: Operation) -> None:
        self.seen[op.annotation] = op.revision
        self.done.append(op)
        self.undone.clear()

    def create(self, image: Ref, annotation_type: Ref, vector: Any, **fields: Any) -> Annotation:
        """Add an annotation (one operation)."""
        made = self.store.add_annotation(image, annotation_type, vector, **fields)
        self._record(
            Operation(
                "create",
                made.id,
                {"deleted": True},
                {"deleted": False},
                made.revision,
                image=made.image,
            )
        )
        return made

    def update(self, annotation: Ref, *, base_revision: int, **changes: Any) -> Annotation:
        """Change an annotation seen at ``base_revision``; Conflict when it moved on.

        A browser can send an edit before the reply to its own previous edit of the same
        annotation has arrived (relabel, then Delete at once); its base is then older than the
        revision this editor itself wrote. Revisions this editor wrote were seen by definition,
        so the newer of the two is the base: only other people's changes are conflicts.
        """
        current = self.store.annotation(annotation)
        before = {key: getattr(current, key) for key in changes}
        base = max(base_revision, self.seen.get(current.id, 0))
        changed = self.store.update_annotation(annotation, base_revision=base, **changes)
        kind = "delete" if changes.get("deleted") is True and not current.deleted else "update"
        self._record(
            Operation(
                kind, changed.id, before, dict(changes), changed.revision, image=changed.image
            )
        )
        return changed

    def delete(self, annotation: Ref, *, base_revision: int) -> Annotation:
        """Soft-delete an annotation seen at ``base_revision``."""
        return self.update(annotation, base_revision=base_revision, deleted=True)

    def _replay(self, op: Operation, state: dict[str, Any]) -> Annotation:
        base = self.seen.get(op.annotation, op.revision)
        changed = self.store.update_annotation(op.annotation, base_revision=base, **state)
        self.seen[op.annotation] = op.revision = changed.revision
        return changed

    def undo(self) -> Annotation | None:
        """Undo the newest edit; ``None`` when there is nothing to undo."""
        if not self.done:
            return None
        op = self.done[-1]
        changed = self._replay(op, op.before)  # a Conflict leaves the stacks unchanged
        self.undone.append(self.done.pop())
        return changed

    def redo(self) -> Annotation | None:
        """Redo the newest undone edit; ``None`` when there is nothing to redo."""
        if not self.undone:
            return None
        op = self.undone[-1]
        changed = self._replay(op, op.after)
        self.done.append(self.undone.pop())
        return changed

    def forget(self, annotation: Ref) -> None:
        """Drop operations on an annotation (for example after it became unreachable)."""
        ident = ref(annotation)
        self.done = [op for op in self.done if op.annotation != ident]
        self.undone = [op for op in self.undone if op.annotation != ident]


def describe(err: ExactLabError) -> dict[str, str]:
    """Return an error as the browser shows it: its kind and its message."""
    return {"error": type(err).__name__, "message": str(err)}
