"""Schema creation from empty, SchemaMismatch on old schemas, upgrade with SQLite backup."""

from __future__ import annotations

import uuid

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic import command

from exact_lab.errors import Conflict, SchemaMismatch
from exact_lab.store import connect
from exact_lab.store.dbutil import alembic_config, current_revision_of, head_revision, upgrade
from exact_lab.store.sql import grid
from exact_lab.store.sql.engine import make_engine


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite'}"
        return
    server = request.getfixturevalue("pg_server_url")
    name = f"exact_lab_mig_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield f"{server.rpartition('/')[0]}/{name}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_connect_creates_the_schema_from_empty(fresh_url) -> None:
    store = connect(fresh_url, user="alice")
    assert current_revision_of(fresh_url) == head_revision()
    store.create_team("t")
    store.close()
    again = connect(fresh_url, user="bob")  # a second open just checks
    assert again.user.username == "bob"
    again.close()


def test_old_schema_raises_schema_mismatch_then_upgrade_fixes_it(fresh_url) -> None:
    upgrade(fresh_url, revision="0001")
    with pytest.raises(SchemaMismatch, match="exact-lab db upgrade"):
        connect(fresh_url, user="alice")
    backup = upgrade(fresh_url)
    if fresh_url.startswith("sqlite"):
        assert backup is not None
        assert backup.exists()
        assert backup.name.startswith("fresh.sqlite.")
    else:
        assert backup is None
    store = connect(fresh_url, user="alice")
    team = store.create_team("after upgrade")
    product = store.create_product(team, "p")
    kind = store.create_annotation_type(product, "k")
    image_set = store.create_image_set(team, "s")
    image = store.add_image(image_set, "i", width=100, height=100)
    store.add_annotation(image, kind, {"x1": 1, "y1": 1, "x2": 5, "y2": 5})
    assert len(store.annotations_in(image, (0, 0, 10, 10))) == 1  # spatial index of 0002 works
    store.close()
    assert upgrade(fresh_url) is None  # nothing to do, no backup


def test_newer_or_foreign_schemas_are_refused(fresh_url) -> None:
    upgrade(fresh_url)
    engine = sa.create_engine(fresh_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(SchemaMismatch, match="newer"):
        connect(fresh_url, user="alice")
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE alembic_version"))
    with pytest.raises(SchemaMismatch, match="no exact_lab schema"):
        connect(fresh_url, user="alice")
    engine.dispose()


def test_0005_files_existing_boxes_in_grid_cells_and_downgrades(fresh_url) -> None:
    """Annotations written before 0005 get the cell key the code computes; viewports find them."""
    store = connect(fresh_url, user="alice")
    team = store.create_team("t")
    product = store.create_product(team, "p")
    box = store.create_annotation_type(product, "box", vector_type=1)
    poly = store.create_annotation_type(product, "poly", vector_type=5)
    image_set = store.create_image_set(team, "s", products=[product])
    image = store.add_image(image_set, "i", width=300_000, height=300_000)
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, 150_000, (2, 400))
    side = rng.choice([0, 7, 255, 256, 257, 1000, 40_000, 140_000], 400)
    frame = pd.DataFrame(
        {"image": image.id, "annotation_type": box.id, "x_min": x, "y_min": y}
        | {"x_max": x + side, "y_max": y + side}
    )
    store.add_annotations(frame)
    store.add_annotation(
        image, poly, {"x1": 10, "y1": 10, "x2": 900, "y2": 20, "x3": 15, "y3": 700}
    )
    store.close()
    config = alembic_config(fresh_url)
    command.downgrade(config, "0004")
    engine = make_engine(fresh_url)
    with engine.begin() as conn:
        names = {c["name"] for c in sa.inspect(conn).get_columns("annotations")}
        assert "cell" not in names
        if fresh_url.startswith("sqlite"):  # the R*Tree triggers survived the column drop
            triggers = conn.execute(sa.text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            assert len(triggers.all()) == 3
    upgrade(fresh_url, backup=False)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT x_min, y_min, x_max, y_max, cell FROM annotations ORDER BY id")
        ).all()
    engine.dispose()
    boxes = np.array([r[:4] for r in rows], dtype=np.float64)
    expected = grid.cell_keys(*boxes.T)
    assert [r[4] for r in rows] == expected.tolist()
    assert len(set(expected.tolist())) > 10  # several levels and cells, not one
    store = connect(fresh_url, user="alice")
    for window in [(0, 0, 2000, 2000), (100_000, 50_000, 101_000, 60_000), (0, 0, 300_000, 9)]:
        x0, y0, x1, y1 = window
        hit = (boxes[:, 2] >= x0) & (boxes[:, 0] <= x1) & (boxes[:, 3] >= y0) & (boxes[:, 1] <= y1)
        got = store.annotations_in(image, window, with_vector=False)
        assert len(got) == int(hit.sum())
    store.close()


