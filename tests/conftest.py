"""Fixtures every part of the suite shares: slides, PostgreSQL, Jupyter servers, browsers.

Real parts only. Outside CI a missing PostgreSQL, Chromium or sample-slide folder skips the tests
that need it with a message saying how to enable them; with ``CI=true`` it fails them, so a CI run
can never pass by skipping.

Environment
-----------
EXACT_LAB_TEST_PG_URL
    URL of a throwaway PostgreSQL server's ``postgres`` database; ``scripts/with_postgres.sh``
    sets it.
EXACT_LAB_TEST_SLIDES
    Folder holding the real sample slides (``exact-lab samples fetch`` fills it); defaults to
    ``.cache/testslides`` in the repository.
"""

from __future__ import annotations

import functools
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def require(condition: bool, what: str, how: str) -> None:
    """Skip (or, in CI, fail) the current test when a real dependency is missing."""
    if condition:
        return
    message = f"{what} is not available: {how}"
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session", autouse=True)
def isolated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point exact_lab's data folder (default store, caches) at a temporary folder.

    No test may read or write a user's real store. The real sample slides, when present, are
    copied in so that notebooks find them where ``exact-lab samples fetch`` puts them.
    """
    folder = tmp_path_factory.mktemp("exact-lab-data")
    slides = Path(os.environ.get("EXACT_LAB_TEST_SLIDES", REPO / ".cache" / "testslides"))
    if slides.is_dir():
        # a copy, not a link: the server only serves slides inside its data folder
        shutil.copytree(slides, folder / "sample-slides")
    saved = {key: os.environ.get(key) for key in ("EXACT_LAB_DATA_DIR", "EXACT_LAB_URL")}
    os.environ["EXACT_LAB_DATA_DIR"] = str(folder)
    os.environ.pop("EXACT_LAB_URL", None)
    yield folder
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run browser tests last: Playwright's sync API must not meet pytest-jupyter's event loops."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


# ---------------------------------------------------------------------------------------------
# Jupyter server (pytest-jupyter) with the extension loaded


@pytest.fixture
def jp_server_config() -> dict[str, object]:
    """Load exact_lab into pytest-jupyter's in-process server."""
    return {"ServerApp": {"jpserver_extensions": {"exact_lab": True}}}


# ---------------------------------------------------------------------------------------------
# slides


@pytest.fixture(scope="session")
def sample_slides_dir() -> Path:
    """Folder with the real sample slides (Aperio, generic TIFF, DICOM, hostile files, CMU SVS)."""
    folder = Path(os.environ.get("EXACT_LAB_TEST_SLIDES", REPO / ".cache" / "testslides"))
    require(
        (folder / "cmu_small_region.svs").is_file(),
        f"the sample slides in {folder}",
        "run `make test`, or `exact-lab samples fetch --dest .cache/testslides`",
    )
    return folder


SlideFactory = Callable[..., Path]


@pytest.fixture(scope="session")
def make_pyramid(tmp_path_factory: pytest.TempPathFactory) -> SlideFactory:
    """Return a factory writing pyramidal tiled JPEG TIFFs that OpenSlide opens.

    ``make_pyramid(width, height, *, tile=256, mpp=0.25, aperio=True, quality=85)`` draws a
    deterministic pattern (gradients plus a grid of dark squares, so tiles differ from each other)
    and caches files by their arguments for the whole session.
    """
    from exact_lab.tiles.synthetic import make_synthetic_slide

    folder = tmp_path_factory.mktemp("pyramids")

    @functools.cache  # one file per distinct set of arguments, for the whole session
    def factory(width: int, height: int, **options: Any) -> Path:
        tag = "-".join(f"{key}{value}" for key, value in sorted(options.items()))
        path = folder / f"pyramid-{width}x{height}-{tag or 'default'}.tiff"
        return make_synthetic_slide(path, width, height, **options)

    return factory


@pytest.fixture(scope="session")
def small_slide(make_pyramid: SlideFactory) -> Path:
    """A 2048×1536 Aperio-flavoured pyramid (mpp 0.25), generated in about 0.2 s."""
    return make_pyramid(2048, 1536)


# ---------------------------------------------------------------------------------------------
# PostgreSQL


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of the throwaway server's maintenance database (``postgres``)."""
    url = os.environ.get("EXACT_LAB_TEST_PG_URL", "")
    require(
        bool(url),
        "PostgreSQL (EXACT_LAB_TEST_PG_URL is unset)",
        "run `make test`, or `scripts/with_postgres.sh pytest ...`",
    )
    return url


@pytest.fixture(scope="module")
def pg_url(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test module; dropped afterwards."""
    import sqlalchemy as sa

    name = f"exact_lab_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base, _, _ = pg_server_url.rpartition("/")
    yield f"{base}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
