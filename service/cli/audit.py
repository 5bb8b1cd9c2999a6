"""``vigil audit verify|checkpoint|key|export``: the auditor's side of the transparency log."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from service.audit import sources
from service.audit.verify import Report, VerifiedCheckpoint, verify
from service.cli.common import EXIT_NEGATIVE, open_instance, pass_settings
from service.errors import MalformedRequest
from service.services import Services
from service.settings import Settings


@click.group("audit")
def audit_group() -> None:
    """The transparency log: verify it, print its key and checkpoint, export it."""


@contextmanager
def _local(settings: Settings) -> Iterator[Services]:
    services = open_instance(settings)
    try:
        yield services
    finally:
        services.close()


def _key_from(
    public_key: str | None, origin: str | None, state: VerifiedCheckpoint | None
) -> tuple[str, bytes] | None:
    if public_key is not None:
        if origin is None:
            raise MalformedRequest("--public-key needs --origin (the checkpoints' first line).")
        try:
            raw = base64.b64decode(public_key, validate=True)
        except binascii.Error as exc:
            raise MalformedRequest("--public-key must be base64 of a 32-byte Ed25519 key.") from exc
        if len(raw) != 32:
            raise MalformedRequest("--public-key must be base64 of a 32-byte Ed25519 key.")
        return origin, raw
    if state is not None:
        return state.origin, base64.b64decode(state.public_key)
    return None


@audit_group.command("verify")
@click.option("--url", help="A running Vigil to verify over HTTP (needs --token).")
@click.option("--token", envvar="VIGIL_TOKEN", help="Any API key of that instance (env VIGIL_TOKEN).")
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Verify an export written by 'vigil audit export' (offline).",
)
@click.option("--public-key", help="Base64 Ed25519 key of the log (GET /v1/log/key); with --origin.")
@click.option("--origin", help="The log's origin line.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON file holding the last verified checkpoint; checked for consistency, then updated.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    help="Check N random entries by inclusion proof instead of every entry.",
)
@click.option("--seed", type=int, help="Seed of the sample (to repeat a run).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def verify_cmd(
    settings: Settings,
    url: str | None,
    token: str | None,
    export_dir: Path | None,
    public_key: str | None,
    origin: str | None,
    state_path: Path | None,
    sample: int | None,
    seed: int | None,
    as_json: bool,
) -> None:
    """Verify the checkpoint signature, consistency with --state, and every entry (or --sample).

    Without --url or --export it reads the instance under --data-dir directly.
    """
    previous = VerifiedCheckpoint.load(state_path) if state_path else None
    key = _key_from(public_key, origin, previous)
    if (
        previous is not None
        and key is not None
        and key != (previous.origin, base64.b64decode(previous.public_key))
    ):
        raise MalformedRequest(
            f"{state_path} was saved for another log key or origin; use a new --state file for this log."
        )
    if url is not None:
        if not token:
            raise MalformedRequest("--url needs --token (any API key of that instance).")
        http = sources.HttpSource(url, token)
        try:
            report, state = _run(http, key, previous, sample, seed)
        finally:
            http.close()
    elif export_dir is not None:
        if key is None:
            raise MalformedRequest("An export is verified against --public-key and --origin (or --state).")
        report, state = _run(sources.ExportSource(export_dir), key, previous, sample, seed)
    else:
        with _local(settings) as services:
            signer = services.log_signer
            local = sources.DatabaseSource(services.db, signer.issue)
            if key is None:
                click.echo(
                    "WARNING: no --public-key or --state: checking the log against this instance's own "
                    f"key ({base64.b64encode(signer.public_key).decode()}). Someone who can rewrite the "
                    "database can rewrite that too: pin the key you published with --public-key and "
                    "--origin, or keep a --state file.",
                    err=True,
                )
            report, state = _run(local, key or (signer.origin, signer.public_key), previous, sample, seed)
    if state is not None and state_path is not None:
        state.save(state_path)
    _print(report, as_json)
    if not report.passed:
        click.get_current_context().exit(EXIT_NEGATIVE)


def _run(
    source: sources.LogSource,
    key: tuple[str, bytes] | None,
    previous: VerifiedCheckpoint | None,
    sample: int | None,
    seed: int | None,
) -> tuple[Report, VerifiedCheckpoint | None]:
    if key is None:
        key = source.key()
        if key is None:
            raise MalformedRequest("Give the log's --public-key and --origin.")
        click.echo("note: trusting the key the log serves (pass --public-key to pin it)", err=True)
    origin, public = key
    shown = [0]

    def progress(done: int, total: int) -> None:
        # One line per tenth (and the end), on stderr (stdout stays one JSON object with --json).
        if total == 0:
            return
        tenth = done * 10 // total
        if tenth > shown[0] or done == total:
            shown[0] = tenth
            click.echo(f"verifying: {done}/{total} entries", err=True)

    return verify(
        source,
        origin=origin,
        public_key=public,
        previous=previous,
        sample=sample,
        progress=progress,
        seed=seed,
    )


def _print(report: Report, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.to_json()))
        return
    for problem in report.problems:
        where = f" at index {problem.index}" if problem.index is not None else ""
        click.echo(f"FAIL: {problem.finding}{where}: {problem.detail}")
    if report.passed:
        since = f", consistent with size {report.previous_size}" if report.previous_size is not None else ""
        click.echo(
            f"OK: {report.origin} size {report.size} root {report.root}: "
            f"{report.checked} entries verified ({report.mode}){since}"
        )


@audit_group.command("checkpoint")
@pass_settings
def checkpoint_cmd(settings: Settings) -> None:
    """Issue (or reprint) the signed checkpoint of the tree now."""
    with _local(settings) as services, services.db.system() as conn:
        text = services.log_signer.issue(conn)
    click.echo(text, nl=False)


@audit_group.command("key")
@pass_settings
def key_cmd(settings: Settings) -> None:
    """Print the log's origin and public key as JSON (the same as GET /v1/log/key)."""
    with _local(settings) as services:
        signer = services.log_signer
        click.echo(json.dumps({"origin": signer.origin, "public_key": signer.public_key_b64}))


