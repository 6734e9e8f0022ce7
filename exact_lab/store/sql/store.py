"""SqlStore: the store contract on SQLite or PostgreSQL.

Examples
--------
>>> store = SqlStore.open("sqlite://", user="alice")
>>> store.create_team("Histology").name
'Histology'
>>> store.as_user("bob").teams()
[]
>>> store.close()
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from exact_lab.entities import Change, CollaborationType
from exact_lab.store.abstract import Ref, Subscription, ref
from exact_lab.store.dbutil import check_revision
from exact_lab.store.sql import models as m
from exact_lab.store.sql.annotations import AnnotationWriteMixin
from exact_lab.store.sql.base import ADMIN, Shared
from exact_lab.store.sql.catalog import CatalogMixin
from exact_lab.store.sql.density import DensityMixin
from exact_lab.store.sql.engine import make_engine
from exact_lab.store.sql.extras import ExtrasMixin
from exact_lab.store.sql.feed import PgListener
from exact_lab.store.sql.people import PeopleMixin
from exact_lab.store.sql.reads import ReadMixin
from exact_lab.store.sql.templates import TemplatesMixin
from exact_lab.store.validation import check_name

__all__ = ["SqlStore"]


class _SqlSubscription(Subscription):
    def __init__(self, store: SqlStore, handle: int) -> None:
        self._store = store
        self._handle: int | None = handle

    def close(self) -> None:
        if self._handle is not None:
            self._store._unsubscribe(self._handle)  # noqa: SLF001
            self._handle = None


class SqlStore(
    PeopleMixin,
    TemplatesMixin,
    CatalogMixin,
    AnnotationWriteMixin,
    ReadMixin,
    DensityMixin,
    ExtrasMixin,
):
    """The store on a SQL database; open it with :func:`exact_lab.store.connect`.

    A direct database URL is the *trusted-lab* mode: whoever holds it could also edit the
    database by hand, so the acting user is taken on trust. The secure path is the HTTP store with
    a token, where the server decides who you are.
    """

    @classmethod
    def open(cls, url: str, *, user: str) -> SqlStore:
        """Open (and on an empty database, create) the store at ``url`` acting as ``user``."""
        engine = make_engine(url)
        try:
            check_revision(engine)
        except Exception:
            engine.dispose()
            raise
        store = cls(Shared(engine), user)
        store._bootstrap_user()
        return store

    def __repr__(self) -> str:
        """Show the database (without password) and the acting user."""
        url = self._shared.engine.url.render_as_string(hide_password=True)
        return f"SqlStore({url!r}, user={self._username!r})"

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine (for benchmarks and migrations; not for data access)."""
        return self._shared.engine

    def as_user(self, username: str) -> SqlStore:
        """Return a store on this connection pool acting as ``username`` (created if new)."""
        other = type(self)(self._shared, check_name(username, "username"))
        other._bootstrap_user()  # noqa: SLF001 - same class
        return other

    # ------------------------------------------------------------------ change feed
    def _visible(self, change: Change, image_set: int | None) -> bool:
        if image_set is not None and change.image_set != image_set:
            return False
        if change.team is None:
            return change.user == self._user_id
        with self._tx() as s:
            role = self._role(s, change.team)
            if role is None:
                return False
            if change.image_set is None or role == ADMIN:
                return True
            set_row = s.get(m.ImageSetRow, change.image_set)
            if set_row is None or set_row.collaboration_type != CollaborationType.COMPETITIVE:
                return True
            return change.user == self._user_id or change.kind not in {"annotation", "verification"}

    def subscribe(
        self, callback: Callable[[Change], None], *, image_set: Ref | None = None
    ) -> Subscription:
        """Call ``callback(change)`` in a background thread for every visible committed change.

        On SQLite only changes made in this process arrive; on PostgreSQL changes of every
        process arrive (LISTEN/NOTIFY).
        """
        set_id = None if image_set is None else ref(image_set, "image_set")
        if set_id is not None:
            self.image_set(set_id)  # raises NotFound when not visible

        def deliver(change: Change) -> None:
            if self._visible(change, set_id):
                callback(change)

        return self._add_subscriber(deliver)

    def subscribe_unfiltered(self, callback: Callable[[Change], None]) -> Subscription:
        """Call ``callback(change)`` for every committed change, whoever may see it.

        For a server's own caches (permission checks): a member removed from a team can no
        longer see the change that removed them, yet the server must forget their grants.
        Changes carry kinds and ids, never annotation content.
        """
        return self._add_subscriber(callback)

    def access_epoch(self) -> int:
        """Return a counter this process bumps when it commits a change of who may see what.

        Unlike the change feed, it moves before the writing call returns, so a cache of access
        checks in the same process can never serve a grant that such a write revoked.
        """
        return self._shared.bus.access_epoch

    def _add_subscriber(self, deliver: Callable[[Change], None]) -> Subscription:
        shared = self._shared
        with shared.lock:
            handle = shared.bus.add(deliver)
            if shared.postgres and shared.bus.listener is None:
                conninfo = shared.engine.url.set(drivername="postgresql")
                shared.bus.listener = PgListener(
                    conninfo.render_as_string(hide_password=False), shared.bus
                )
        return _SqlSubscription(self, handle)

    def _unsubscribe(self, handle: int) -> None:
        shared = self._shared
        with shared.lock:
            shared.bus.remove(handle)
            if shared.bus.empty and shared.bus.listener is not None:
                shared.bus.listener.stop()
                shared.bus.listener = None

    def wait_for_feed(self) -> None:
        """Block until changes published so far have been delivered (tests, notebooks)."""
        self._shared.bus.drain()

    def close(self) -> None:
        """Dispose of the connection pool (stores made by ``as_user`` share it)."""
        self._shared.engine.dispose()
