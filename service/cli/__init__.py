"""The ``vigil`` command: translate argv to domain calls and results to lines and exit codes."""
