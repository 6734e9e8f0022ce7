"""The real exact-sync client from PyPI, unchanged, against a standalone ``exact-lab serve``.

The server runs as a subprocess (``python -m exact_lab.cli serve``) on SQLite and on
PostgreSQL; the client authenticates with HTTP Basic: username and password (set with
``Store.set_password``), or a personal access token as the password, or a Bearer token.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from PIL import Image as PILImage

from exact_lab.store import connect
from tests.store.conftest import start_server

exact_sync = pytest.importorskip("exact_sync")

from exact_sync.v1.api.annotation_media_files_api import AnnotationMediaFilesApi  # noqa: E402
from exact_sync.v1.api.annotation_types_api import AnnotationTypesApi  # noqa: E402
from exact_sync.v1.api.annotations_api import AnnotationsApi  # noqa: E402
from exact_sync.v1.api.image_sets_api import ImageSetsApi  # noqa: E402
from exact_sync.v1.api.images_api import ImagesApi  # noqa: E402
from exact_sync.v1.api.products_api import ProductsApi  # noqa: E402
from exact_sync.v1.api.set_tags_api import SetTagsApi  # noqa: E402
from exact_sync.v1.api.teams_api import TeamsApi  # noqa: E402
from exact_sync.v1.api.users_api import UsersApi  # noqa: E402
from exact_sync.v1.api_client import ApiClient  # noqa: E402
from exact_sync.v1.configuration import Configuration  # noqa: E402
from exact_sync.v1.models import (  # noqa: E402
    Annotation,
    AnnotationType,
    ImageSet,
    Product,
    SetTag,
    Team,
)
from exact_sync.v1.rest import ApiException  # noqa: E402

ANN_PASSWORD = "ann's real password"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """A running ``exact-lab serve``, a password and a token of user ``ann``, a token of ``eve``."""
    folder = tmp_path_factory.mktemp("serve")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'exact.sqlite'}"
    else:
        url = request.getfixturevalue("pg_url")
    with connect(url, user="ann") as store:
        token = store.create_token("exact-sync").plain
        store.set_password("ann", ANN_PASSWORD)
    with connect(url, user="eve") as store:
        eve_token = store.create_token("exact-sync").plain
    base = start_server(request, folder, url)  # stopped when the module's tests end
    return {"host": base, "token": token, "eve_token": eve_token, "url": url,
           "password": ANN_PASSWORD}  # fmt: skip


def client(served: dict[str, Any], user: str = "ann", secret: str = "password") -> ApiClient:
    cfg = Configuration()
    cfg.host = served["host"]
    cfg.username = user
    cfg.password = served[secret]
    return ApiClient(cfg)


def test_the_exact_sync_workflow(
    served: dict[str, Any], sample_slides_dir: Path, tmp_path: Path
) -> None:
    api = client(served)
    teams, products, types = TeamsApi(api), ProductsApi(api), AnnotationTypesApi(api)
    sets, images, annotations = ImageSetsApi(api), ImagesApi(api), AnnotationsApi(api)

    team = teams.create_team(body=Team(name="Pathology"))
    assert team.name == "Pathology"
    product = products.create_product(body=Product(name="Mitosis", team=team.id))
    kind = types.create_annotation_type(
        body=AnnotationType(name="mitotic figure", product=product.id, vector_type=1)
    )
    assert kind.id
    image_set = sets.create_image_set(body=ImageSet(name="Breast cases", team=team.id,
                                                    product_set=[product.id]))  # fmt: skip
    assert image_set.team == team.id
    listed = sets.list_image_sets(name="Breast cases")
    assert [s.id for s in listed.results] == [image_set.id]
    assert types.list_annotation_types(product=product.id).results[0].name == "mitotic figure"

    slide = sample_slides_dir / "cmu_small_region.svs"
    image = images.create_image(file_path=str(slide), image_type=0, image_set=image_set.id).results[
        0
    ]
    assert (image.width, image.height) == (2220, 2967)
    assert image.filename == "cmu_small_region.svs"  # ann is a team admin
    assert image.name != image.filename  # the public name is a pseudonym
    again = images.create_image(file_path=str(slide), image_type=0, image_set=image_set.id)
    assert again.results == []  # duplicates are skipped, as in EXACT
    assert images.list_images(image_set=image_set.id).count == 1

    body = [
        Annotation(annotation_type=kind.id, image=image.id, unique_identifier=str(uuid.uuid4()),
                   vector={"x1": 10 + i, "y1": 20, "x2": 40 + i, "y2": 60})
        for i in range(120)
    ]  # fmt: skip
    created = annotations.create_annotation(body=body)
    assert len(created) == 120
    everything = annotations.list_annotations(pagination=False, image=image.id, limit=25)
    assert everything.count == 120
    assert sorted(a.id for a in everything.results) == sorted(a.id for a in created)
    assert {a.vector["y2"] for a in everything.results} == {60}

    first = created[0]
    changed = annotations.partial_update_annotation(first.id, description="checked",
                                                    vector={"x1": 1, "y1": 2, "x2": 3, "y2": 4})  # fmt: skip
    assert changed.description == "checked"
    assert annotations.retrieve_annotation(first.id).vector == {"x1": 1, "y1": 2, "x2": 3, "y2": 4}

    gone = annotations.multiple_delete(id__in=f"{created[1].id},{created[2].id}")
    assert gone.status == 200
    assert json.loads(gone.data) == {"annotations.Annotation": 2}
    live = annotations.list_annotations(pagination=False, image=image.id, deleted=False, limit=50)
    assert live.count == 118
    assert {created[1].id, created[2].id}.isdisjoint(a.id for a in live.results)

    sets.partial_update_image_set(image_set.id, description="first batch", public=True, priority=1)
    assert sets.retrieve_image_set(image_set.id).description == "first batch"
    types.partial_update_annotation_type(kind.id, color_code="#00FF00")
    assert types.retrieve_annotation_type(kind.id).color_code == "#00FF00"

    target = tmp_path / "thumb.png"
    images.download_thumbnail(image.id, target_path=target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    info = images.get_slide_information(image.id)  # (its to_dict/repr are broken in exact-sync)
    assert info.level_dimensions[0] == [2220, 2967]
    assert len(info.level_tiles) == info.levels
    patch = images.get_patch(image.id, x=100, y=100, level=0, width=64, height=48)
    assert patch.size == (64, 48)

    me = UsersApi(api).list_users(username="ann").results[0]
    assert me.username == "ann"


def test_exact_sync_outsider_and_bad_credentials(served: dict[str, Any]) -> None:
    eve = ImageSetsApi(client(served, "eve", "eve_token"))
    assert eve.list_image_sets().count == 0
    by_token = ImageSetsApi(client(served, "ann", "token")).list_image_sets()  # token as password
    by_password = ImageSetsApi(client(served)).list_image_sets()
    assert [s.id for s in by_token.results] == [s.id for s in by_password.results]
    for user, password in (("ann", ANN_PASSWORD[:-1]), ("eve", ANN_PASSWORD)):
        cfg = Configuration()
        cfg.host, cfg.username, cfg.password = served["host"], user, password
        with pytest.raises(ApiException) as err:
            ImageSetsApi(ApiClient(cfg)).list_image_sets()
        assert err.value.status == 403
        assert json.loads(err.value.body) == {"detail": "Invalid username/password."}
    wrong_user = ImageSetsApi(client(served, "ann", "eve_token"))
    with pytest.raises(ApiException) as err:
        wrong_user.list_image_sets()
    assert err.value.status == 403
    cfg = Configuration()
    cfg.host = served["host"]  # default credentials exact/exact
    with pytest.raises(ApiException) as err:
        ImageSetsApi(ApiClient(cfg)).list_image_sets()
    assert err.value.status == 403


def test_exact_sync_bearer_token(served: dict[str, Any]) -> None:
    cfg = Configuration()
    cfg.host = served["host"]
    cfg.username = cfg.password = ""
    cfg.token = served["token"]
    users = UsersApi(ApiClient(cfg)).list_users()
    assert [u.username for u in users.results][:1] == ["ann"]


def test_exact_sync_set_tags_and_media_files(served: dict[str, Any], tmp_path: Path) -> None:
    api = client(served)
    team = TeamsApi(api).create_team(body=Team(name="Tagging"))
    product = ProductsApi(api).create_product(body=Product(name="Cells", team=team.id))
    kind = AnnotationTypesApi(api).create_annotation_type(
        body=AnnotationType(name="cell", product=product.id, vector_type=1)
    )
    sets = ImageSetsApi(api)
    image_set = sets.create_image_set(body=ImageSet(name="Tagged", team=team.id,
                                                    product_set=[product.id]))  # fmt: skip
    tags = SetTagsApi(api)
    tag = tags.create_set_tag(body=SetTag(name="her2", imagesets=[image_set.id]))
    assert (tag.name, tag.imagesets) == ("her2", [image_set.id])
    listed = tags.list_set_tags(name="her2")
    assert [t.id for t in listed.results] == [tag.id]
    assert sets.retrieve_image_set(image_set.id).set_tags == [tag.id]
    tags.destroy_set_tag(tag.id)
    assert tags.list_set_tags(name="her2").count == 0

    with connect(served["url"], user="ann") as store:  # an image without a slide file
        image = store.add_image(image_set.id, f"img-{uuid.uuid4().hex[:6]}", width=100, height=100)
    made = AnnotationsApi(api).create_annotation(body=Annotation(
        annotation_type=kind.id, image=image.id, unique_identifier=str(uuid.uuid4()),
        vector={"x1": 1, "y1": 1, "x2": 9, "y2": 9}))  # fmt: skip
    picture = tmp_path / "cell.png"
    PILImage.new("RGB", (8, 8), (10, 200, 10)).save(picture)
    media = AnnotationMediaFilesApi(api)
    media.create_annotation_media_file(name="close-up", media_file_type=2, file=str(picture),
                                       annotation=made.id)  # fmt: skip
    files = media.list_annotation_media_files(annotation=made.id)
    assert [f.name for f in files.results] == ["close-up"]
    download = urllib.request.Request(files.results[0].file, headers=api.default_headers)
    download.add_header("Authorization", api.configuration.get_basic_auth_token())
    with urllib.request.urlopen(download) as answer:
        assert answer.read() == picture.read_bytes()
    media.destroy_annotation_media_file(files.results[0].id)
    assert media.list_annotation_media_files(annotation=made.id).count == 0
