"""PostgreSQL-only parts of the contract: parallel writers and the cross-process change feed.

SQLite serialises writers and its change feed is in-process by design, so these run on the
PostgreSQL backend only (and fail in CI when PostgreSQL is missing, like every PG test).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from exact_lab.entities import Change
from exact_lab.errors import Conflict
from exact_lab.store import connect
from exact_lab.store.sql.feed import CHANNEL
from tests.store.conftest import World, box

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

WAIT = 60  # seconds to wait for a notification before declaring it lost


def test_eight_concurrent_writers_lose_no_update(world: World, backend) -> None:
    _, url, _ = backend
    a = world.admin.add_annotation(world.image, world.box, box(1, 1), meta_data={"count": 0})
    writers, rounds = 8, 10
    conflicts = [0] * writers
    errors: list[BaseException] = []
    stores = []
    for i in range(writers):
        stores.append(connect(url, user=f"writer{i}_{world.suffix}"))
        world.admin.add_member(world.team, f"writer{i}_{world.suffix}")
    start = threading.Barrier(writers)

    def work(i: int) -> None:
        try:
            start.wait()
            done = 0
            while done < rounds:
                current = stores[i].annotation(a.id)
                try:
                    stores[i].update_annotation(
                        a,
                        base_revision=current.revision,
                        meta_data={"count": current.meta_data["count"] + 1},
                    )
                    done += 1
                except Conflict:
                    conflicts[i] += 1
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert errors == []
    final = world.admin.annotation(a.id)
    assert final.meta_data == {"count": writers * rounds}
    assert final.revision == writers * rounds + 1
    history = world.admin.history(a)
    assert [h.new["meta_data"]["count"] for h in history] == list(range(writers * rounds + 1))
    assert sum(conflicts) > 0  # they really raced


SCRIPT = """
import sys
from exact_lab.store import connect
store = connect(sys.argv[1], user=sys.argv[2])
a = store.add_annotation(int(sys.argv[3]), int(sys.argv[4]), {"x1": 1, "y1": 1, "x2": 9, "y2": 9})
print(a.id)
"""


def test_change_feed_across_processes(world: World, backend) -> None:
    _, url, _ = backend
    got: list[Change] = []
    arrived = threading.Event()

    def on_change(change: Change) -> None:
        if change.kind == "annotation":
            got.append(change)
            arrived.set()

    with world.admin.subscribe(on_change):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                SCRIPT,
                url,
                world.member.user.username,
                str(world.image.id),
                str(world.box.id),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert arrived.wait(WAIT)
    assert got[0].ids == (int(out.stdout.strip()),)
    assert got[0].user == world.member.user.id


def test_change_feed_survives_a_dropped_listener_connection(world: World, backend) -> None:
    _, url, _ = backend
    arrived: list[Change] = []
    event = threading.Event()

    def on_change(change: Change) -> None:
        if change.kind == "annotation":
            arrived.append(change)
            event.set()

    def listeners(conn: sa.Connection) -> set[int]:
        rows = conn.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity WHERE query = :q AND datname = current_database()"
            ),
            {"q": f"LISTEN {CHANNEL}"},
        )
        return {int(pid) for (pid,) in rows}

    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with world.admin.subscribe(on_change), admin.connect() as conn:
        before = listeners(conn)
        assert before, "no LISTEN connection while subscribed"
        for pid in before:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        deadline = time.monotonic() + WAIT
        while not (listeners(conn) - before):  # the listener reconnects on its own
            assert time.monotonic() < deadline, "the change-feed listener did not reconnect"
            time.sleep(0.1)
        made = world.member.add_annotation(world.image, world.box, box(3, 3))
        assert event.wait(WAIT), "no change delivered after the reconnection"
    admin.dispose()
    assert arrived[-1].ids == (made.id,)
