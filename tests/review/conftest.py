"""Review tests run on a fixed policy: no random QA sample except in the ``qa`` category."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings

POLICY = """
age_doubling_hours: 12
categories:
  default:    {severity: 2, sla_hours: 48, double_review: 0.0}
  propaganda: {severity: 4, sla_hours: 8,  double_review: 0.0}
  minors:     {severity: 5, sla_hours: 2,  double_review: 0.0}
  violence:   {severity: 3, sla_hours: 24, double_review: 0.0}
  disclosure: {severity: 2, sla_hours: 48, double_review: 0.0}
  appeal:     {severity: 3, sla_hours: 72, double_review: 0.0}
  qa:         {severity: 3, sla_hours: 24, double_review: 1.0}
"""


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    policy = tmp_path / "review.yaml"
    policy.write_text(POLICY)
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        log_json=False,
        db_pool_min=1,
        review_policy=policy,
    )