def test_0006_keeps_box_vectors_as_bbox_only_on_postgresql_and_downgrades(fresh_url) -> None:
    """Reads give the same bytes before and after 0006; downgrading writes the vectors back."""
    postgres = not fresh_url.startswith("sqlite")
    store = connect(fresh_url, user="alice")
    team = store.create_team("t")
    product = store.create_product(team, "p")
    box = store.create_annotation_type(product, "box", vector_type=1)
    poly = store.create_annotation_type(product, "poly", vector_type=5)
    image_set = store.create_image_set(team, "s", products=[product])
    image = store.add_image(image_set, "i", width=10_000, height=10_000)
    rng = np.random.default_rng(6)
    x, y = rng.integers(0, 9_000, (2, 300))
    frame = pd.DataFrame(
        {"image": image.id, "annotation_type": box.id, "x_min": x, "y_min": y}
        | {"x_max": x + 25, "y_max": y + 40}
    )
    bulk_ids = store.add_annotations(frame)
    store.add_annotations(frame.iloc[:3].assign(x_min=frame.x_min[:3] + 0.5))  # kept as given
    single = store.add_annotation(image, box, {"x1": 1, "y1": 2, "x2": 3, "y2": 4})
    store.add_annotation(image, box, {"x1": 1, "y1": 2, "x2": 3, "y2": 4, "frame": 1})
    store.add_annotation(image, poly, {"x1": 10, "y1": 10, "x2": 90, "y2": 20, "x3": 15, "y3": 70})
    store.update_annotation(bulk_ids[0], base_revision=1, description="a revision row")
    version = store.create_version(image_set, "v")
    before = store.annotations(image_set=image_set, format="arrow")
    then = store.annotations(version=version, format="arrow")
    store.close()
    engine = make_engine(fresh_url)
    empty = sa.text("SELECT count(*) FROM {} WHERE vector IS NULL AND x_min IS NOT NULL")
    with engine.connect() as conn:
        # on PostgreSQL the bulk integer boxes, and the revision copied from one, have none
        assert conn.execute(sa.text(empty.text.format("annotations"))).scalar() == (
            300 if postgres else 0
        )
        assert conn.execute(sa.text(empty.text.format("annotation_revisions"))).scalar() == (
            1 if postgres else 0
        )
    command.downgrade(alembic_config(fresh_url), "0005")
    with engine.connect() as conn:
        for table in ("annotations", "annotation_revisions"):
            assert conn.execute(sa.text(empty.text.format(table))).scalar() == 0
        stored = conn.execute(
            sa.text("SELECT id, CAST(vector AS TEXT) FROM annotations ORDER BY id")
        ).all()
    # the vectors written back print exactly as the ones read before (JSON text in Arrow)
    assert [text for _, text in stored] == before.column("vector").to_pylist()
    upgrade(fresh_url, backup=False)
    with engine.connect() as conn:  # the single box's stored vector is emptied too
        assert conn.execute(sa.text(empty.text.format("annotations"))).scalar() == (
            301 if postgres else 0
        )
        assert conn.execute(sa.text(empty.text.format("annotation_revisions"))).scalar() == (
            1 if postgres else 0
        )
    engine.dispose()
    store = connect(fresh_url, user="alice")
    assert store.annotations(image_set=image_set, format="arrow").equals(before)
    assert store.annotations(version=version, format="arrow").equals(then)
    assert store.annotation(single.id).vector == {"x1": 1, "y1": 2, "x2": 3, "y2": 4}
    store.close()


def test_0008_compares_unique_identifiers_bytewise_on_postgresql_and_downgrades(
    fresh_url,
) -> None:
    """Uniqueness and upserts are unchanged; only the collation of the column (PostgreSQL)."""
    postgres = not fresh_url.startswith("sqlite")
    store = connect(fresh_url, user="alice")
    team = store.create_team("t")
    product = store.create_product(team, "p")
    box = store.create_annotation_type(product, "box", vector_type=1)
    image_set = store.create_image_set(team, "s", products=[product])
    image = store.add_image(image_set, "i", width=1_000, height=1_000)
    uids = ["b", "B", "a", "é", "e", "Z-1", "z-1"]  # differ only in case or accent
    rows = pd.DataFrame(
        {"image": image.id, "annotation_type": box.id, "unique_identifier": uids}
        | {"x_min": 1, "y_min": 1, "x_max": 9, "y_max": 9}
    )
    store.add_annotations(rows)
    with pytest.raises(Conflict):
        store.add_annotations(rows.iloc[:1])
    engine = make_engine(fresh_url)
    collation = sa.text(
        "SELECT collation_name FROM information_schema.columns "
        "WHERE table_name = 'annotations' AND column_name = 'unique_identifier'"
    )

    def stored() -> list[str]:
        with engine.connect() as conn:
            got = conn.execute(sa.text("SELECT unique_identifier FROM annotations ORDER BY 1"))
            return list(got.scalars())

    if postgres:
        with engine.connect() as conn:
            assert conn.execute(collation).scalar() == "C"
    assert stored() == sorted(uids)  # bytewise, like Python's str order of these strings
    command.downgrade(alembic_config(fresh_url), "0007")
    if postgres:
        with engine.connect() as conn:
            assert conn.execute(collation).scalar() is None  # the database's default again
    assert sorted(stored()) == sorted(uids)
    upgrade(fresh_url, backup=False)
    engine.dispose()
    store.close()
    store = connect(fresh_url, user="alice")
    again, created = store.upsert_annotation(image, "é", box, {"x1": 2, "y1": 2, "x2": 8, "y2": 8})
    assert not created  # found by the rebuilt unique key: overwritten, not added
    assert again.vector == {"x1": 2, "y1": 2, "x2": 8, "y2": 8}
    frame = store.annotations(image=image)
    assert sorted(frame["unique_identifier"]) == sorted(uids)
    with pytest.raises(Conflict):
        store.add_annotations(rows.iloc[3:4])
    store.close()
