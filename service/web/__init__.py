"""Server-rendered reviewer and auditor pages (Jinja2 + htmx) and their static assets.

Templates extend ``base.html``; autoescaping is on for every template, so captions, file names
and reasons are rendered escaped. Static files are served from ``/static``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"


def make_templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return Jinja2Templates(env=env)


templates = make_templates()
