"""``vigil check FILE [--text TEXT] [--json]`` and ``vigil check --text TEXT``: the check flow
from the command line, against this instance's policy, banks and manifest repository."""

from __future__ import annotations

import json
from pathlib import Path

import click

from service.auth import store as auth_store
from service.cli.common import EXIT_NEGATIVE, open_instance, pass_settings
from service.composition import check_flow
from service.media.intake import inspect
from service.media.sniff import CHECKABLE
from service.pipeline.check import CheckRequest
from service.policy.model import Decision, TextSource, verdict_to_dict
from service.settings import Settings


@click.command("check")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--text", default=None, help="Caption or transcript sent with the file (or alone).")
@click.option(
    "--text-source",
    type=click.Choice([TextSource.CAPTION.value, TextSource.TRANSCRIPT.value]),
    default=TextSource.CAPTION.value,
    show_default=True,
    help="What --text is: the file's caption or a transcript of its audio (reasons name it).",
)
@click.option("--market", default="default", show_default=True, help="default, eu, cn or us-ca.")
@click.option(
    "--tenant", default="default", show_default=True, help="Tenant whose banks and review queue count."
)
@click.option("--json", "as_json", is_flag=True, help="Print the Verdict as one JSON object.")
@pass_settings
def check_cmd(
    settings: Settings,
    file: Path | None,
    text: str | None,
    text_source: str,
    market: str,
    tenant: str,
    as_json: bool,
) -> None:
    """Decide allow / label / review / block for FILE and/or --text.

    The first line starts with the decision in capitals (ALLOW, LABEL, REVIEW, BLOCK). Exit 0 only
    for allow; 1 for label (publish only with the label), review (a person decides first) and
    block, so a script that publishes on exit 0 never skips a label or a review."""
    if file is None and text is None:
        raise click.UsageError("give a FILE, --text TEXT, or both")
    services = open_instance(settings)
    try:
        with services.db.system() as conn:
            tenant_id = auth_store.ensure_tenant(conn, tenant).id
        media = inspect(file, services.limits, accept=CHECKABLE) if file is not None else None
        request = CheckRequest(
            tenant_id=tenant_id, market=market, media=media, text=text, text_source=TextSource(text_source)
        )
        outcome = check_flow(services).check(request)
    finally:
        services.close()
    verdict = outcome.verdict
    if as_json:
        data = verdict_to_dict(verdict)
        data["check_id"] = str(outcome.check_id)
        data["flag_id"] = str(outcome.flag_id) if outcome.flag_id else None
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        what = str(file) if file is not None else "text"
        labels = ", ".join(label.label for label in verdict.required_labels)
        line = f"{what}: {verdict.decision.value} (policy {verdict.policy_version})"
        if labels:
            line += f"; labels required: {labels}"
        click.echo(f"{verdict.decision.value.upper()}: {line}")
        for reason in verdict.reasons:
            click.echo(f"  {reason.rule} [{reason.source}]: {reason.detail}")
        if outcome.flag_id is not None:
            click.echo(f"  queued for review as flag {outcome.flag_id}")
    if verdict.decision is not Decision.ALLOW:
        raise SystemExit(EXIT_NEGATIVE)


def register(cli: click.Group) -> None:
    cli.add_command(check_cmd)
