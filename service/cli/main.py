"""Entry point and shared plumbing of the ``vigil`` command.

Exit codes (every command):
  0  success (for verify: trusted; for check: allow)
  1  a negative answer (not trusted, not allowed, verification failed)
  2  usage error (bad options or arguments)
  3  unavailable: the database, a key, a model or a trust anchor is missing or down
  4  bad input: a file or request Vigil refuses
  5  configuration error
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from service import errors
from service.cli.common import EXIT_CONFIG, exit_code_of
from service.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


class VigilGroup(click.Group):
    """Turns VigilErrors into a FAIL line with what to do next, and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.VigilError as exc:
            click.echo(f"FAIL: {exc.diagnostics()}", err=True)
            ctx.exit(exit_code_of(exc))


@click.group(cls=VigilGroup, help=__doc__.split("\n", 1)[1] if __doc__ else None)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="VIGIL_DATA_DIR",
    default=None,
    help="Instance directory (default ./.vigil).",
)
@click.version_option(package_name="vigil")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """Vigil: consent, disclosure and provenance gateway for generative media."""
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    try:
        ctx.obj = Settings(**overrides)
    except ValueError as exc:
        click.echo(f"FAIL: invalid configuration: {exc}", err=True)
        ctx.exit(EXIT_CONFIG)


def _register() -> None:
    from service.cli import (
        audit,
        bank,
        check,
        classify,
        db,
        demo,
        keys,
        labels,
        policy,
        provenance,
        serve,
        symbols,
        worker,
    )

    for module in (
        db,
        keys,
        labels,
        policy,
        serve,
        worker,
        audit,
        provenance,
        bank,
        symbols,
        classify,
        check,
        demo,
    ):
        module.register(cli)


_register()


def main() -> None:
    cli(prog_name="vigil")


if __name__ == "__main__":
    main()
    sys.exit(0)
