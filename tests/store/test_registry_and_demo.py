"""connect(): schemes, default URL and acting user; the demo workspace seeding."""

from __future__ import annotations

import getpass

import pytest

from exact_lab.errors import BadInput
from exact_lab.store import Store, connect
from exact_lab.store.demo import DEMO_SET, DEMO_TEAM, seed_demo_workspace


def test_connect_defaults_to_the_data_dir_and_the_hub_user(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("EXACT_LAB_URL", raising=False)
    monkeypatch.setenv("EXACT_LAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTERHUB_USER", "hub-alice")
    store = connect()
    assert store.user.username == "hub-alice"
    store.close()
    assert (tmp_path / "data" / "exact_lab.sqlite").is_file()
    monkeypatch.delenv("JUPYTERHUB_USER")
    store = connect()
    assert store.user.username == getpass.getuser()
    store.close()


def test_connect_honours_exact_lab_url(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EXACT_LAB_URL", f"sqlite:///{tmp_path / 'elsewhere.sqlite'}")
    connect(user="u").close()
    assert (tmp_path / "elsewhere.sqlite").is_file()


def test_http_and_unknown_schemes_explain_themselves() -> None:
    with pytest.raises(BadInput, match="needs a personal access token"):
        connect("https://hub.example/services/exact", user="u")
    with pytest.raises(BadInput, match="unknown scheme 'ftp'"):
        connect("ftp://x/y", user="u")


def test_demo_workspace_is_idempotent(store_factory) -> None:
    store: Store = store_factory("demo-owner")
    slides = [
        {
            "name": "260101-0900-AAAA",
            "width": 2220,
            "height": 2967,
            "mpp": 0.499,
            "original_name": "cmu_small_region.svs",
            "path": "/slides/cmu_small_region.svs",
        },
        {"name": "260101-0901-BBBB", "width": 2048, "height": 1536, "mpp": 0.25},
    ]
    first = seed_demo_workspace(store, slides)
    assert first["annotations"] == first["added"] == 600
    second = seed_demo_workspace(store, slides)
    assert second["added"] == 0
    assert {k: v for k, v in second.items() if k != "added"} == {
        k: v for k, v in first.items() if k != "added"
    }
    team = store.team_named(DEMO_TEAM)
    image_set = store.image_set_named(team, DEMO_SET)
    assert [i.name for i in store.images(image_set)] == [s["name"] for s in slides]
    assert {t.name for t in store.annotation_types(image_set=image_set)} >= {
        "mitotic figure",
        "tumour region",
    }
    frame = store.annotations(image_set=image_set)
    assert (
        frame["x_max"] <= frame["image"].map({i.id: i.width for i in store.images(image_set)})
    ).all()
