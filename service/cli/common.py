"""What every ``vigil`` command shares: its exit codes and the settings it is passed.

A leaf module: command modules import it, and ``main`` imports them, so any one command module
can be imported on its own.
"""

from __future__ import annotations

import click

from service import errors
from service.composition import open_services
from service.services import Services
from service.settings import Settings

EXIT_NEGATIVE = 1
EXIT_UNAVAILABLE = 3
EXIT_BAD_INPUT = 4
EXIT_CONFIG = 5

pass_settings = click.make_pass_decorator(Settings)


def open_instance(settings: Settings) -> Services:
    """The instance at ``settings.data_dir`` (or on ``DATABASE_URL``), never a new one: only
    ``vigil serve``, ``vigil demo`` and ``vigil db migrate`` create an instance, so a command run
    from the wrong folder says so instead of starting an empty instance with its own log key."""
    if settings.database_url is None and not settings.pg_dir.exists():
        raise errors.Unavailable(
            f"No Vigil instance at {settings.data_dir}: pass --data-dir or set VIGIL_DATA_DIR to the "
            "instance's folder, or set DATABASE_URL (create one with 'vigil serve' or 'vigil db migrate')."
        )
    return open_services(settings)


def exit_code_of(exc: errors.VigilError) -> int:
    if isinstance(exc, errors.Unavailable):
        return EXIT_UNAVAILABLE
    if isinstance(exc, errors.ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, errors.InputError | errors.NotFound | errors.Conflict):
        return EXIT_BAD_INPUT
    return EXIT_NEGATIVE
