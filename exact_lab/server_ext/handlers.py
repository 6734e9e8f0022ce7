"""HTTP handlers of the extension.

Every handler requires a logged-in Jupyter user (``@web.authenticated``) and the
``exact_lab`` authorization resource, so JupyterHub scopes and custom authorizers apply.
"""

from __future__ import annotations

import html
import json
from typing import Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web

from exact_lab.server_ext._base import LOCAL_PROVIDERS
from exact_lab.server_ext._state import get_state

__all__ = ["ROUTE_PREFIX", "LandingHandler", "StatusHandler", "status_payload", "store_kind"]

#: All of exact_lab's URLs sit under ``{base_url}exact/`` (EXACT's own paths follow it).
ROUTE_PREFIX = "exact"

AUTH_RESOURCE = "exact_lab"


def store_kind(url: str) -> str:
    """Name the store backend of a URL without revealing credentials or paths.

    >>> store_kind("postgresql+psycopg://user:secret@db/exact")
    'postgresql'
    """
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    return {"postgres": "postgresql"}.get(scheme, scheme)


def status_payload(settings: dict[str, Any], user: str) -> dict[str, Any]:
    """Describe the running extension: version, store kind and the acting user."""
    config = settings["exact_lab"]
    return {
        "extension": "exact_lab",
        "version": config["version"],
        "store": store_kind(config["store_url"]),
        "user": user,
    }


def _acting(handler: JupyterHandler) -> str:
    """Return the store user a request acts as (see :mod:`exact_lab.server_ext._base`)."""
    if type(handler.identity_provider) in LOCAL_PROVIDERS:
        return get_state(handler.settings).local_user
    return str(handler.current_user.username)


class StatusHandler(ExtensionHandlerMixin, APIHandler):
    """``GET {base_url}exact/api/status`` → JSON with version, store kind and user."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def get(self) -> None:
        """Answer with the status document."""
        self.finish(json.dumps(status_payload(self.settings, _acting(self))))


class LandingHandler(ExtensionHandlerMixin, JupyterHandler):
    """``GET {base_url}exact/``: a small HTML page that shows the extension is loaded."""

    auth_resource = AUTH_RESOURCE

    @web.authenticated
    @authorized
    def get(self) -> None:
        """Render the landing page."""
        status = status_payload(self.settings, _acting(self))
        rows = "".join(
            f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in status.items()
        )
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_LANDING.format(rows=rows, version=html.escape(status["version"])))


_LANDING = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>exact_lab {version}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
table {{ border-collapse: collapse; }} th, td {{ padding: .3rem .8rem; text-align: left; }}
th {{ color: #666; font-weight: normal; }}
</style></head>
<body class="exact-lab-landing"><h1>exact_lab is running</h1>
<table id="exact-lab-status">{rows}</table>
<p>Open a notebook and call <code>exact_lab.connect()</code> to reach the annotation store.</p>
</body></html>
"""
