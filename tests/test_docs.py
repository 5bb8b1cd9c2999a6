"""The README's generated parts match the code (settings and CLI), so docs cannot drift."""

from pathlib import Path

from click.testing import CliRunner

from service.cli.main import cli
from service.docs import cli_reference, render, settings_table

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_settings_and_cli_blocks_are_current():
    text = README.read_text(encoding="utf-8")
    assert render(text) == text, "README is stale: run 'python -m service.docs'"
    assert settings_table() in text
    assert cli_reference() in text


def test_readme_shows_the_two_commands_first():
    text = README.read_text(encoding="utf-8")
    first_block = text.split("```", 2)[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_every_command_in_the_reference_has_help():
    runner = CliRunner()
    for line in cli_reference().splitlines():
        if line.startswith("- `vigil "):
            words = line[len("- `vigil ") :].split(" [", 1)[0].split()
            words = [w for w in words if w.isalpha() or "-" in w]
            result = runner.invoke(cli, [*words, "--help"])
            assert result.exit_code == 0, (words, result.output)
            assert "Usage:" in result.output
