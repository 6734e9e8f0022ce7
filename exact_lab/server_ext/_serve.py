"""``exact-lab serve``: the extension in a Jupyter server of its own (a JupyterHub service).

The same :class:`~exact_lab.server_ext.app.ExactLabApp` runs; only the server around it is
standalone. Clients authenticate with personal access tokens (``exact-lab token create``) as
``Authorization: Bearer pat_...`` or as the password of HTTP Basic. Terminals are off; Jupyter's
own token stays random, so the server's other APIs are closed to these clients. Under JupyterHub
the base URL defaults to ``$JUPYTERHUB_SERVICE_PREFIX``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["serve", "serve_config"]


def serve_config(
    *,
    port: int,
    ip: str = "127.0.0.1",
    database_url: str | None = None,
    base_url: str | None = None,
    allowed_roots: Sequence[str] = (),
    upload_dir: str | None = None,
    root_dir: Path | None = None,
) -> dict[str, dict[str, Any]]:
    """Return the traitlets configuration of the Jupyter server hosting the extension.

    >>> config = serve_config(port=8123, database_url="sqlite:///x.sqlite")
    >>> config["ServerApp"]["port"], config["ExactLabApp"]["store_url"]
    (8123, 'sqlite:///x.sqlite')
    """
    prefix = base_url or os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or "/"
    server: dict[str, Any] = {
        "port": port,
        "ip": ip,
        "port_retries": 0,
        "open_browser": False,
        "terminals_enabled": False,
        "base_url": prefix,
        "jpserver_extensions": {"exact_lab": True},
        "allow_root": hasattr(os, "geteuid") and os.geteuid() == 0,
    }
    if root_dir is not None:
        server["root_dir"] = str(root_dir)
    extension: dict[str, Any] = {}
    if database_url:
        extension["store_url"] = database_url
    if allowed_roots:
        extension["allowed_roots"] = list(allowed_roots)
    if upload_dir:
        extension["upload_dir"] = upload_dir
    return {"ServerApp": server, "ExactLabApp": extension}


def serve(config: dict[str, dict[str, Any]]) -> None:
    """Run the server until interrupted."""
    from jupyter_server.serverapp import ServerApp  # noqa: PLC0415 - heavy import
    from traitlets.config import Config  # noqa: PLC0415

    app = ServerApp.instance(config=Config(config))
    app.initialize(argv=[])
    app.start()
