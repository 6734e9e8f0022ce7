"""Ids of PostgreSQL bulk inserts: one reserved range, never an id twice, nobody kept waiting.

A bulk insert of at least ``RESERVE_ROWS`` rows takes its ids as one range from the sequence
(:mod:`exact_lab.store.sql.idrange`) in a short transaction of its own. These tests run single
inserts in other processes and bulk inserts at the same time, park a bulk insert after its COPY
(a trigger waits on an advisory lock the test holds) to show that single and bulk inserts go on
meanwhile, and make the range reservation fall back when a transaction holds the sequence.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest
import sqlalchemy as sa

from exact_lab.store import connect
from exact_lab.store.sql import idrange
from exact_lab.store.sql.bulk import RESERVE_ROWS
from tests.store.conftest import World

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

WAIT = 120  # seconds: a wait for other processes, not a timed assertion

SINGLES = """
import json, sys, time
from pathlib import Path
from exact_lab.store import connect
url, user, image, kind, stop = sys.argv[1:6]
store = connect(url, user=user)
ids = []
while not Path(stop).exists():
    a = store.add_annotation(int(image), int(kind), {"x1": 1, "y1": 2, "x2": 30, "y2": 40})
    ids.append(a.id)
    if len(ids) == 3:
        Path(stop + "." + str(id(store))).touch()  # under way
