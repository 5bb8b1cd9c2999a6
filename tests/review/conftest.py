"""Review tests run on a fixed policy: no random QA sample except in the ``provenance`` category
(every one of those is double-reviewed), so QA tests file their flags there."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings

POLICY = """
age_doubling_hours: 12
categories:
  default:             {severity: 2, sla_hours: 48, double_review: 0.0}
  minors_militarised:  {severity: 5, sla_hours: 2,  double_review: 0.0}
  extremist_symbols:   {severity: 4, sla_hours: 8,  double_review: 0.0}
  dehumanisation:      {severity: 4, sla_hours: 8,  double_review: 0.0}
  propaganda_poster:   {severity: 4, sla_hours: 8,  double_review: 0.0}
  war_glorification:   {severity: 3, sla_hours: 24, double_review: 0.0}
  combatant_martyrdom: {severity: 3, sla_hours: 24, double_review: 0.0}
  consent:             {severity: 4, sla_hours: 8,  double_review: 0.0}
  hash_match:          {severity: 4, sla_hours: 4,  double_review: 0.0}
  provenance:          {severity: 3, sla_hours: 24, double_review: 1.0}
  disclosure:          {severity: 2, sla_hours: 48, double_review: 0.0}
  unscreened:          {severity: 2, sla_hours: 24, double_review: 0.0}
  appeal:              {severity: 3, sla_hours: 72, double_review: 0.0}
"""


# The shipped citations and ready-made rationales, as the decision form offers them.
SHIPPED = (Path(__file__).resolve().parents[2] / "policies" / "review.yaml").read_text()
POLICY += SHIPPED[SHIPPED.index("\nguidance:") :]


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
