"""``python -m service`` runs the ``vigil`` command."""

from service.cli.main import main

main()
