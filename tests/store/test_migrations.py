"""Schema creation from empty, SchemaMismatch on old schemas, upgrade with SQLite backup."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from exact_lab.errors import SchemaMismatch
from exact_lab.store import connect
from exact_lab.store.dbutil import current_revision_of, head_revision, upgrade


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
