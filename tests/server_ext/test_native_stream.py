"""The native Arrow read streams large answers in record batches: one stream, every row."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from exact_lab.server_ext._native import BATCH_ROWS
from exact_lab.store import frames
from tests.server_ext.conftest import World, call

NATIVE = "exact/api/native"


@pytest.fixture
def jp_server_config(exact_server_config: dict[str, Any]) -> dict[str, Any]:
    return exact_server_config


async def test_large_read_arrives_whole_in_batches(jp_fetch: Any, world: World) -> None:
    ann = world.stores["ann"]
    image = ann.add_image(world.image_set, "many-boxes", width=50_000, height=50_000)
    n = 2 * BATCH_ROWS + 123
    x = np.arange(n, dtype=float)
    ids = ann.add_annotations(
        pd.DataFrame({"image": image.id, "annotation_type": world.box.id,
                      "x_min": x, "y_min": x, "x_max": x + 3, "y_max": x + 4})
    )  # fmt: skip
    response = await call(
        jp_fetch, f"{NATIVE}/images/{image.id}/annotations", headers=world.auth("max")
    )
    assert response.code == 200
    assert response.headers["X-Row-Count"] == str(n)
    reader = pa.ipc.open_stream(pa.py_buffer(response.body))
    batches = list(reader)
    sizes = [b.num_rows for b in batches]
    assert sum(sizes) == n
    assert len(sizes) >= 3
    assert max(sizes) <= BATCH_ROWS
    table = pa.Table.from_batches(batches)
    assert table.schema == frames.arrow_schema()
    assert table.column("id").to_pylist() == sorted(ids)
    assert table.equals(world.stores["max"].annotations(image=image, format="arrow"))
    last = json.loads(table.column("vector")[-1].as_py())
    assert last == {"x1": n - 1, "y1": n - 1, "x2": n + 2, "y2": n + 3}
    empty = await call(
        jp_fetch, f"{NATIVE}/images/{world.image.id}/annotations",
        params={"types": "999999"}, headers=world.auth("max"),
    )  # fmt: skip
    assert pa.ipc.open_stream(pa.py_buffer(empty.body)).read_all().num_rows == 0
