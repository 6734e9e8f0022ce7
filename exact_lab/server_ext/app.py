"""ExactLabApp: configuration and wiring of the exact_lab server extension."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, List, Unicode, default

from exact_lab._version import __version__
from exact_lab.paths import data_dir, default_store_url
from exact_lab.server_ext._routes import api_routes
from exact_lab.server_ext._state import SETTINGS_KEY, ExactState
from exact_lab.server_ext.handlers import (
    ROUTE_PREFIX,
    LandingHandler,
    StatusHandler,
    store_kind,
)

__all__ = ["ExactLabApp"]


class ExactLabApp(ExtensionApp):
    """Serve exact_lab's pages and API from a Jupyter server.

    Configure it like any Jupyter application, e.g. in ``jupyter_server_config.py``::

        c.ExactLabApp.store_url = "postgresql://lab-db/exact"
        c.ExactLabApp.allowed_roots = ["/data/slides"]
    """

    name = "exact_lab"
    description = "Collaborative whole-slide-image annotation: tiles, REST API, live events."
    load_other_extensions = True
    extension_url = f"/{ROUTE_PREFIX}/"

    store_url = Unicode(
        config=True,
        help=(
            "Where annotations live: sqlite:///path, postgresql://... or http(s)://... "
            "Defaults to $EXACT_LAB_URL, else the embedded SQLite file in the user's data folder."
        ),
    )
    upload_dir = Unicode(
        config=True, help="Folder receiving uploaded slides (default: <data folder>/uploads)."
    )
    allowed_roots: List[str] = List(
        Unicode(),
        config=True,
        help=(
            "Folders whose slides may be registered by server-side path (default: the data "
            "folder). Uploads always land in upload_dir, which is allowed too."
        ),
    )
    tile_size = Int(
        256, config=True, help="DeepZoom tile size (EXACT uses 254; 256 passes JPEGs through)."
    )
    tile_overlap = Int(0, config=True, help="DeepZoom tile overlap (EXACT uses 1).")
    tile_cache_mb = Float(256.0, config=True, help="Size bound of the encoded-tile cache (MB).")
    workers = Int(8, config=True, help="Threads for slide reading and store calls.")
    media_max_mb = Float(
        32.0, config=True, help="Largest annotation media file accepted by upload (MB)."
    )
    permission_ttl = Float(
        1.0,
        config=True,
        help=(
            "Seconds a granted tile permission check (user may see image) is reused; refusals "
            "are never reused, and grants are dropped at once when the change feed reports a "
            "membership, team, image set, image or user change. 0 checks the store on every "
            "tile request."
        ),
    )
    local_user = Unicode(
        "",
        config=True,
        help=(
            "The store user that requests authenticated by a plain single-user Jupyter server "
            "act as (default: $JUPYTERHUB_USER, else the OS user, as exact_lab.connect()). "
            "Under JupyterHub the hub's username is used instead."
        ),
    )

    @default("store_url")
    def _default_store_url(self) -> str:
        return default_store_url()

    @default("upload_dir")
    def _default_upload_dir(self) -> str:
        return str(data_dir() / "uploads")

    @default("allowed_roots")
    def _default_allowed_roots(self) -> list[str]:
        return [str(data_dir())]

    def initialize_settings(self) -> None:
        """Share the configuration and the state with the handlers through tornado settings."""
        self.settings["exact_lab"] = {"version": __version__, "store_url": self.store_url}
        self.settings[SETTINGS_KEY] = ExactState.create(
            self.store_url,
            upload_dir=Path(self.upload_dir),
            allowed_roots=tuple(Path(root) for root in self.allowed_roots),
            workers=self.workers,
            tile_size=self.tile_size,
            overlap=self.tile_overlap,
            cache_mb=self.tile_cache_mb,
            local_user=self.local_user,
            permission_ttl=self.permission_ttl,
        )
        self.settings[SETTINGS_KEY].media_max_bytes = int(self.media_max_mb * 1024 * 1024)
        self.log.info("exact_lab %s: store %s", __version__, store_kind(self.store_url))

    def initialize_handlers(self) -> None:
        """Register the routes; ``ExtensionApp`` puts ``base_url`` in front of each."""
        self.handlers.extend(
            [
                (rf"/{ROUTE_PREFIX}/api/status", StatusHandler),
                *api_routes(f"/{ROUTE_PREFIX}/api/v1"),
                (rf"/{ROUTE_PREFIX}/?", LandingHandler),
            ]
        )

    async def stop_extension(self) -> None:
        """Close the store, slides and the executor when the server stops."""
        state: Any = self.settings.get(SETTINGS_KEY)
        if isinstance(state, ExactState):
            state.close()
