"""Shared set-up for the store benchmarks: a throwaway database and 1M generated annotations.

Run with ``scripts/with_postgres.sh python benchmarks/<name>.py`` (PostgreSQL); without
``EXACT_LAB_TEST_PG_URL`` the scripts fall back to a temporary SQLite file.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
import sqlalchemy as sa

from exact_lab.store import connect

SIDE = 100_000  # image side in pixels: 1M annotations give ~250 hits in a 1550 px window


@contextmanager
def database() -> Iterator[str]:
    """Yield the URL of an empty database (PostgreSQL when available, else SQLite)."""
    server = os.environ.get("EXACT_LAB_TEST_PG_URL")
    if not server:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite"
        return
    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def workspace(url: str):
    """A store with one team, one box type, one set and one SIDE x SIDE image."""
    store = connect(url, user="bench")
    team = store.create_team("bench")
    product = store.create_product(team, "bench")
    kind = store.create_annotation_type(product, "cell", vector_type=1)
    image_set = store.create_image_set(team, "bench", products=[product])
    image = store.add_image(image_set, "slide", width=SIDE, height=SIDE)
    return store, kind, image_set, image


def boxes(image: int, kind: int, n: int, seed: int = 0) -> pd.DataFrame:
    """``n`` random boxes of 10-40 px on the image."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, SIDE - 50, n)
    y = rng.integers(0, SIDE - 50, n)
    w = rng.integers(10, 40, n)
    h = rng.integers(10, 40, n)
    columns = {"x_min": x, "y_min": y, "x_max": x + w, "y_max": y + h}
    return pd.DataFrame({"image": image, "annotation_type": kind, **columns})


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def p50(samples: list[float]) -> float:
    """The median."""
    return statistics.median(samples)


def backend_name(url: str) -> str:
    """'PostgreSQL' or 'SQLite'."""
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"
