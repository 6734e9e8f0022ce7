"""Errors a user of exact_lab can meet.

Every error names its cause and, where there is one, the fix. All of them derive from
:class:`ExactLabError`, so ``except ExactLabError`` catches everything the project raises on
purpose. This module imports nothing of the project.

Examples
--------
>>> from exact_lab.errors import NotFound
>>> try:
...     raise NotFound("image 42 does not exist (or you may not see it)")
... except ExactLabError as err:
...     print(type(err).__name__, err)
NotFound image 42 does not exist (or you may not see it)
"""

from __future__ import annotations

__all__ = [
    "BadInput",
    "Conflict",
    "ExactLabError",
    "NotFound",
    "PermissionDenied",
    "SchemaMismatch",
    "SlideReadError",
]


class ExactLabError(Exception):
    """Base class of every error exact_lab raises on purpose.

    ``http_status`` is what the REST layer answers with when this error reaches it.
    """

    http_status: int = 400


class NotFound(ExactLabError):  # noqa: N818 - the short names are the public vocabulary
    """The object does not exist, or the acting user may not know that it exists."""

    http_status = 404


class PermissionDenied(ExactLabError):  # noqa: N818
    """The acting user lacks the right for this call (team membership, team admin, ...)."""

    http_status = 403


class Conflict(ExactLabError):  # noqa: N818
    """The call would overwrite a newer change or break a uniqueness rule."""

    http_status = 409


class BadInput(ExactLabError):  # noqa: N818
    """An argument is malformed; the message names the field and what is expected.

    Parameters
    ----------
    message
        What is wrong and how to fix it.
    field
        The name of the offending field or argument, when there is one.
    """

    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class SlideReadError(ExactLabError):
    """A slide file cannot be opened or read; the message names the file and the reason."""

    http_status = 422


class SchemaMismatch(ExactLabError):  # noqa: N818
    """The database schema is older or newer than this exact_lab; run ``exact-lab db upgrade``."""

    http_status = 500
