"""Plumbing shared by the SqlStore parts: transactions, the acting user, access checks.

``_tx()`` owns commit, rollback and error translation (an ``IntegrityError`` becomes
:class:`~exact_lab.errors.Conflict`); changes recorded with ``_emit()`` are published only once the
transaction has committed. Access helpers load a row *and* check the acting user's rights; for an
object the user may not see they raise the same :class:`~exact_lab.errors.NotFound` as for a
missing one, so outsiders learn nothing about existence.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from exact_lab.entities import ACCESS_KINDS, Change, CollaborationType, User
from exact_lab.errors import Conflict, NotFound, PermissionDenied
from exact_lab.store.abstract import Ref, Store, ref
from exact_lab.store.sql import convert
from exact_lab.store.sql import models as m
from exact_lab.store.sql.engine import WRITE_FLAG, is_postgres
from exact_lab.store.sql.feed import CHANNEL, Bus, bus_for, encode

ADMIN = "admin"
MEMBER = "member"


class Shared:
    """State shared by the stores of one database: engine, bus, listener."""

    def __init__(self, engine: sa.Engine) -> None:
        """Wrap an engine whose schema has been checked."""
        self.engine = engine
        self.postgres = is_postgres(engine)
        self.key = engine.url.render_as_string(hide_password=False)
        self.bus: Bus = bus_for(self.key)
        self.lock = threading.Lock()


class SqlBase(Store):
    """Transactions, acting user and access checks (no public API of its own)."""

    def __init__(self, shared: Shared, username: str) -> None:
        """Act as ``username`` on the database of ``shared``."""
        self._shared = shared
        self._username = username
        self._user_id: int | None = None

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _tx(self, *, write: bool = False) -> Iterator[Session]:
        conn = self._shared.engine.connect()
        if write:
            conn.info[WRITE_FLAG] = True
        session = Session(bind=conn, expire_on_commit=False, autoflush=True)
        changes: list[Change] = []
        session.info["changes"] = changes
        try:
            yield session
            if self._shared.postgres:
                for change in changes:
                    session.execute(
                        sa.text("SELECT pg_notify(:c, :p)"), {"c": CHANNEL, "p": encode(change)}
                    )
            session.commit()
        except sa.exc.IntegrityError as err:
            session.rollback()
            raise Conflict(
                f"the change breaks a uniqueness or reference rule: {err.orig}"
            ) from None
        except BaseException:
            session.rollback()
            raise
        finally:
            conn.info.pop(WRITE_FLAG, None)
            session.close()
            conn.close()
        if any(change.kind in ACCESS_KINDS for change in changes):
            self._shared.bus.access_epoch += 1
        if not self._shared.postgres:
            for change in changes:
                self._shared.bus.publish(change)

    def _emit(self, s: Session, kind: str, action: str, **fields: Any) -> None:
        ids = tuple(fields.pop("ids", ()))
        change = Change(
            kind=kind,
            action=action,
            team=fields.get("team"),
            image_set=fields.get("image_set"),
            image=fields.get("image"),
            ids=ids,
            count=fields.get("count", len(ids)),
            user=self._uid(s),
            position=fields.get("position"),
        )
        s.info["changes"].append(change)

    # ------------------------------------------------------------------ acting user
    def _bootstrap_user(self) -> None:
        """Create the acting user on first use (own transaction, before any other)."""
        with self._tx(write=True) as s:
            self._user_id = self._ensure_user(s, self._username).id

    def _uid(self, _s: Session | None = None) -> int:
        if self._user_id is None:
            self._bootstrap_user()
        assert self._user_id is not None
        return self._user_id

    def _me(self, s: Session) -> m.UserRow:
        row = s.get(m.UserRow, self._uid(s))
        if row is None or not row.is_active:
            raise PermissionDenied(
                f"user {self._username!r} is deactivated; ask a team admin to use another account"
            )
        return row

    def _ensure_user(self, s: Session, username: str) -> m.UserRow:
        query = sa.select(m.UserRow).where(m.UserRow.username == username)
        row = s.scalar(query)
        if row is None:
            s.execute(
                _insert_ignore(self._shared.postgres, m.UserRow.__table__),
                {"username": username, "is_active": True, "created_at": m.utcnow()},
            )
            row = s.scalar(query)
        if row is None:  # pragma: no cover - only if the insert vanished
            raise NotFound(f"user {username!r} could not be created")
        return row

    @property
    def user(self) -> User:
        """The acting user (created on first use)."""
        with self._tx() as s:
            return convert.user(self._me(s))

    def _user_row(self, s: Session, who: Ref | str, *, create: bool = False) -> m.UserRow:
        if isinstance(who, str):
            if create:
                return self._ensure_user(s, who)
            row = s.scalar(sa.select(m.UserRow).where(m.UserRow.username == who))
        else:
            row = s.get(m.UserRow, ref(who, "user"))
        if row is None:
            raise NotFound(f"user {who!r} does not exist")
        return row

    # ------------------------------------------------------------------ access checks
    def _role(self, s: Session, team_id: int) -> str | None:
        roles: dict[int, str | None] = s.info.setdefault("roles", {})
        if team_id not in roles:
            roles[team_id] = self._query_role(s, team_id)
        return roles[team_id]

    def _query_role(self, s: Session, team_id: int) -> str | None:
        admin = s.scalar(
            sa.select(m.MembershipRow.is_admin).where(
                m.MembershipRow.team_id == team_id, m.MembershipRow.user_id == self._me(s).id
            )
        )
        if admin is None:
            return None
        return ADMIN if admin else MEMBER

    def _team(self, s: Session, team: Ref, *, admin: bool = False, to: str = "") -> m.TeamRow:
        team_id = ref(team, "team")
        row = s.get(m.TeamRow, team_id)
        role = None if row is None else self._role(s, team_id)
        if row is None or role is None:
            raise NotFound(f"team {team_id} does not exist or you ({self._username}) are not in it")
        if admin and role != ADMIN:
            raise PermissionDenied(
                f"only admins of team {row.name!r} may {to or 'do this'}; ask one of them"
            )
        return row

    def _set(
        self, s: Session, image_set: Ref, *, admin: bool = False, to: str = ""
    ) -> m.ImageSetRow:
        set_id = ref(image_set, "image_set")
        row = s.get(m.ImageSetRow, set_id)
        if row is None or self._role(s, row.team_id) is None:
            raise NotFound(
                f"image set {set_id} does not exist or you ({self._username}) are not in its team"
            )
        if admin:
            self._team(s, row.team_id, admin=True, to=to)
        return row

    def _image(self, s: Session, image: Ref, *, admin: bool = False, to: str = "") -> m.ImageRow:
        image_id = ref(image, "image")
        row = s.get(m.ImageRow, image_id)
        if row is None:
            raise NotFound(
                f"image {image_id} does not exist or you ({self._username}) are not in its team"
            )
        try:
            self._set(s, row.image_set_id, admin=admin, to=to)
        except NotFound:
            raise NotFound(
                f"image {image_id} does not exist or you ({self._username}) are not in its team"
            ) from None
        return row

    def _image_access(self, s: Session, image: Ref) -> tuple[int, int | None]:
        """Check read access to an image in one query; return (image id, blind user or None)."""
        image_id = ref(image, "image")
        me = self._uid(s)
        query = (
            sa.select(
                m.ImageSetRow.collaboration_type,
                m.MembershipRow.is_admin,
                m.UserRow.is_active,
            )
            .select_from(m.ImageRow)
            .join(m.ImageSetRow, m.ImageSetRow.id == m.ImageRow.image_set_id)
            .join(m.UserRow, m.UserRow.id == me)
            .outerjoin(
                m.MembershipRow,
                (m.MembershipRow.team_id == m.ImageSetRow.team_id)
                & (m.MembershipRow.user_id == me),
            )
            .where(m.ImageRow.id == image_id)
        )
        found = s.execute(query).first()
        if found is not None and not found.is_active:
            self._me(s)  # raises: deactivated
        if found is None or found.is_admin is None:
            raise NotFound(
                f"image {image_id} does not exist or you ({self._username}) are not in its team"
            )
        blind = found.collaboration_type == CollaborationType.COMPETITIVE and not found.is_admin
        return image_id, me if blind else None

    def _blind_filter(self, s: Session, set_row: m.ImageSetRow) -> int | None:
        """Return the user a competitive set restricts the acting user to (None: nobody)."""
        if set_row.collaboration_type != CollaborationType.COMPETITIVE:
            return None
        if self._role(s, set_row.team_id) == ADMIN:
            return None
        return self._me(s).id

    def _annotation(self, s: Session, annotation: Ref, *, lock: bool = False) -> m.AnnotationRow:
        ann_id = ref(annotation, "annotation")
        query = sa.select(m.AnnotationRow).where(m.AnnotationRow.id == ann_id)
        if lock and self._shared.postgres:
            query = query.with_for_update()
        row = s.scalar(query)
        missing = NotFound(
            f"annotation {ann_id} does not exist or you ({self._username}) may not see it"
        )
        if row is None:
            raise missing
        set_row = s.get(m.ImageSetRow, row.image_set_id)
        if set_row is None or self._role(s, set_row.team_id) is None:
            raise missing
        blind = self._blind_filter(s, set_row)
        if blind is not None and row.user_id != blind:
            raise missing
        return row

    def _product(
        self, s: Session, product: Ref, *, admin: bool = False, to: str = ""
    ) -> m.ProductRow:
        product_id = ref(product, "product")
        row = s.get(m.ProductRow, product_id)
        if row is None or self._role(s, row.team_id) is None:
            raise NotFound(
                f"product {product_id} does not exist or you ({self._username}) are not in its team"
            )
        if admin:
            self._team(s, row.team_id, admin=True, to=to)
        return row

    def _type(
        self, s: Session, annotation_type: Ref, *, admin: bool = False, to: str = ""
    ) -> tuple[m.AnnotationTypeRow, m.ProductRow]:
        type_id = ref(annotation_type, "annotation_type")
        row = s.get(m.AnnotationTypeRow, type_id)
        message = (
            f"annotation type {type_id} does not exist or you ({self._username}) "
            f"are not in its team"
        )
        if row is None:
            raise NotFound(message)
        try:
            product = self._product(s, row.product_id, admin=admin, to=to)
        except NotFound:
            raise NotFound(message) from None
        return row, product

    def _version_row(self, s: Session, version: Ref) -> m.VersionRow:
        version_id = ref(version, "version")
        row = s.get(m.VersionRow, version_id)
        message = (
            f"version {version_id} does not exist or you ({self._username}) are not in its team"
        )
        if row is None:
            raise NotFound(message)
        try:
            self._set(s, row.image_set_id)
        except NotFound:
            raise NotFound(message) from None
        return row

    def _next_position(self, s: Session) -> int:
        """Return the history position of this transaction's writes (one per transaction)."""
        if "position" not in s.info:
            if self._shared.postgres:
                # writers hold this lock until commit; create_version waits for them (SHARE)
                s.execute(sa.text("LOCK TABLE annotations IN ROW EXCLUSIVE MODE"))
                value = s.scalar(sa.text("SELECT nextval('history_position_seq')"))
            else:
                value = s.scalar(
                    sa.text("UPDATE history_clock SET position = position + 1 RETURNING position")
                )
            s.info["position"] = int(value or 0)
        return int(s.info["position"])

    def _committed_position(self, s: Session) -> int:
        """Return the newest history position of committed writes (waits for writers in flight)."""
        if self._shared.postgres:
            s.execute(sa.text("LOCK TABLE annotations IN SHARE MODE"))
            last, called = s.execute(
                sa.text("SELECT last_value, is_called FROM history_position_seq")
            ).one()
            return int(last) if called else 0
        return int(s.scalar(sa.text("SELECT position FROM history_clock")) or 0)

    def _unique(  # noqa: PLR0917 - private helper
        self, s: Session, model: Any, scope: Any, name: str, what: str, own: int = 0
    ) -> None:
        clash = s.scalar(sa.select(model.id).where(scope, model.name == name))
        if clash is not None and clash != own:
            raise Conflict(f"name: a {what} called {name!r} exists already here; pick another")

    def _my_team_ids(self, s: Session) -> list[int]:
        return list(
            s.scalars(
                sa.select(m.MembershipRow.team_id).where(m.MembershipRow.user_id == self._me(s).id)
            )
        )


def _insert_ignore(postgres: bool, table: Any) -> Any:  # noqa: FBT001
    if postgres:
        return pg_insert(table).on_conflict_do_nothing()
    return sqlite_insert(table).on_conflict_do_nothing()
