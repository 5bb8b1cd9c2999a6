"""``vigil policy lint [DIR]``."""

from __future__ import annotations

from pathlib import Path

import click

from service.cli.common import pass_settings
from service.policy.load import load_policies
from service.settings import Settings


@click.group("policy")
def policy_group() -> None:
    """Content policy files."""


@policy_group.command("lint")
@click.argument("directory", required=False, type=click.Path(file_okay=False, path_type=Path))
@pass_settings
def lint_cmd(settings: Settings, directory: Path | None) -> None:
    """Check policy files; errors name the file, key path and problem (exit 5)."""
    root = directory or settings.policy_root
    policies = load_policies(root)  # a PolicyError becomes 'FAIL: file: key: problem', exit 5
    markets = ", ".join(sorted(policies.policies))
    click.echo(f"OK: {root} is valid (version {policies.version}; markets {markets})")


def register(cli: click.Group) -> None:
    cli.add_command(policy_group)
