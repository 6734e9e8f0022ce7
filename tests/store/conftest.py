"""Backends for the store contract suite.

Every test in tests/store takes ``store_factory`` (or ``world``) and so runs once per backend
listed in ``BACKENDS``. A backend is a function ``(request, tmp_path_factory) -> opener`` where
``opener(username)`` returns a Store acting as that user, all on one database per test module.
The ``http`` backend starts one ``exact-lab serve`` subprocess per test module on a temporary
SQLite database and opens a RestStore per user with a token minted for that user;
``http-postgresql`` (opt-in, ``EXTRA_BACKENDS``) does the same on PostgreSQL.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from exact_lab.store import Store, connect

Opener = Callable[[str], Store]


def _sqlite(request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> tuple[str, Opener]:
    url = f"sqlite:///{tmp.mktemp('store') / 'store.sqlite'}"
    return url, lambda user: connect(url, user=user)


def _postgresql(request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> tuple[str, Opener]:
    url = request.getfixturevalue("pg_url")
    return url, lambda user: connect(url, user=user)


STARTUP_LIMIT = 120  # seconds to wait for the server to listen (a wait, not an assertion)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def launch(folder: Path, db_url: str, port: int) -> subprocess.Popen[bytes]:
    """Start ``exact-lab serve`` on ``db_url`` and ``port``, logging to ``folder/server.log``."""
    env = {**os.environ, "EXACT_LAB_DATA_DIR": str(folder / "data"),
           "JUPYTER_CONFIG_DIR": str(folder / "jupyter-config"),
           "JUPYTER_RUNTIME_DIR": str(folder / "runtime")}  # fmt: skip
    with (folder / "server.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "exact_lab.cli", "serve", "--port", str(port),
             "--database-url", db_url, "--upload-dir", str(folder / "uploads")],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server and wait for it."""
    if process.poll() is None:
        process.terminate()
        process.wait(timeout=30)


def wait_up(process: subprocess.Popen[bytes], folder: Path, port: int) -> str:
    """Wait until the server on ``port`` answers; return its exact/ URL."""
    base = f"http://127.0.0.1:{port}/exact"
    deadline = time.monotonic() + STARTUP_LIMIT
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/v1/users/users/", timeout=5)
        except urllib.error.HTTPError:
            break  # 403 without credentials: the server is up
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail((folder / "server.log").read_text()[-3000:])
            time.sleep(0.3)
    return base


def start_server(request: pytest.FixtureRequest, folder: Path, db_url: str) -> str:
    """Start ``exact-lab serve`` on ``db_url`` until ``request`` ends; return its exact/ URL."""
    connect(db_url, user="setup").close()  # create the schema before the server opens it
    port = free_port()
    process = launch(folder, db_url, port)
    request.addfinalizer(lambda: stop(process))
    return wait_up(process, folder, port)


def token_opener(db_url: str, base: str) -> Opener:
    """An opener of RestStores on ``base``, each with a token minted in the database."""

    def opener(user: str) -> Store:
        with connect(db_url, user=user) as local:
            plain = local.create_token("contract-tests").plain
        return connect(base, token=plain)

    return opener


def _http(request: pytest.FixtureRequest, tmp: pytest.TempPathFactory) -> tuple[str, Opener]:
    """``exact-lab serve`` on a fresh SQLite file; each user gets a token minted in the store."""
    folder = tmp.mktemp("serve")
    db_url = f"sqlite:///{folder / 'exact.sqlite'}"
    base = start_server(request, folder, db_url)
    return base, token_opener(db_url, base)


def _http_postgresql(
    request: pytest.FixtureRequest, tmp: pytest.TempPathFactory
) -> tuple[str, Opener]:
    """``exact-lab serve`` on a fresh PostgreSQL database (opt-in: see ``EXTRA_BACKENDS``)."""
    db_url = request.getfixturevalue("pg_url")
    base = start_server(request, tmp.mktemp("serve"), db_url)
    return base, token_opener(db_url, base)


