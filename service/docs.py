"""Generated parts of the README (settings table, CLI reference), kept honest by tests.

``python -m service.docs`` rewrites the marked blocks in README.md; ``tests/test_docs.py`` fails
when they drift from ``Settings`` or from the CLI's ``--help``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from service.settings import Settings


def settings_table() -> str:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        env = "DATABASE_URL" if name == "database_url" else f"VIGIL_{name.upper()}"
        default = field.default
        shown = "unset" if default is None else f"`{default}`"
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
        raise SystemExit(f"README.md has no '<!-- {name}:begin -->' block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def render(readme: str) -> str:
    readme = _replace_block(readme, "settings", settings_table())
    return _replace_block(readme, "cli", cli_reference())


if __name__ == "__main__":
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    path.write_text(render(path.read_text(encoding="utf-8")), encoding="utf-8")
