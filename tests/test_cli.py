"""The ``exact-lab`` command line, run as a user runs it (a real subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def exact_lab_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "exact_lab.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize(
    "args", [[], ["demo"], ["samples", "fetch"], ["db", "upgrade"], ["status"]], ids=str
)
def test_help_everywhere(args: list[str]) -> None:
    result = exact_lab_cli(*args, "--help")
    assert result.returncode == 0, result.stderr
    assert "usage: exact-lab" in result.stdout


def test_status_names_data_folder_and_store(isolated_data_dir: Path) -> None:
    result = exact_lab_cli("status")
    assert result.returncode == 0, result.stderr
    assert str(isolated_data_dir) in result.stdout
    assert "store: sqlite" in result.stdout


def test_demo_outside_a_checkout_says_what_to_do(tmp_path: Path) -> None:
    result = exact_lab_cli("demo", "--root", str(tmp_path), "--prepare-only")
    assert result.returncode == 1
    assert "01_quickstart.ipynb does not exist" in result.stderr
    assert "--root" in result.stderr


def test_demo_prepares_workspace(isolated_data_dir: Path, sample_slides_dir: Path) -> None:
    result = exact_lab_cli("demo", "--prepare-only")
    assert result.returncode == 0, result.stderr
    assert (isolated_data_dir / "sample-slides" / "cmu_small_region.svs").is_file()
    assert "3 slides" in result.stdout

    from exact_lab.store import connect

    store = connect(user=_demo_owner())
    team = store.team_named("Demo pathology")
    image_set = store.image_set_named(team, "Demo slides")
    images = store.images(image_set)
    assert sorted(image.width for image in images) == [2220, 4096, 8192]
    # public names are pseudonyms; the original file name stays private
    assert all(image.name.count("-") == 2 and ".svs" not in image.name for image in images)
    frame = store.annotations(image_set=image_set)
    assert len(frame) >= 300
    assert set(frame["image"]) == {image.id for image in images}

    again = exact_lab_cli("demo", "--prepare-only")
    assert again.returncode == 0, again.stderr
    assert len(store.images(image_set)) == 3
    assert len(store.annotations(image_set=image_set)) == len(frame)


def _demo_owner() -> str:
    from exact_lab.store.registry import acting_user

    return acting_user()
