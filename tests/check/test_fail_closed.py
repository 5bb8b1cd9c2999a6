"""A configured image model that cannot load is 'could not tell', never 'clean': review, not allow."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.auth import Role
from service.settings import Settings
from tests.check.conftest import photo
from tests.conftest import KeyMaker, bearer


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """An instance whose operator configured an image model that was never pulled."""
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_json=False,
        db_pool_min=1,
        classify_image_model="never-pulled",
    )


async def test_an_unavailable_image_model_sends_an_ordinary_photo_to_review(
    client: httpx.AsyncClient, make_key: KeyMaker, tmp_path: Path
) -> None:
    upload = photo(tmp_path / "ordinary_photo_model_missing.jpg", 31)
    r = await client.post(
        "/v1/check",
        files={"file": (upload.name, upload.read_bytes(), "image/jpeg")},
        headers=bearer(make_key(Role.PLATFORM)),
    )
    assert r.status_code == 200, r.text
    verdict = r.json()
    assert verdict["decision"] == "review"
    [reason] = [x for x in verdict["reasons"] if x["rule"] == "signal.image_model.unavailable"]
    assert reason["source"] == "image_model"
    assert "image_model" not in verdict["missing_signals"]  # not missing by choice: broken
    assert verdict["flag_id"] is not None
    assert (await client.get("/readyz")).status_code == 503
