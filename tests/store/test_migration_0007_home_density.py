"""Migration 0007 (home-cell density kept on write, SQLite only) up and down on both databases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import command

from exact_lab.store import connect
from exact_lab.store.dbutil import alembic_config, upgrade
from exact_lab.store.sql.engine import make_engine
from tests.store.test_migrations import fresh_url  # noqa: F401 - the fixture

TRIGGERS = {
    "density_home_insert",
    "density_home_update",
    "density_home_delete",
    "density_home_resize",
    "density_home_image_gone",
}


def _schema(engine: sa.Engine) -> tuple[set[str], set[str]]:
    """(tables, density triggers) of the database."""
    with engine.connect() as conn:
        tables = set(sa.inspect(conn).get_table_names())
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        triggers = {r[0] for r in conn.execute(sa.text(sql))} & TRIGGERS
    return tables, triggers


def test_0007_up_down_up_keeps_annotations_and_counts_right(fresh_url) -> None:  # noqa: F811
    store = connect(fresh_url, user="alice")
    team = store.create_team("t")
    product = store.create_product(team, "p")
    kind = store.create_annotation_type(product, "k", vector_type=1)
    image_set = store.create_image_set(team, "s", products=[product])
    image = store.add_image(image_set, "i", width=1280, height=1000)
    home = 10.0  # the long side over 128: the cell SQLite keeps current
    rng = np.random.default_rng(7)
    x, y = rng.integers(0, 900, (2, 300))
    store.add_annotations(
        pd.DataFrame({"image": image.id, "annotation_type": kind.id, "x_min": x, "y_min": y,
                      "x_max": x + 20, "y_max": y + 20})
    )  # fmt: skip
    before = store.annotation_density(image, home)
    assert before["count"].sum() == 300
    store.close()
    engine = make_engine(fresh_url)
    sqlite = engine.dialect.name == "sqlite"
    tables, triggers = _schema(engine)
    if sqlite:
        assert "density_home" in tables
        assert triggers == TRIGGERS
    else:  # PostgreSQL counts every time: nothing kept, nothing slowing its COPY
        assert "density_home" not in tables
        assert not triggers

    command.downgrade(alembic_config(fresh_url), "0006")
    tables, triggers = _schema(engine)
    assert "density_home" not in tables
    assert not triggers
    with engine.begin() as conn:  # a write the old schema makes: no trigger counts it
        conn.execute(sa.text("UPDATE annotations SET deleted = true WHERE id <= 100"))
        assert conn.execute(sa.text("SELECT count(*) FROM annotations")).scalar() == 300

    upgrade(fresh_url, backup=False)
    store = connect(fresh_url, user="alice")
    after = store.annotation_density(image, home)  # SQLite: filled from the stored rows
    assert after["count"].sum() == 200
    if sqlite:
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT sum(n) FROM density_home")).scalar()
        assert kept == 200
    store.add_annotation(image, kind, {"x1": 1, "y1": 1, "x2": 5, "y2": 5})
    assert store.annotation_density(image, home)["count"].sum() == 201  # triggers are back
    store.close()
    engine.dispose()