store.close()
print(json.dumps(ids))
"""


def _boxes(world: World, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 950, n), rng.integers(0, 750, n)
    return pd.DataFrame(
        {
            "image": world.image.id,
            "annotation_type": world.box.id,
            "x_min": x,
            "y_min": y,
            "x_max": x + 20,
            "y_max": y + 30,
        }
    )


def _stored_ids(world: World) -> list[int]:
    table = world.admin.annotations(image=world.image, format="arrow")
    ids: list[int] = table.column("id").to_pylist()
    return ids


def test_bulk_ids_never_meet_those_of_concurrent_single_inserts(
    world: World, backend, tmp_path: Path
) -> None:
    _, url, _ = backend
    stop = tmp_path / "stop"
    command = [sys.executable, "-c", SINGLES, url, world.member.user.username]
    command += [str(world.image.id), str(world.box.id), str(stop)]
    writers = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        deadline = time.monotonic() + WAIT
        while len(list(tmp_path.glob("stop.*"))) < len(writers):  # every writer under way
            assert time.monotonic() < deadline, "the single-insert processes did not start"
            assert all(w.poll() is None for w in writers), "a single-insert process died"
            time.sleep(0.05)
        bulk_ids: list[int] = []
        for seed in range(3):
            bulk_ids += world.admin.add_annotations(_boxes(world, 50_000, seed))
    finally:
        stop.touch()
        outputs = [w.communicate(timeout=WAIT)[0] for w in writers]
    assert [w.returncode for w in writers] == [0, 0, 0]
    single_ids = [i for out in outputs for i in json.loads(out)]
    assert len(single_ids) >= 3 * len(writers)
    assert len(bulk_ids) == 150_000
    every = bulk_ids + single_ids
    assert len(set(every)) == len(every)  # no id handed out twice
    assert sorted(_stored_ids(world)) == sorted(every)  # and every row is there
    # each batch's ids form one consecutive range although single inserts ran meanwhile
    for k in range(3):
        batch = np.array(bulk_ids[k * 50_000 : (k + 1) * 50_000])
        assert batch.max() - batch.min() == 50_000 - 1


PARK = """
CREATE FUNCTION park_large_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT count(*) FROM new_rows) > 30000 THEN
        PERFORM pg_advisory_xact_lock(4242);  -- held by the test until it lets the batch go
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER park_large_inserts AFTER INSERT ON annotations
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION park_large_inserts();
"""
UNPARK = """
DROP TRIGGER IF EXISTS park_large_inserts ON annotations;
DROP FUNCTION IF EXISTS park_large_inserts();
"""


def _psycopg_url(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def test_a_bulk_insert_after_its_copy_keeps_no_one_waiting(world: World, backend) -> None:
    _, url, _ = backend
    with psycopg.connect(_psycopg_url(url), autocommit=True) as gate:
        parked: dict[str, object] = {}

        def big() -> None:
            try:
                parked["ids"] = world.admin.add_annotations(_boxes(world, 40_000, 7))
            except BaseException as err:  # noqa: BLE001 - reported below
                parked["error"] = err

        thread = threading.Thread(target=big)
        gate.execute(PARK)
        try:
            gate.execute("SELECT pg_advisory_lock(4242)")
            thread.start()
            deadline = time.monotonic() + WAIT
            while not _waits_on_the_gate(gate):  # the batch is written, its transaction open
                assert thread.is_alive(), parked
                assert time.monotonic() < deadline, "the bulk insert never reached the trigger"
                time.sleep(0.05)
            # meanwhile single inserts and a smaller bulk insert (own reserved range) complete
            other = connect(url, user=world.member.user.username)
            try:
                singles = [
                    other.add_annotation(
                        world.image, world.box, {"x1": 1, "y1": 1, "x2": 5, "y2": 5}
                    ).id
                    for _ in range(5)
                ]
                small = other.add_annotations(_boxes(world, RESERVE_ROWS + 5_000, 8))
            finally:
                other.close()
            assert thread.is_alive()  # still parked: nothing above waited for it
        finally:
            gate.execute("SELECT pg_advisory_unlock(4242)")
            if thread.is_alive() or parked:
                thread.join(WAIT)
            gate.execute(UNPARK)
    assert "error" not in parked, parked
    big_ids = parked["ids"]
    assert isinstance(big_ids, list)
    every = big_ids + singles + small
    assert len(set(every)) == len(every)
    assert sorted(_stored_ids(world)) == sorted(every)
    # the parked batch reserved its range before the others took theirs
    assert max(big_ids) < min(singles + small)


def _waits_on_the_gate(gate: psycopg.Connection) -> bool:
    row = gate.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
    ).fetchone()
    return bool(row and row[0])


def test_reservation_falls_back_while_a_transaction_holds_the_sequence(
    world: World, backend
) -> None:
    _, url, _ = backend
    with psycopg.connect(_psycopg_url(url)) as holder:  # nextval in an open transaction
        (held,) = holder.execute("SELECT nextval('annotations_id_seq')").fetchone() or (0,)
        ids = world.admin.add_annotations(_boxes(world, RESERVE_ROWS, 3))
        holder.rollback()
    assert held not in ids
    assert len(set(ids)) == len(ids) == RESERVE_ROWS
    assert sorted(_stored_ids(world)) == sorted(ids)


def test_reserved_ranges_and_nextval_callers_never_share_a_value(backend) -> None:
    _, url, _ = backend
    engine = sa.create_engine(url)
    got: list[np.ndarray] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def nextval_caller() -> None:
        try:
            with psycopg.connect(_psycopg_url(url), autocommit=True) as conn:
                taken = []
                while not done.is_set():
                    row = conn.execute("SELECT nextval('annotations_id_seq')").fetchone()
                    taken.append(row[0] if row else 0)
                got.append(np.array(taken, dtype=np.int64))
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    def reserver() -> None:
        try:
            got.extend(
                idrange.reserve(engine, "annotations", n)
                for n in (1, 2, 500, 20_000, 3, 70_000) * 3
            )
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    callers = [threading.Thread(target=nextval_caller) for _ in range(3)]
    reservers = [threading.Thread(target=reserver) for _ in range(2)]
    for t in callers + reservers:
        t.start()
    for t in reservers:
        t.join()
    done.set()
    for t in callers:
        t.join()
    engine.dispose()
    assert errors == []
    values = np.concatenate(got)
    assert len(values) > 2 * 3 * (1 + 2 + 500 + 20_000 + 3 + 70_000)  # the callers ran too
    assert len(np.unique(values)) == len(values)
