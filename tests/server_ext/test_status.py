"""The extension loads into a real Jupyter server and answers its status routes."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

import exact_lab


async def test_status_reports_version_and_store_kind(jp_fetch):
    response = await jp_fetch("exact", "api", "status")
    assert response.code == 200
    payload = json.loads(response.body)
    assert payload["extension"] == "exact_lab"
    assert payload["version"] == exact_lab.__version__
    assert payload["store"] == "sqlite"
    assert payload["user"]


async def test_landing_page_is_html(jp_fetch):
    response = await jp_fetch("exact")
    assert response.headers["Content-Type"].startswith("text/html")
    assert b"exact_lab is running" in response.body
    assert exact_lab.__version__.encode() in response.body


async def test_status_requires_authentication(jp_fetch):
    with pytest.raises(HTTPClientError) as err:
        await jp_fetch("exact", "api", "status", headers={"Authorization": ""})
    assert err.value.code == 403


def test_store_kind_hides_credentials():
    from exact_lab.server_ext.handlers import store_kind

    assert store_kind("postgresql+psycopg://alice:secret@db:5432/exact") == "postgresql"
    assert store_kind("postgres://db/exact") == "postgresql"
    assert store_kind("sqlite:////data/exact_lab.sqlite") == "sqlite"