BACKENDS: dict[
    str, Callable[[pytest.FixtureRequest, pytest.TempPathFactory], tuple[str, Opener]]
] = {
    "sqlite": _sqlite,
    "postgresql": _postgresql,
    "http": _http,
}


#: Backends a module selects explicitly with
#: ``pytestmark = pytest.mark.parametrize("backend", [...], indirect=True)``.
EXTRA_BACKENDS = {"http-postgresql": _http_postgresql}


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, Opener]]:
    """(backend name, database URL, opener) for one test module."""
    url, opener = {**BACKENDS, **EXTRA_BACKENDS}[request.param](request, tmp_path_factory)
    return request.param, url, opener


@pytest.fixture(scope="module")
def store_factory(backend: tuple[str, str, Opener]) -> Iterator[Callable[[str], Store]]:
    """``store_factory(username)`` -> a Store acting as that user (cached per module)."""
    _, _, opener = backend
    made: dict[str, Store] = {}

    def factory(user: str) -> Store:
        if user not in made:
            made[user] = opener(user)
        return made[user]

    yield factory
    for store in made.values():
        store.close()


@pytest.fixture
def is_postgres(backend: tuple[str, str, Opener]) -> bool:
    return backend[0] == "postgresql"


@dataclass
class World:
    """Two teams: team A (admin ``a_admin``, member ``a_member``), team B (admin ``b_admin``);
    ``outsider`` belongs to neither. Team A has a product with a box, polygon and point type,
    a collaborative set with one image, and a blind (competitive) set with one image."""

    admin: Store
    member: Store
    other_admin: Store
    outsider: Store
    team: Any
    other_team: Any
    product: Any
    box: Any
    polygon: Any
    point: Any
    image_set: Any
    image: Any
    blind_set: Any
    blind_image: Any
    other_set: Any
    other_image: Any
    suffix: str


@pytest.fixture
def world(store_factory: Callable[[str], Store]) -> World:
    """A fresh World with unique names for each test."""
    sfx = uuid.uuid4().hex[:8]
    admin, member = store_factory(f"a_admin_{sfx}"), store_factory(f"a_member_{sfx}")
    other_admin, outsider = store_factory(f"b_admin_{sfx}"), store_factory(f"outsider_{sfx}")
    team = admin.create_team(f"team-a-{sfx}")
    admin.add_member(team, member.user.username)
    other_team = other_admin.create_team(f"team-b-{sfx}")
    product = admin.create_product(team, "Mitosis", description="mitotic figures")
    box = admin.create_annotation_type(
        product, "mitotic figure", vector_type=1, keyboard_shortcut="m"
    )
    polygon = admin.create_annotation_type(product, "tumour", vector_type=5, color_code="#00FF00")
    point = admin.create_annotation_type(
        product, "cell", vector_type=2, default_width=20, default_height=20
    )
    image_set = admin.create_image_set(team, "cases", products=[product], tags=["breast"])
    image = admin.add_image(
        image_set,
        f"img-{sfx}",
        width=1000,
        height=800,
        original_name="patient-17.svs",
        path="/data/patient-17.svs",
        mpp=0.25,
    )
    blind_set = admin.create_image_set(team, "blind", products=[product], collaboration_type=1)
    blind_image = admin.add_image(blind_set, f"blind-{sfx}", width=1000, height=800)
    other_product = other_admin.create_product(other_team, "Other")
    other_admin.create_annotation_type(other_product, "thing")
    other_set = other_admin.create_image_set(other_team, "theirs", products=[other_product])
    other_image = other_admin.add_image(other_set, f"theirs-{sfx}", width=500, height=500)
    return World(
        admin,
        member,
        other_admin,
        outsider,
        team,
        other_team,
        product,
        box,
        polygon,
        point,
        image_set,
        image,
        blind_set,
        blind_image,
        other_set,
        other_image,
        sfx,
    )


def box(x: float, y: float, w: float = 20, h: float = 20) -> dict[str, float]:
    return {"x1": x, "y1": y, "x2": x + w, "y2": y + h}
