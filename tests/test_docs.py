"""The documentation matches the code and stays inside the repository.

The settings table (docs/operations.md) and the CLI reference (docs/cli.md) are generated, so
they cannot drift; every link resolves to a file here; nothing sends a reader elsewhere.
"""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli.main import cli
from service.docs import BLOCKS, OPENAPI, cli_reference, openapi_document, render, settings_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = [*sorted((ROOT / "docs").glob("*.md")), README, ROOT / "bench" / "RESULTS.md"]


@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_generated_blocks_are_current(block: str):
    text = BLOCKS[block].read_text(encoding="utf-8")
    assert render(block, text) == text, f"{BLOCKS[block].name} is stale: run 'python -m service.docs'"


def test_the_http_contract_is_the_committed_openapi_document():
    """A snapshot: any change to a path, schema, status or description shows up as a diff."""
    assert openapi_document() == OPENAPI.read_text(encoding="utf-8"), (
        "the API changed: review it, then run 'python -m service.docs' to update docs/openapi.json"
    )


def test_the_settings_table_shows_every_default_as_a_value():
    table = settings_table()
    assert "Undefined" not in table
    assert "| `VIGIL_JOB_MODULES` | unset |" in table


def test_readme_shows_the_two_commands_first_and_stays_short():
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```", 2)[1]
    assert "make run" in first_block
    assert "make test" in first_block
    assert len(text.splitlines()) < 150, "the README is a map: details belong in docs/"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_resolves_inside_the_repository(doc: Path):
    text = doc.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if target.startswith(("http://", "https://")):
            continue
        resolved = (doc.parent / target).resolve()
        assert resolved.is_relative_to(ROOT), f"{doc.name}: {target} is outside the repository"
        assert resolved.is_file(), f"{doc.name}: broken link {target}"
    for mentioned in re.findall(r"`((?:\.\./)+[^`\s]+)`", text):  # a path written out, not linked
        assert (doc.parent / mentioned).resolve().is_relative_to(ROOT), f"{doc.name}: {mentioned} is outside"


def test_every_doc_is_reachable_from_the_readme():
    text = README.read_text(encoding="utf-8")
    for doc in (ROOT / "docs").glob("*.md"):
        assert f"docs/{doc.name}" in text, f"README does not lead to docs/{doc.name}"
    assert "bench/RESULTS.md" in text


def test_every_command_in_the_reference_has_help():
    runner = CliRunner()
    for line in cli_reference().splitlines():
        if line.startswith("- `vigil "):
            words = line[len("- `vigil ") :].split(" [", 1)[0].split()
            words = [w for w in words if w.isalpha() or "-" in w]
            result = runner.invoke(cli, [*words, "--help"])
            assert result.exit_code == 0, (words, result.output)
            assert "Usage:" in result.output
