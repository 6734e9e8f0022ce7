"""Fixtures of the server-extension tests: a store on SQLite and PostgreSQL, a world of users.

Modules opt in by defining ``jp_server_config`` as ``exact_server_config``; every test of such
a module then runs once per backend against the real extension in pytest-jupyter's server.

The world: team A (admin ``ann``, member ``max``) with a product (box, polygon types), an image
set holding a generated slide; team B (admin ``olga``) with its own set and slide; ``eve``
belongs to no team. Each user has a personal access token.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from tornado.httpclient import HTTPClientError, HTTPResponse

from exact_lab.store import Store, connect
from exact_lab.workflows import add_slide

API = "exact/api/v1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh store per module and backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('store') / 'exact.sqlite'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(scope="module")
def slide_root(tmp_path_factory: pytest.TempPathFactory, small_slide: Path) -> Path:
    """The folder server-side paths may be registered from, holding two copies of a slide."""
    root = tmp_path_factory.mktemp("slides")
    shutil.copy(small_slide, root / "a.tiff")
    shutil.copy(small_slide, root / "b.tiff")
    return root


@pytest.fixture(scope="module")
def upload_dir(tmp_path_factory: pytest.TempPathFactory, store_url: str) -> Path:
    """An upload folder per module and backend."""
    del store_url  # one folder per backend: the ids of both stores start at 1
    return tmp_path_factory.mktemp("uploads")


@pytest.fixture
def exact_server_config(store_url: str, slide_root: Path, upload_dir: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"exact_lab": True}},
        "ExactLabApp": {
            "store_url": store_url,
            "upload_dir": str(upload_dir),
            "allowed_roots": [str(slide_root)],
            "workers": 4,
        },
    }


@dataclass
class World:
    stores: dict[str, Store]
    tokens: dict[str, str]
    team: Any
    other_team: Any
    product: Any
    box: Any
    polygon: Any
    image_set: Any
    other_set: Any
    image: Any
    other_image: Any
    extra: dict[str, Any] = field(default_factory=dict)

    def auth(self, user: str, *, basic: bool = False) -> dict[str, str]:
        """Headers authenticating ``user`` with a Bearer token (or Basic with the token)."""
        token = self.tokens[user]
        if basic:
            raw = base64.b64encode(f"{user}:{token}".encode()).decode()
            return {"Authorization": f"Basic {raw}"}
        return {"Authorization": f"Bearer {token}"}


def _add_slide(store: Store, image_set: Any, path: Path) -> Any:
    image, created = add_slide(store, image_set, path)
    assert created, f"{path} is already in the set"
    return image


@pytest.fixture(scope="module")
def world(store_url: str, slide_root: Path) -> Iterator[World]:
    stores = {name: connect(store_url, user=name) for name in ("ann", "max", "olga", "eve")}
    ann, olga = stores["ann"], stores["olga"]
    team = ann.create_team("Team A")
    ann.add_member(team, "max")
    product = ann.create_product(team, "Mitosis")
    box = ann.create_annotation_type(product, "mitotic figure", vector_type=1)
    polygon = ann.create_annotation_type(product, "tumour", vector_type=5)
    image_set = ann.create_image_set(team, "Breast cases", products=[product])
    image = _add_slide(ann, image_set, slide_root / "a.tiff")
    other_team = olga.create_team("Team B")
    other_set = olga.create_image_set(other_team, "Private cases")
    other_image = _add_slide(olga, other_set, slide_root / "b.tiff")
    tokens = {name: store.create_token("tests").plain for name, store in stores.items()}
    yield World(
        stores, tokens, team, other_team, product, box, polygon, image_set, other_set, image,
        other_image,
    )  # fmt: skip
    for store in stores.values():
        store.close()


async def call(jp_fetch: Any, path: str, **kwargs: Any) -> HTTPResponse:
    """``jp_fetch`` that returns error responses instead of raising."""
    if "body" in kwargs and not isinstance(kwargs["body"], (bytes, str)):
        kwargs["body"] = json.dumps(kwargs["body"])
    try:
        response: HTTPResponse = await jp_fetch(path, **kwargs)
    except HTTPClientError as err:
        if err.response is None:
            raise
        return err.response
    return response


def body(response: HTTPResponse) -> Any:
    return json.loads(response.body)
