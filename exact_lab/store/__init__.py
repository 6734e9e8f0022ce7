"""The annotation store: one contract (:class:`Store`), chosen by URL with :func:`connect`.

Examples
--------
>>> from exact_lab.store import connect
>>> store = connect("sqlite://", user="alice")
>>> store.user.username
'alice'
"""

from exact_lab.store.abstract import Store, Subscription
from exact_lab.store.frames import COLUMNS
from exact_lab.store.registry import acting_user, connect, register

__all__ = ["COLUMNS", "Store", "Subscription", "acting_user", "connect", "register"]
