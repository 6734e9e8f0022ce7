"""Registration: checksum, pseudonym, public metadata apart from private, nothing private served."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, timezone

import numpy as np
import tifffile

from exact_lab.tiles import DeepZoomGrid, TileService, file_checksum, pseudonym, register_image

WHEN = datetime(2024, 5, 17, 9, 30, tzinfo=timezone.utc)


def test_pseudonym_shape_and_collisions():
    taken: set[str] = set()
    for index in range(300):  # many names in one minute: all distinct
        name = pseudonym(f"slide-{index % 50}.svs", WHEN, taken)
        assert re.fullmatch(r"240517-0930-[0-9A-Z]{4}", name)
        assert name not in taken
        taken.add(name)
    assert pseudonym("a.svs", WHEN) == pseudonym("a.svs", WHEN)
    assert pseudonym("a.svs", WHEN) != pseudonym("b.svs", WHEN)


def test_registration_of_a_real_slide_keeps_identifying_data_private(tmp_path, sample_slides_dir):
    original = tmp_path / "Smith_John_1957-03-02.svs"
    shutil.copy(sample_slides_dir / "cmu_small_region.svs", original)
    reg = register_image(original, now=WHEN, taken_names={"240517-0930-0000"})
    assert reg.public_name.startswith("240517-0930-")
    assert reg.checksum == file_checksum(original)
    assert reg.public["width"] == 2220
    assert reg.public["mpp"] == 0.499
    assert reg.public["objective_power"] == 20
    assert reg.private["original_name"] == original.name
    assert reg.private["path"] == str(original.resolve())
    assert set(reg.private["associated_images"]) == {"label", "macro", "thumbnail"}
    private_props = reg.private["properties"]
    assert "aperio.User" in private_props

    secrets = [
        "Smith_John",
        str(tmp_path),
        private_props["aperio.User"],
        private_props["aperio.ScanScope ID"],
        private_props["aperio.Date"],
        "Aperio Image Library",
        "label",
        "macro",
    ]
    public_text = json.dumps(reg.public) + reg.public_name + repr(reg)
    for secret in secrets:
        assert secret not in public_text, secret

    # nothing private in any byte the tile service serves for this slide
    service = TileService(tile_size=240)
    served = [
        service.dzi(original).encode(),
        json.dumps(service.slide_information(original)).encode(),
        service.thumbnail(original),
        service.get_patch(original, x=0, y=0, level=0, width=512, height=512),
    ]
    grid = DeepZoomGrid((2220, 2967), tile_size=240)
    for level in range(grid.level_count):
        cols, rows = grid.level_tiles[level]
        served.extend(
            service.tile(original, level, col, row).data
            for col in range(cols)
            for row in range(rows)
        )
    assert any(b"Adobe" in blob for blob in served)  # pass-through tiles were among them
    for blob in served:
        for secret in secrets[:6]:
            assert secret.encode() not in blob, secret


def test_registration_of_a_converted_stack(tmp_path, conversion_dir):
    planes = np.stack([np.full((300, 400), v, np.uint8) for v in (10, 200)])
    path = tmp_path / "patient-doe-zstack.tif"
    tifffile.imwrite(path, planes, photometric="minisblack")
    reg = register_image(path, now=WHEN, conversion_dir=conversion_dir)
    assert reg.public["frames"] == 2
    assert reg.public["converted"] is True
    assert "patient-doe" not in json.dumps(reg.public)
    assert reg.private["original_name"] == "patient-doe-zstack.tif"
    assert len(reg.private["pyramids"]) == 2
