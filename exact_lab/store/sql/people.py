"""Users, API tokens, teams and memberships of the SqlStore."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exact_lab.entities import ApiToken, Membership, NewToken, Team, User
from exact_lab.errors import BadInput, Conflict, NotFound, PermissionDenied
from exact_lab.store.abstract import Ref, ref
from exact_lab.store.passwords import check_password, dummy_verify, hash_password, verify_password
from exact_lab.store.sql import convert
from exact_lab.store.sql import models as m
from exact_lab.store.sql.base import ADMIN, SqlBase
from exact_lab.store.validation import check_name

TOKEN_PREFIX = "pat_"  # noqa: S105 - the public token prefix, not a secret
BAD_LOGIN = "Invalid username/password."
MAX_USERNAME = 200  # the users.username column


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class PeopleMixin(SqlBase):
    """Users, tokens, teams and memberships."""

    # ------------------------------------------------------------------ users
    def users(self) -> list[User]:
        """Users sharing a team with the acting user, and the acting user."""
        with self._tx() as s:
            teams = self._my_team_ids(s)
            query = sa.select(m.UserRow).where(
                sa.or_(
                    m.UserRow.id == self._uid(s),
                    m.UserRow.id.in_(
                        sa.select(m.MembershipRow.user_id).where(m.MembershipRow.team_id.in_(teams))
                    ),
                )
            )
            return [convert.user(r) for r in s.scalars(query.order_by(m.UserRow.id))]

    def get_user(self, user: Ref | str) -> User:
        """Return a user by id or username."""
        with self._tx() as s:
            return convert.user(self._user_row(s, user))

    def create_user(self, username: str) -> User:
        """Create a user explicitly; an existing name raises Conflict."""
        name = check_name(username, "username")
        with self._tx(write=True) as s:
            if s.scalar(sa.select(m.UserRow.id).where(m.UserRow.username == name)) is not None:
                raise Conflict(f"username: a user called {name!r} exists already")
            row = m.UserRow(username=name, is_active=True)
            s.add(row)
            s.flush()
            return convert.user(row)

    def deactivate_user(self, user: Ref | str) -> User:
        """Deactivate and anonymise a user; their annotations and history stay."""
        with self._tx(write=True) as s:
            row = self._user_row(s, user)
            if row.id != self._me(s).id:
                their = set(
                    s.scalars(
                        sa.select(m.MembershipRow.team_id).where(m.MembershipRow.user_id == row.id)
                    )
                )
                if not any(self._role(s, t) == ADMIN for t in their):
                    raise PermissionDenied(
                        f"only {row.username!r} or an admin of one of their teams may deactivate "
                        f"them"
                    )
            s.execute(sa.delete(m.MembershipRow).where(m.MembershipRow.user_id == row.id))
            s.execute(sa.delete(m.TokenRow).where(m.TokenRow.user_id == row.id))
            row.username = f"deactivated-user-{row.id}"
            row.is_active = False
            row.password_hash = None
            s.flush()
            self._emit(s, "user", "deleted", ids=(row.id,))
            return convert.user(row)

    # ------------------------------------------------------------------ tokens
    def create_token(self, name: str) -> NewToken:
        """Create an API token; the plain ``pat_<prefix>.<secret>`` is returned only once."""
        label = check_name(name, "name")
        prefix = secrets.token_urlsafe(9)[:12]
        secret = secrets.token_urlsafe(32)
        with self._tx(write=True) as s:
            row = m.TokenRow(
                user_id=self._me(s).id, name=label, prefix=prefix, digest=_digest(secret)
            )
            s.add(row)
            s.flush()
            return NewToken(convert.token(row), f"{TOKEN_PREFIX}{prefix}.{secret}")

    def tokens(self) -> list[ApiToken]:
        """Return the acting user's tokens (without secrets)."""
        with self._tx() as s:
            query = sa.select(m.TokenRow).where(m.TokenRow.user_id == self._me(s).id)
            return [convert.token(r) for r in s.scalars(query.order_by(m.TokenRow.id))]

    def revoke_token(self, token: Ref) -> None:
        """Delete one of the acting user's tokens."""
        with self._tx(write=True) as s:
            row = s.get(m.TokenRow, ref(token, "token"))
            if row is None or row.user_id != self._me(s).id:
                raise NotFound(f"token {ref(token)} does not exist or is not yours")
            s.delete(row)

    def authenticate_token(self, plain: str) -> User:
        """Return the active user owning ``plain`` or raise PermissionDenied."""
        bad = PermissionDenied("invalid token: expected 'pat_<prefix>.<secret>' of a live token")
        if not isinstance(plain, str) or not plain.startswith(TOKEN_PREFIX) or "." not in plain:
            raise bad
        prefix, _, secret = plain[len(TOKEN_PREFIX) :].partition(".")
        with self._tx(write=True) as s:
            row = s.scalar(sa.select(m.TokenRow).where(m.TokenRow.prefix == prefix))
            if row is None or not hmac.compare_digest(row.digest, _digest(secret)):
                raise bad
            now = m.utcnow()
            if row.expires_at is not None and convert.utc(row.expires_at) < now:
                raise bad
            owner = s.get(m.UserRow, row.user_id)
            if owner is None or not owner.is_active:
                raise bad
            row.last_used = now
            return convert.user(owner)

    # ------------------------------------------------------------------ passwords
    def set_password(self, user: Ref | str, password: str) -> None:
        """Set the acting user's own password (hashed with scrypt)."""
        check_password(password)
        with self._tx() as s:
            me = self._me(s)
            target = self._user_row(s, user)
            if target.id != me.id:
                raise PermissionDenied(
                    f"only {target.username!r} may set their password; an administrator with the "
                    f"database URL can run `exact-lab user set-password {target.username}`"
                )
        stored = hash_password(password)  # slow on purpose: outside the write transaction
        with self._tx(write=True) as s:
            row = self._me(s)
            row.password_hash = stored

    def authenticate_password(self, username: str, password: str) -> User:
        """Return the active user ``username`` if ``password`` is theirs, else PermissionDenied."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise PermissionDenied(BAD_LOGIN)
        if "\x00" in username or len(username) > MAX_USERNAME:  # PostgreSQL refuses NUL
            dummy_verify(password)
            raise PermissionDenied(BAD_LOGIN)
        with self._tx() as s:
            row = s.scalar(sa.select(m.UserRow).where(m.UserRow.username == username))
            stored = row.password_hash if row is not None and row.is_active else None
            found = convert.user(row) if row is not None else None
        if stored is None:
            dummy_verify(password)  # as slow as a real check: timing tells nothing either
            raise PermissionDenied(BAD_LOGIN)
        if found is None or not verify_password(password, stored):
            raise PermissionDenied(BAD_LOGIN)
        return found

    # ------------------------------------------------------------------ teams
    def create_team(self, name: str) -> Team:
        """Create a team; the acting user becomes its admin."""
        label = check_name(name)
        with self._tx(write=True) as s:
            if s.scalar(sa.select(m.TeamRow.id).where(m.TeamRow.name == label)) is not None:
                raise Conflict(f"name: a team called {label!r} exists already; pick another name")
            row = m.TeamRow(name=label)
            s.add(row)
            s.flush()
            s.add(m.MembershipRow(team_id=row.id, user_id=self._me(s).id, is_admin=True))
            self._emit(s, "team", "created", team=row.id, ids=(row.id,))
            return convert.team(row)

    def teams(self) -> list[Team]:
        """Teams the acting user belongs to."""
        with self._tx() as s:
            query = sa.select(m.TeamRow).where(m.TeamRow.id.in_(self._my_team_ids(s)))
            return [convert.team(r) for r in s.scalars(query.order_by(m.TeamRow.id))]

    def team(self, team: Ref) -> Team:
        """One team the acting user belongs to."""
        with self._tx() as s:
            return convert.team(self._team(s, team))

    def update_team(self, team: Ref, *, name: str) -> Team:
        """Rename a team (admins)."""
        label = check_name(name)
        with self._tx(write=True) as s:
            row = self._team(s, team, admin=True, to="rename the team")
            clash = s.scalar(sa.select(m.TeamRow.id).where(m.TeamRow.name == label))
            if clash not in (None, row.id):
                raise Conflict(f"name: a team called {label!r} exists already")
            row.name = label
            self._emit(s, "team", "updated", team=row.id, ids=(row.id,))
            return convert.team(row)

    def delete_team(self, team: Ref) -> None:
        """Delete a team without image sets (admins)."""
        with self._tx(write=True) as s:
            row = self._team(s, team, admin=True, to="delete the team")
            if s.scalar(
                sa.select(m.ImageSetRow.id).where(m.ImageSetRow.team_id == row.id).limit(1)
            ):
                raise Conflict(f"team {row.name!r} still has image sets; delete them first")
            self._emit(s, "team", "deleted", team=row.id, ids=(row.id,))
            s.delete(row)

    # ------------------------------------------------------------------ memberships
    def memberships(self, team: Ref) -> list[Membership]:
        """Members of a team."""
        with self._tx() as s:
            row = self._team(s, team)
            return self._memberships(s, row.id)

    def _memberships(self, s: Session, team_id: int) -> list[Membership]:
        query = (
            sa.select(m.MembershipRow, m.UserRow.username)
            .join(m.UserRow, m.UserRow.id == m.MembershipRow.user_id)
            .where(m.MembershipRow.team_id == team_id)
            .order_by(m.MembershipRow.id)
        )
        return [
            Membership(r.id, r.team_id, r.user_id, name, r.is_admin) for r, name in s.execute(query)
        ]

    def _membership_of(self, s: Session, team_id: int, user_id: int) -> m.MembershipRow | None:
        return s.scalar(
            sa.select(m.MembershipRow).where(
                m.MembershipRow.team_id == team_id, m.MembershipRow.user_id == user_id
            )
        )

    def add_member(self, team: Ref, user: Ref | str, *, admin: bool = False) -> Membership:
        """Add a user (created on first use when given by name) to a team (admins)."""
        with self._tx(write=True) as s:
            row = self._team(s, team, admin=True, to="add members")
            if isinstance(user, str):
                check_name(user, "user")
            who = self._user_row(s, user, create=True)
            if not who.is_active:
                raise BadInput(f"user: {who.username!r} is deactivated", field="user")
            if self._membership_of(s, row.id, who.id) is not None:
                raise Conflict(f"user: {who.username!r} is a member of {row.name!r} already")
            member = m.MembershipRow(team_id=row.id, user_id=who.id, is_admin=bool(admin))
            s.add(member)
            s.flush()
            self._emit(s, "membership", "created", team=row.id, ids=(member.id,))
            return Membership(member.id, row.id, who.id, who.username, member.is_admin)

    def _last_admin_guard(self, s: Session, team_id: int, member: m.MembershipRow) -> None:
        if not member.is_admin:
            return
        admins = s.scalar(
            sa.select(sa.func.count())
            .select_from(m.MembershipRow)
            .where(m.MembershipRow.team_id == team_id, m.MembershipRow.is_admin.is_(True))
        )
        if admins == 1:
            raise Conflict("a team needs at least one admin; make someone else admin first")

    def set_admin(self, team: Ref, user: Ref | str, admin: bool) -> Membership:  # noqa: FBT001
        """Grant or revoke a member's admin flag (admins)."""
        with self._tx(write=True) as s:
            row = self._team(s, team, admin=True, to="change admin rights")
            who = self._user_row(s, user)
            member = self._membership_of(s, row.id, who.id)
            if member is None:
                raise NotFound(f"user: {who.username!r} is not a member of {row.name!r}")
            if not admin:
                self._last_admin_guard(s, row.id, member)
            member.is_admin = bool(admin)
            self._emit(s, "membership", "updated", team=row.id, ids=(member.id,))
            return Membership(member.id, row.id, who.id, who.username, member.is_admin)

    def remove_member(self, team: Ref, user: Ref | str) -> None:
        """Remove a member (admins; a team keeps at least one admin)."""
        with self._tx(write=True) as s:
            row = self._team(s, team, admin=True, to="remove members")
            who = self._user_row(s, user)
            member = self._membership_of(s, row.id, who.id)
            if member is None:
                raise NotFound(f"user: {who.username!r} is not a member of {row.name!r}")
            self._last_admin_guard(s, row.id, member)
            self._emit(s, "membership", "deleted", team=row.id, ids=(member.id,))
            s.delete(member)
