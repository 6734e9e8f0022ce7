"""Where exact_lab keeps its files on this machine.

Everything lives under one data directory: the user's platform data folder (for example
``~/.local/share/exact_lab`` on Linux), or ``$EXACT_LAB_DATA_DIR`` when set. Tests and demos point
that variable at their own folder so that they never touch a user's real store.

Examples
--------
>>> data_dir().name in {"exact_lab", "exact-lab-data0"} or "EXACT_LAB_DATA_DIR" in os.environ
True
>>> default_store_url().split(":", 1)[0] in {"sqlite", "postgresql", "http", "https"}
True
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["data_dir", "default_store_url", "sample_slides_dir"]


def data_dir() -> Path:
    """Return the folder holding the default store, caches and sample slides (not created here)."""
    override = os.environ.get("EXACT_LAB_DATA_DIR")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("exact_lab", appauthor=False))


def default_store_url() -> str:
    """Return ``$EXACT_LAB_URL`` when set, else the embedded SQLite file in :func:`data_dir`."""
    return os.environ.get("EXACT_LAB_URL") or f"sqlite:///{data_dir() / 'exact_lab.sqlite'}"


def sample_slides_dir() -> Path:
    """Return the folder that ``exact-lab samples fetch`` fills by default."""
    return data_dir() / "sample-slides"
