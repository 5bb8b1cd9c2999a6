"""The log key: created on first start, private to its owner, the same across restarts."""

from __future__ import annotations

import base64

import pytest

from service.audit.checkpoints import KEY_FILE, LogSigner
from service.errors import ConfigError


def test_the_key_is_created_once_with_mode_0600(settings, services):
    path = settings.keys_dir / KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    again = LogSigner.from_settings(settings)
    assert again.public_key == services.log_signer.public_key
    assert len(base64.b64decode(again.public_key_b64)) == 32


def test_production_refuses_a_key_others_can_read(settings, services):
    path = settings.keys_dir / KEY_FILE
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        LogSigner.from_settings(settings.model_copy(update={"env": "production"}))


async def test_readiness_reports_the_log(client):
    ready = await client.get("/readyz")
    assert ready.json()["components"]["audit_log"]["state"] == "ok"
