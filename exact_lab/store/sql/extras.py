"""Verifications, media files, the image action log, screening and versions of the SqlStore."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.entities import (
    Artefact,
    ImageAction,
    LogAction,
    MediaFile,
    MediaFileType,
    ScreeningState,
    Verification,
    Version,
)
from exact_lab.errors import BadInput, Conflict, NotFound
from exact_lab.store.abstract import Ref, ref
from exact_lab.store.sql import convert
from exact_lab.store.sql import models as m
from exact_lab.store.sql.base import SqlBase
from exact_lab.store.validation import check_choice, check_meta, check_name, check_text

SCREENING_FIELDS = {
    "screening_tiles",
    "x_steps",
    "y_steps",
    "x_resolution",
    "y_resolution",
    "current_index",
}


class ExtrasMixin(SqlBase):
    """Verifications, media, logs, screening, versions."""

    # ------------------------------------------------------------------ verifications
    def verify(self, annotation: Ref, *, verified: bool = True) -> Verification:
        """Record (or change) the acting user's verdict on an annotation."""
        if not isinstance(verified, bool):
            raise BadInput("verified: expected True or False", field="verified")
        with self._tx(write=True) as s:
            row = self._annotation(s, annotation, lock=True)
            me = self._me(s).id
            query = sa.select(m.VerificationRow).where(
                m.VerificationRow.annotation_id == row.id, m.VerificationRow.user_id == me
            )
            verdict = s.scalar(query)
            if verdict is None:
                verdict = m.VerificationRow(annotation_id=row.id, user_id=me, verified=verified)
                s.add(verdict)
            else:
                verdict.verified = verified
                verdict.time = m.utcnow()
            s.flush()
            count = (
                sa.select(sa.func.count())
                .select_from(m.VerificationRow)
                .where(
                    m.VerificationRow.annotation_id == row.id, m.VerificationRow.verified.is_(True)
                )
            )
            s.execute(
                sa.update(m.AnnotationRow)
                .where(m.AnnotationRow.id == row.id)
                .values(verified_count=count.scalar_subquery())
                .execution_options(synchronize_session=False)
            )
            set_row = s.get_one(m.ImageSetRow, row.image_set_id)
            self._emit(
                s,
                "verification",
                "updated",
                team=set_row.team_id,
                image_set=set_row.id,
                image=row.image_id,
                ids=(row.id,),
            )
            return convert.verification(verdict)

    def verifications(self, annotation: Ref) -> list[Verification]:
        """Verdicts on an annotation."""
        with self._tx() as s:
            row = self._annotation(s, annotation)
            query = sa.select(m.VerificationRow).where(m.VerificationRow.annotation_id == row.id)
            return [
                convert.verification(v) for v in s.scalars(query.order_by(m.VerificationRow.id))
            ]

    # ------------------------------------------------------------------ media files
    def add_media_file(
        self, annotation: Ref, name: str, *, file: str, media_file_type: int = 2
    ) -> MediaFile:
        """Attach a media file (path or URL) to an annotation."""
        label = check_name(name)
        kind = check_choice(media_file_type, MediaFileType, "media_file_type")
        target = check_text(file, "file", max_length=4096)
        if not target:
            raise BadInput("file: give a path or URL", field="file")
        with self._tx(write=True) as s:
            row = self._annotation(s, annotation)
            media = m.MediaFileRow(
                annotation_id=row.id, name=label, media_file_type=kind, file=target
            )
            s.add(media)
            s.flush()
            return convert.media_file(media)

    def media_files(self, annotation: Ref) -> list[MediaFile]:
        """Media files of an annotation."""
        with self._tx() as s:
            row = self._annotation(s, annotation)
            query = sa.select(m.MediaFileRow).where(m.MediaFileRow.annotation_id == row.id)
            return [convert.media_file(r) for r in s.scalars(query.order_by(m.MediaFileRow.id))]

    def media_file(self, media_file: Ref) -> MediaFile:
        """One media file record (NotFound when its annotation is not visible)."""
        hidden = NotFound(f"media file {ref(media_file)} does not exist or is not visible")
        with self._tx() as s:
            media = s.get(m.MediaFileRow, ref(media_file, "media_file"))
            if media is None:
                raise hidden
            try:
                self._annotation(s, media.annotation_id)
            except NotFound:
                raise hidden from None
            return convert.media_file(media)

    def delete_media_file(self, media_file: Ref) -> None:
        """Remove a media file record."""
        with self._tx(write=True) as s:
            media = s.get(m.MediaFileRow, ref(media_file, "media_file"))
            if media is None:
                raise NotFound(f"media file {ref(media_file)} does not exist or is not visible")
            try:
                self._annotation(s, media.annotation_id)
            except NotFound:
                raise NotFound(f"media file {media.id} does not exist or is not visible") from None
            s.delete(media)

    # ------------------------------------------------------------------ image action log
    def log_image_action(self, image: Ref, action: int, *, ip: str | None = None) -> ImageAction:
        """Append to the image action log (1 OPEN, 2 CLOSED)."""
        code = check_choice(action, LogAction, "action")
        address = None if ip is None else check_text(ip, "ip", max_length=64)
        with self._tx(write=True) as s:
            row = self._image(s, image)
            entry = m.ImageActionRow(
                image_id=row.id, user_id=self._me(s).id, action=code, ip=address
            )
            s.add(entry)
            s.flush()
            return convert.image_action(entry)

    def image_actions(self, image: Ref) -> list[ImageAction]:
        """Return the action log of an image, oldest first."""
        with self._tx() as s:
            row = self._image(s, image)
            query = sa.select(m.ImageActionRow).where(m.ImageActionRow.image_id == row.id)
            return [convert.image_action(r) for r in s.scalars(query.order_by(m.ImageActionRow.id))]

    # ------------------------------------------------------------------ screening
    def save_screening(self, image: Ref, **fields: Any) -> ScreeningState:
        """Create or update the acting user's screening state on an image."""
        extra = sorted(set(fields) - SCREENING_FIELDS)
        if extra:
            raise BadInput(
                f"{extra[0]}: unknown field; allowed {sorted(SCREENING_FIELDS)}", field=extra[0]
            )
        for key, value in fields.items():
            if key == "screening_tiles":
                if not isinstance(value, dict):
                    raise BadInput("screening_tiles: expected a dict", field=key)
                check_meta(value, key)
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise BadInput(f"{key}: expected an integer >= 0", field=key)
        with self._tx(write=True) as s:
            row = self._image(s, image)
            me = self._me(s).id
            query = sa.select(m.ScreeningRow).where(
                m.ScreeningRow.image_id == row.id, m.ScreeningRow.user_id == me
            )
            state = s.scalar(query)
            if state is None:
                state = m.ScreeningRow(image_id=row.id, user_id=me, screening_tiles={})
                s.add(state)
            for key, value in fields.items():
                setattr(state, key, value)
            if "current_index" in fields and "screening_tiles" not in fields:
                tiles = dict(state.screening_tiles or {})
                key = str(fields["current_index"])
                if key in tiles and isinstance(tiles[key], dict):
                    tiles[key] = {**tiles[key], "Screened": True}
                    state.screening_tiles = tiles
            s.flush()
            return convert.screening(state)

    def screening(self, image: Ref, user: Ref | str | None = None) -> ScreeningState | None:
        """Return a user's (default: the acting user's) screening state on an image."""
        with self._tx() as s:
            row = self._image(s, image)
            who = self._me(s).id if user is None else self._user_row(s, user).id
            query = sa.select(m.ScreeningRow).where(
                m.ScreeningRow.image_id == row.id, m.ScreeningRow.user_id == who
            )
            state = s.scalar(query)
            return None if state is None else convert.screening(state)

    # ------------------------------------------------------------------ versions
    def _version_entity(self, s: Session, row: m.VersionRow) -> Version:
        artefacts = s.scalars(sa.select(m.ArtefactRow).where(m.ArtefactRow.version_id == row.id))
        return convert.version(row, list(artefacts))

    def create_version(self, image_set: Ref, name: str, *, description: str = "") -> Version:
        """Freeze the set's current state as a version: O(1) in the number of annotations."""
        label = check_name(name)
        text = check_text(description, "description", max_length=10_000)
        with self._tx(write=True) as s:
            set_row = self._set(s, image_set)
            clash = s.scalar(
                sa.select(m.VersionRow.id).where(
                    m.VersionRow.image_set_id == set_row.id, m.VersionRow.name == label
                )
            )
            if clash is not None:
                raise Conflict(f"name: set {set_row.name!r} has a version {label!r} already")
            position = self._committed_position(s)
            images = list(
                s.scalars(
                    sa.select(m.ImageRow.id)
                    .where(m.ImageRow.image_set_id == set_row.id)
                    .order_by(m.ImageRow.id)
                )
            )
            row = m.VersionRow(
                image_set_id=set_row.id,
                name=label,
                description=text,
                position=int(position or 0),
                images=images,
                creator_id=self._uid(),
            )
            s.add(row)
            s.flush()
            self._emit(
                s, "version", "created", team=set_row.team_id, image_set=set_row.id, ids=(row.id,)
            )
            return convert.version(row, [])

    def versions(self, image_set: Ref) -> list[Version]:
        """Versions of a set, oldest first."""
        with self._tx() as s:
            set_row = self._set(s, image_set)
            query = sa.select(m.VersionRow).where(m.VersionRow.image_set_id == set_row.id)
            return [self._version_entity(s, r) for r in s.scalars(query.order_by(m.VersionRow.id))]

    def version(self, version: Ref) -> Version:
        """One version."""
        with self._tx() as s:
            return self._version_entity(s, self._version_row(s, version))

    def add_artefact(
        self, version: Ref, name: str, *, path: str | None = None, metrics: Any = None
    ) -> Artefact:
        """Attach a file (SHA-256 computed now) or a metrics JSON to a version."""
        label = check_name(name)
        if (path is None) == (metrics is None):
            raise BadInput("path: give exactly one of path= or metrics=", field="path")
        if path is not None:
            file = Path(path)
            if not file.is_file():
                raise BadInput(f"path: {path} is not a readable file", field="path")
            digest = hashlib.sha256()
            with file.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            sha, size, stored = digest.hexdigest(), file.stat().st_size, str(file)
        else:
            metrics = check_meta(metrics, "metrics")
            text = json.dumps(metrics, sort_keys=True).encode()
            sha, size, stored = hashlib.sha256(text).hexdigest(), len(text), None
        with self._tx(write=True) as s:
            row = self._version_row(s, version)
            clash = s.scalar(
                sa.select(m.ArtefactRow.id).where(
                    m.ArtefactRow.version_id == row.id, m.ArtefactRow.name == label
                )
            )
            if clash is not None:
                raise Conflict(f"name: version {row.name!r} has an artefact {label!r} already")
            artefact = m.ArtefactRow(
                version_id=row.id, name=label, path=stored, metrics=metrics, sha256=sha, size=size
            )
            s.add(artefact)
            s.flush()
            return convert.artefact(artefact)
