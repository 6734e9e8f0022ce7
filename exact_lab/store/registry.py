"""``connect()``: choose the store implementation by the URL's scheme.

``sqlite`` and ``postgresql`` URLs open a :class:`~exact_lab.store.sql.store.SqlStore`;
``http(s)`` URLs (the server's exact_lab root, e.g. ``https://hub.example/services/exact``) open a
:class:`~exact_lab.store.rest.RestStore` with a personal access token (``token=`` or
``$EXACT_LAB_TOKEN``). Other packages may add schemes with :func:`register`.

The acting user defaults to ``$JUPYTERHUB_USER`` and else to the operating-system user. A direct
database URL is the **trusted-lab** mode: anyone holding it could edit the database by hand, so
the user name is taken on trust. The **secure** path is the HTTP store with a token, where the
server decides who you are and kernels never see database credentials.

Examples
--------
>>> store = connect("sqlite://", user="alice")
>>> store.user.username
'alice'
>>> connect("https://hub.example/services/exact")
Traceback (most recent call last):
...
exact_lab.errors.BadInput: token: connecting to https://hub.example/services/exact needs ...
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from urllib.parse import urlsplit

from exact_lab.errors import BadInput
from exact_lab.paths import data_dir, default_store_url
from exact_lab.store.abstract import Store

__all__ = ["acting_user", "connect", "register"]

Builder = Callable[..., Store]  # builder(url, user, *, token=None) -> Store
_REGISTRY: dict[str, Builder] = {}


def register(scheme: str, builder: Builder) -> None:
    """Let ``connect()`` open URLs of ``scheme`` with ``builder(url, user)``.

    ``connect(..., token=...)`` calls ``builder(url, user, token=token)``.
    """
    _REGISTRY[scheme.lower()] = builder


def _sql(url: str, user: str, *, token: str | None = None) -> Store:
    if token is not None:
        raise BadInput("token: a database URL takes no token; tokens are for http(s) URLs")
    from exact_lab.store.sql.store import SqlStore  # noqa: PLC0415 - import SQL only when used

    if url.startswith("sqlite:") and not url.startswith("sqlite://"):
        raise BadInput(f"url: write sqlite:///path/to/file.sqlite, not {url!r}", field="url")
    return SqlStore.open(url, user=user)


def _rest(url: str, _user: str, *, token: str | None = None) -> Store:
    from exact_lab.store.rest import RestStore  # noqa: PLC0415 - import HTTP only when used

    return RestStore(url, token or os.environ.get("EXACT_LAB_TOKEN", ""))


for _scheme in ("sqlite", "postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
    register(_scheme, _sql)
for _scheme in ("http", "https"):
    register(_scheme, _rest)


def acting_user(user: str | None = None) -> str:
    """``user``, else ``$JUPYTERHUB_USER``, else the operating-system user."""
    if user:
        return user
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


def connect(uri: str | None = None, *, user: str | None = None, token: str | None = None) -> Store:
    """Open a store.

    Parameters
    ----------
    uri
        ``sqlite:///file.sqlite``, ``sqlite://`` (in memory), ``postgresql://user@host/db``, or
        (with the server extension) ``https://host/...``. Default: ``$EXACT_LAB_URL``, else the
        SQLite file in the exact_lab data directory.
    user
        The acting user; default ``$JUPYTERHUB_USER``, else the OS user. Created on first use.
        Over HTTP the token decides the user and ``user`` is not used.
    token
        For ``http(s)`` URLs: a personal access token ``pat_...`` (default ``$EXACT_LAB_TOKEN``).

    Returns
    -------
    Store
    """
    url = uri or default_store_url()
    scheme = urlsplit(url).scheme.lower()
    builder = _REGISTRY.get(scheme)
    if builder is None:
        known = ", ".join(sorted(_REGISTRY))
        raise BadInput(f"url: unknown scheme {scheme!r} in {url!r}; known: {known}", field="url")
    if url == default_store_url() and scheme == "sqlite":
        data_dir().mkdir(parents=True, exist_ok=True)
    if token is not None:
        return builder(url, acting_user(user), token=token)
    return builder(url, acting_user(user))
