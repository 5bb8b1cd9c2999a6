"""Generated parts of the documentation, kept honest by tests: the settings table in
``docs/operations.md``, the CLI reference in ``docs/cli.md`` and the HTTP contract in
``docs/openapi.json``.

``python -m service.docs`` rewrites them; ``tests/test_docs.py`` fails when they drift from
``Settings``, from the CLI's ``--help`` or from the API (a change to the API is then reviewed as
a diff of ``docs/openapi.json``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import click
from pydantic import AliasChoices

from service.settings import Settings


def _shown(value: object) -> str:
    """A default as a reader would write it: paths inside the repository relative to it, lists as JSON."""
    if isinstance(value, Path):
        return str(value.relative_to(ROOT)) if value.is_relative_to(ROOT) else str(value)
    if isinstance(value, tuple | list):
        return json.dumps([_shown(v) for v in value])
    return str(value)


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        env = alias.choices[0] if isinstance(alias, AliasChoices) else f"VIGIL_{name.upper()}"
        default = field.get_default(call_default_factory=True)
        shown = "unset" if default in (None, [], ()) else f"`{_shown(default)}`"
        rows.append(f"| `{env}` | {shown} | {field.description or ''} |")
    return "\n".join(rows)


def cli_reference() -> str:
    from service.cli.main import cli

    out: list[str] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        ctx = click.Context(cmd, info_name=" ".join(path))
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.list_commands(ctx)):
                sub = cmd.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    walk(sub, [*path, name])
            return
        usage = " ".join(cmd.collect_usage_pieces(ctx))
        out.append(f"- `{' '.join(path)} {usage}`")
        out.append(f"  {cmd.get_short_help_str(limit=200)}")

    walk(cli, ["vigil"])
    return "\n".join(out)


def _replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name}:begin -->\n).*?(<!-- {name}:end -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"no '<!-- {name}:begin -->' block to rewrite")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


ROOT = Path(__file__).resolve().parents[1]
BLOCKS = {"settings": ROOT / "docs" / "operations.md", "cli": ROOT / "docs" / "cli.md"}


OPENAPI = ROOT / "docs" / "openapi.json"


def openapi_document() -> str:
    """The OpenAPI document ``/openapi.json`` serves, with the default settings, keys sorted."""
    from service.app import create_app

    app = create_app(Settings(data_dir=ROOT / ".vigil-openapi-unused"))  # nothing is opened
    return json.dumps(app.openapi(), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def render(name: str, text: str) -> str:
    """``text`` with its ``name`` block replaced by what the code says now."""
    body = settings_table() if name == "settings" else cli_reference()
    return _replace_block(text, name, body)


if __name__ == "__main__":
    for block, path in BLOCKS.items():
        path.write_text(render(block, path.read_text(encoding="utf-8")), encoding="utf-8")
    OPENAPI.write_text(openapi_document(), encoding="utf-8")
