"""Server-wide state of the extension: the store, per-user views of it, tiles, an executor.

One :class:`ExactState` lives in the tornado settings under ``"exact_lab_state"``. Handlers never
open stores themselves: they ask the state for the store acting as the request's user.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from exact_lab.entities import Image
from exact_lab.errors import NotFound
from exact_lab.server_ext._framecache import FrameCache
from exact_lab.server_ext._permits import Permits
from exact_lab.store import Store, acting_user, connect
from exact_lab.tiles import TileService

__all__ = ["ExactState", "get_state"]

SETTINGS_KEY = "exact_lab_state"
SERVICE_USER = "exact-lab-server"
_MEMO_KEY = secrets.token_bytes(32)  # keys remembered logins; never leaves the process


@dataclass
class ExactState:
    """Everything the handlers share; built once by ``ExactLabApp.initialize_settings``.

    Attributes
    ----------
    store_url
        Where the store lives (never shown to clients).
    upload_dir
        Folder receiving uploaded slides (one sub-folder per image set).
    allowed_roots
        Folders from which server-side paths may be registered (uploads are always allowed).
    tiles
        The tile service; it accepts only files under ``allowed_roots`` and ``upload_dir``.
    """

    store_url: str
    upload_dir: Path
    allowed_roots: tuple[Path, ...]
    tiles: TileService
    executor: ThreadPoolExecutor
    local_user: str = ""
    media_max_bytes: int = 32 * 1024 * 1024
    auth_ttl: float = 30.0
    permission_ttl: float = 1.0
    permits: Permits = field(default_factory=lambda: Permits(1.0))
    _root: Store | None = None
    _users: OrderedDict[str, Store] = field(default_factory=OrderedDict)
    _paths: dict[int, tuple[float, str]] = field(default_factory=dict)
    _tokens: dict[str, tuple[float, str]] = field(default_factory=dict)
    frames: FrameCache = field(default_factory=FrameCache)
    #: Password checks (scrypt, tens of ms each) run here, apart from tiles and REST work, so a
    #: flood of guessed passwords slows down logins only.
    login_executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="exact-login")
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def create(
        cls,
        store_url: str,
        *,
        upload_dir: Path,
        allowed_roots: tuple[Path, ...],
        workers: int = 8,
        tile_size: int = 256,
        overlap: int = 0,
        cache_mb: float = 256,
        local_user: str = "",
        permission_ttl: float = 1.0,
    ) -> ExactState:
        """Build the state; the store itself opens lazily on first use."""
        roots = (upload_dir, *allowed_roots)
        tiles = TileService(
            allowed_roots=roots, tile_size=tile_size, overlap=overlap, cache_mb=cache_mb
        )
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="exact-lab")
        state = cls(store_url, upload_dir, allowed_roots, tiles, executor)
        state.local_user = local_user or acting_user()
        state.permission_ttl = permission_ttl
        state.permits = Permits(permission_ttl)
        return state

    # ------------------------------------------------------------------ stores
    @property
    def root(self) -> Store:
        """The store acting as the server's own service user (never a team member)."""
        if self._root is not None:  # lock-free hot path
            return self._root
        with self._lock:
            if self._root is None:
                self._root = connect(self.store_url, user=SERVICE_USER)
            return self._root

    def store_for(self, username: str) -> Store:
        """Return the store acting as ``username`` (cached; at most 1024 users are kept)."""
        cached = self._users.get(username)  # lock-free hot path (an atomic dict read)
        if cached is not None:
            return cached
        store = self.root.as_user(username)
        with self._lock:
            self._users[username] = store
            while len(self._users) > 1024:  # noqa: PLR2004 - bound the cache
                self._users.popitem(last=False)
        return store

    def remembered_token(self, plain: str) -> str | None:
        """Return the username of a token checked less than ``auth_ttl`` seconds ago."""
        memo = self._tokens.get(plain)  # lock-free: dict reads are atomic, the lock convoys
        if memo is not None and time.monotonic() - memo[0] < self.auth_ttl:
            return memo[1]
        return None

    def user_of_token(self, plain: str) -> str:
        """Username owning a personal access token (remembered ``auth_ttl`` seconds)."""
        now = time.monotonic()
        remembered = self.remembered_token(plain)
        if remembered is not None:
            return remembered
        username = self.root.authenticate_token(plain).username
        with self._lock:
            if len(self._tokens) > 4096:  # noqa: PLR2004 - bound the memo
                self._tokens.clear()
            self._tokens[plain] = (now, username)
        return username

    def remembered_login(self, username: str, password: str) -> bool:
        """Tell whether this username and password passed the check less than ``auth_ttl`` ago."""
        memo = self._tokens.get(_login_key(username, password))
        fresh = memo is not None and time.monotonic() - memo[0] < self.auth_ttl
        return fresh and memo is not None and memo[1] == username

    def check_password(self, username: str, password: str) -> str:
        """Return ``username`` if ``password`` is theirs (remembered ``auth_ttl`` seconds).

        Only a digest of the pair is remembered, never the password; refusals are not.
        """
        now = time.monotonic()
        if self.remembered_login(username, password):
            return username
        name = self.root.authenticate_password(username, password).username
        with self._lock:
            if len(self._tokens) > 4096:  # noqa: PLR2004 - bound the memo
                self._tokens.clear()
            self._tokens[_login_key(username, password)] = (now, name)
        return name

    def forget_tokens(self) -> None:
        """Drop every remembered token and login (after a revocation or new password)."""
        with self._lock:
            self._tokens.clear()

    # ------------------------------------------------------------------ image files
    def image_path(self, store: Store, image: Image) -> str:
        """Return the path of ``image``'s file (``image`` as ``store``'s user just read it).

        Reading the image as the user is the permission check. The store reveals paths to team
        admins only; for members the path is looked up as one of the team's admins.
        """
        image_id = image.id
        if image.path:
            self._remember(image_id, image.path)
            return image.path
        now = time.monotonic()
        memo = self._paths.get(image_id)
        if memo is not None and now - memo[0] < self.auth_ttl:
            return memo[1]
        team = store.image_set(image.image_set).team
        for member in store.memberships(team):
            if member.is_admin:
                path = self.store_for(member.username).image(image_id).path
                if path:
                    self._remember(image_id, path)
                    return path
        raise NotFound(f"image {image_id} has no file on this server")

    def _remember(self, image_id: int, path: str) -> None:
        with self._lock:
            if len(self._paths) > 65536:  # noqa: PLR2004 - bound the memo
                self._paths.clear()
            self._paths[image_id] = (time.monotonic(), path)

    def close(self) -> None:
        """Stop the executor, close slides and stores."""
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.login_executor.shutdown(wait=False, cancel_futures=True)
        self.frames.close()
        self.permits.close()
        self.tiles.close()
        with self._lock:
            root, self._root = self._root, None
            self._users.clear()
        if root is not None:
            root.close()


def _login_key(username: str, password: str) -> str:
    raw = f"{username}\0{password}".encode("utf-8", "surrogatepass")
    return "login:" + hmac.new(_MEMO_KEY, raw, hashlib.sha256).hexdigest()


def get_state(settings: dict[str, Any]) -> ExactState:
    """Return the :class:`ExactState` stored in tornado's ``settings``."""
    state = settings[SETTINGS_KEY]
    assert isinstance(state, ExactState)
    return state
