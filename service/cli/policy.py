"""``vigil policy lint [DIR]``."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.common import pass_settings
from service.policy.load import load_policies
from service.review import policy as review_policy
from service.settings import Settings


@click.group("policy")
def policy_group() -> None:
    """Content policy files."""


@policy_group.command("lint")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@pass_settings
def lint_cmd(settings: Settings, directory: Path | None) -> None:
    """Check policy files and the review policy; errors name the file, key path and problem (exit 5).

    The review policy must give every category a flow can file a flag under its severity and SLA.
    """
    root = directory or settings.policy_root
    policies = load_policies(root)  # a PolicyError becomes 'FAIL: file: key: problem', exit 5
    review_path = settings.review_policy or review_policy.DEFAULT_PATH
    review = review_policy.load(review_path)  # a ConfigError names the missing or unknown category
    markets = ", ".join(sorted(policies.policies))
    click.echo(f"OK: {root} is valid (version {policies.version}; markets {markets})")
    click.echo(f"OK: {review_path} routes all {len(review.categories) - 1} flag categories")


def register(cli: click.Group) -> None:
    cli.add_command(policy_group)
