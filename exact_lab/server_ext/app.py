"""ExactLabApp: configuration and wiring of the exact_lab server extension."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from exact_lab._version import __version__
from exact_lab.paths import default_store_url
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

    @default("store_url")
    def _default_store_url(self) -> str:
        return default_store_url()

    def initialize_settings(self) -> None:
        """Share the configuration with the handlers through the tornado settings."""
        self.settings["exact_lab"] = {
            "version": __version__,
            "store_url": self.store_url,
        }
        self.log.info("exact_lab %s: store %s", __version__, store_kind(self.store_url))

    def initialize_handlers(self) -> None:
        """Register the routes; ``ExtensionApp`` puts ``base_url`` in front of each."""
        self.handlers.extend(
            [
                (rf"/{ROUTE_PREFIX}/api/status", StatusHandler),
                (rf"/{ROUTE_PREFIX}/?", LandingHandler),
            ]
        )
