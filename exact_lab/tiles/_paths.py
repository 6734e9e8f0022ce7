"""Checks on input paths: inside the allowed folders, existing, a regular non-empty file.

Examples
--------
>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> (root / "a.svs").write_bytes(b"x")
1
>>> check_input(root / "a.svs", allowed_roots=[root]).name
'a.svs'
>>> check_input("/etc/hostname", allowed_roots=[root])
Traceback (most recent call last):
...
exact_lab.errors.BadInput: /etc/hostname is outside the allowed folders ...
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from exact_lab.errors import BadInput, SlideReadError

__all__ = ["StrPath", "check_allowed", "check_input"]

StrPath = str | os.PathLike[str]


def check_allowed(path: StrPath, allowed_roots: Iterable[StrPath] | None) -> Path:
    """Return ``path`` resolved; raise BadInput when it lies outside every allowed root.

    ``allowed_roots=None`` allows every path (a local, single-user setup). Symbolic links are
    resolved first, so a link inside a root that points outside it is refused.
    """
    resolved = Path(path).expanduser().resolve()
    if allowed_roots is None:
        return resolved
    roots = [Path(root).expanduser().resolve() for root in allowed_roots]
    if any(resolved == root or resolved.is_relative_to(root) for root in roots):
        return resolved
    listed = ", ".join(str(root) for root in roots) or "(none configured)"
    raise BadInput(
        f"{path} is outside the allowed folders ({listed}); move the file into one of them or "
        "add its folder to the allowed roots",
        field="path",
    )


def check_input(path: StrPath, *, allowed_roots: Iterable[StrPath] | None = None) -> Path:
    """Return the resolved path of a readable, non-empty regular file, else raise.

    Raises
    ------
    BadInput
        The path is outside the allowed roots, or is a directory.
    SlideReadError
        The file does not exist, is empty or cannot be read.
    """
    resolved = check_allowed(path, allowed_roots)
    if resolved.is_dir():
        raise BadInput(
            f"{path} is a directory, not an image file; pass the slide file inside it",
            field="path",
        )
    try:
        size = resolved.stat().st_size
    except FileNotFoundError:
        raise SlideReadError(f"{path}: no such file; check the path") from None
    except OSError as err:
        raise SlideReadError(f"{path}: cannot read the file ({err.strerror})") from err
    if not resolved.is_file():
        raise BadInput(f"{path} is not a regular file", field="path")
    if size == 0:
        raise SlideReadError(f"{path}: the file is empty (0 bytes); upload or copy it again")
    if not os.access(resolved, os.R_OK):
        raise SlideReadError(f"{path}: permission denied; make the file readable")
    return resolved
