"""The base handler: who is asking, JSON errors, blocking work in the executor.

Identity, in this order:

1. ``Authorization: Bearer pat_...``: a personal access token of the store.
2. ``Authorization: Basic ...``: username and password (``exact-lab user set-password``), or,
   as the password, one of that user's personal access tokens (EXACT clients such as exact-sync
   send Basic by default, and some users give them a token). Successful checks are remembered
   ``auth_ttl`` seconds; scrypt is slow on purpose and would otherwise cost every request.
3. Otherwise the Jupyter identity of the request, with Jupyter's own token, cookie and XSRF
   rules. Under JupyterHub (or any custom identity provider) that is the hub's username. A
   plain single-user Jupyter server only knows anonymous, per-session names, so there the
   request acts as the server's owner (``ExactLabApp.local_user``, by default the same user
   ``exact_lab.connect()`` picks in a notebook: ``$JUPYTERHUB_USER`` or the OS user).

Wrong or missing credentials give 403 with ``{"detail": ...}`` as EXACT does. Errors of
:mod:`exact_lab.errors` become their ``http_status`` with ``{"detail": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.auth.identity import (
    IdentityProvider,
    LegacyIdentityProvider,
    PasswordIdentityProvider,
)
from jupyter_server.auth.identity import User as JupyterUser
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.ioloop import IOLoop

from exact_lab.errors import BadInput, ExactLabError, PermissionDenied
from exact_lab.server_ext._state import ExactState, get_state
from exact_lab.store import Store

__all__ = ["AUTH_RESOURCE", "LOCAL_PROVIDERS", "ExactHandler", "parse_authorization"]

AUTH_RESOURCE = "exact_lab"
MAX_JSON_BYTES = 64 * 1024 * 1024
T = TypeVar("T")

#: Identity providers of single-user servers whose users are anonymous session names.
LOCAL_PROVIDERS = (IdentityProvider, PasswordIdentityProvider, LegacyIdentityProvider)
_NO_CREDENTIALS = "Authentication credentials were not provided."
_BAD_BASIC = "Invalid username/password."
_BAD_TOKEN = "Invalid token."  # noqa: S105 - a message, not a secret
TOKEN_PREFIX = "pat_"  # noqa: S105 - the public prefix of personal access tokens


def parse_authorization(header: str) -> tuple[str, str, str] | None:
    """Split an ``Authorization`` header meant for exact_lab into (kind, username, token).

    Returns ``None`` for headers Jupyter handles itself (``token ...``, a Bearer token that is
    not a personal access token, or no header). Raises PermissionDenied for malformed Basic.

    >>> parse_authorization("Bearer pat_abc.def")
    ('bearer', '', 'pat_abc.def')
    >>> parse_authorization("Basic " + base64.b64encode(b"ann:pat_x.y").decode())
    ('basic', 'ann', 'pat_x.y')
    >>> parse_authorization("token 1234") is None
    True
    """
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "bearer" and value.startswith("pat_"):
        return "bearer", "", value
    if scheme != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise PermissionDenied(
            "Invalid basic header. Credentials not correctly base64 encoded."
        ) from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise PermissionDenied("Invalid basic header. No credentials provided.")
    return "basic", username, password


class ExactHandler(ExtensionHandlerMixin, JupyterHandler):
    """Base of every exact_lab handler (tiles too: it does not force a JSON content type)."""

    auth_resource = AUTH_RESOURCE
    exact_username: str = ""
    external_auth: bool = False

    @property
    def state(self) -> ExactState:
        """The extension's shared state."""
        return get_state(self.settings)

    @property
    def store(self) -> Store:
        """The store acting as the request's user (call it inside :meth:`run`)."""
        return self.state.store_for(self.exact_username)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking ``fn(*args)`` in the extension's thread pool."""
        return await IOLoop.current().run_in_executor(self.state.executor, fn, *args)

    # ------------------------------------------------------------------ identity
    async def prepare(self, **_: Any) -> None:
        """Authenticate the request (see the module docstring); 403 without a user.

        Keyword arguments (``_redirect_to_login`` from Jupyter's websocket mixin) are ignored:
        exact_lab never redirects to a login page.
        """
        try:
            parsed = parse_authorization(self.request.headers.get("Authorization", ""))
        except PermissionDenied as err:
            raise web.HTTPError(403, str(err)) from None
        if parsed is not None:
            kind, claimed, secret = parsed
            if kind == "basic":
                username = await self._basic_user(claimed, secret)
            else:
                username = self.state.remembered_token(secret)
                if username is None:  # a database lookup: off the IOLoop
                    username = await self.run(self._token_user, secret)
            if username is None:
                raise web.HTTPError(403, _BAD_BASIC if kind == "basic" else _BAD_TOKEN)
            self.exact_username = username
            self.external_auth = True
            self.current_user = self._jupyter_current_user = JupyterUser(username=username)
            return
        await super().prepare(_redirect_to_login=False)
        user = self.current_user
        if user is None:
            raise web.HTTPError(403, _NO_CREDENTIALS)
        if not self.check_origin():
            raise web.HTTPError(404)
        if type(self.identity_provider) in LOCAL_PROVIDERS:
            self.exact_username = self.state.local_user
        else:
            self.exact_username = user.username

    async def _basic_user(self, username: str, password: str) -> str | None:
        """Return the user of Basic credentials: the password, else a token of theirs."""
        state = self.state
        if state.remembered_login(username, password):
            return username
        if password.startswith(TOKEN_PREFIX):
            remembered = state.remembered_token(password)
            owner = remembered or await self.run(self._token_user, password)
            if owner == username:
                return owner
        loop = IOLoop.current()
        return await loop.run_in_executor(
            state.login_executor, self._password_user, username, password
        )

    def _password_user(self, username: str, password: str) -> str | None:
        try:
            return self.state.check_password(username, password)
        except PermissionDenied:
            return None

    def _token_user(self, token: str) -> str | None:
        try:
            return self.state.user_of_token(token)
        except PermissionDenied:
            return None

    def check_xsrf_cookie(self) -> None:
        """Header-authenticated clients (tokens, Basic) carry no cookie: no XSRF risk."""
        if self.external_auth:
            return
        super().check_xsrf_cookie()

    # ------------------------------------------------------------------ input and output
    def json_body(self) -> Any:
        """Parse the request body as JSON; 400 when it is not JSON, 413 when it is huge."""
        body = self.request.body
        if len(body) > MAX_JSON_BYTES:
            raise web.HTTPError(413, f"the body exceeds {MAX_JSON_BYTES} bytes")
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise BadInput(f"JSON parse error - {err}") from None

    def write_json(self, payload: Any, status: int = 200) -> None:
        """Finish with ``payload`` as JSON."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, default=_json_default))

    def write_error(self, status_code: int, **kwargs: Any) -> None:  # noqa: ARG002
        """Errors are JSON ``{"detail": ...}`` (plus ``field`` for bad input), as in EXACT."""
        detail = self._reason or "error"
        exc_info = kwargs.get("exc_info")
        payload: dict[str, Any] = {}
        if exc_info:
            err = exc_info[1]
            if isinstance(err, web.HTTPError):
                detail = err.log_message or err.reason or detail
            elif isinstance(err, ExactLabError):
                detail = str(err)
                field = getattr(err, "field", None)
                if field:
                    payload["field"] = field
            else:
                detail = "internal server error"
        payload = {"detail": detail, **payload}
        self.clear_header("Content-Disposition")
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload))

    def _handle_request_exception(self, e: BaseException) -> None:
        """Map exact_lab's errors to their HTTP status instead of tornado's 500."""
        if isinstance(e, ExactLabError) and not self._finished:
            request = self.request
            self.log.info("%s %s -> %s: %s", request.method, request.uri, e.http_status, e)
            self.send_error(e.http_status, exc_info=sys.exc_info())
            return
        super()._handle_request_exception(e)


def _json_default(value: Any) -> Any:
    isoformat = getattr(value, "isoformat", None)
    if isoformat is not None:
        return isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    item = getattr(value, "item", None)  # numpy scalars
    if item is not None:
        return item()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")