@audit_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@pass_settings
def export_cmd(settings: Settings, directory: Path) -> None:
    """Write a signed checkpoint, every entry it covers and the stored leaf hashes to DIRECTORY.

    'vigil audit verify --export DIRECTORY --public-key KEY --origin ORIGIN' checks it offline.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with _local(settings) as services:
        with services.db.system() as conn:
            text = services.log_signer.issue(conn)
        size = int(text.split("\n")[1])
        local = sources.DatabaseSource(services.db, services.log_signer.issue)
        with (directory / "entries.jsonl").open("w", encoding="utf-8") as out:
            for index, data in local.entries(0, size):
                out.write(json.dumps({"index": index, "data": base64.b64encode(data).decode()}) + "\n")
        with (directory / "leaves.bin").open("wb") as leaves:
            for leaf in sources.stored_leaves(services.db, size):
                leaves.write(leaf)
        with (directory / "checkpoints.jsonl").open("w", encoding="utf-8") as history:
            for signed in local.history():
                history.write(json.dumps({"note": signed}) + "\n")
    (directory / "checkpoint").write_text(text, encoding="utf-8")
    click.echo(f"OK: exported {size} entries to {directory}")


@audit_group.command("cosign")
@click.option(
    "--size", type=click.IntRange(min=0), required=True, help="Tree size of the checkpoint co-signed."
)
@click.argument("signature")
@pass_settings
def cosign_cmd(settings: Settings, size: int, signature: str) -> None:
    """Add a configured witness's SIGNATURE line ('— name base64') to the checkpoint of --size."""
    with _local(settings) as services, services.db.system() as conn:
        witness = services.log_signer.add_cosignature(conn, size, signature)
    click.echo(f"OK: co-signature of {witness.name} added to the checkpoint of size {size}")


def register(cli: click.Group) -> None:
    cli.add_command(audit_group)
