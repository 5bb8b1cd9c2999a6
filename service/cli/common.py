"""What every ``vigil`` command shares: its exit codes and the settings it is passed.

A leaf module: command modules import it, and ``main`` imports them, so any one command module
can be imported on its own.
"""

from __future__ import annotations

import click

from service import errors
from service.settings import Settings

EXIT_NEGATIVE = 1
EXIT_UNAVAILABLE = 3
EXIT_BAD_INPUT = 4
EXIT_CONFIG = 5

pass_settings = click.make_pass_decorator(Settings)


def exit_code_of(exc: errors.VigilError) -> int:
    if isinstance(exc, errors.Unavailable):
        return EXIT_UNAVAILABLE
    if isinstance(exc, errors.ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, errors.InputError | errors.NotFound | errors.Conflict):
        return EXIT_BAD_INPUT
    return EXIT_NEGATIVE
