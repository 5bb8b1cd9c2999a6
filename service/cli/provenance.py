"""``vigil keys init-signing``, ``vigil sign`` and ``vigil verify``.

``verify`` exits 0 only for a trusted manifest; 1 for valid, invalid or absent (also when the
original was recovered by fingerprint: these bytes themselves prove nothing); 3 when something
it needs is unavailable; 4 for a file it refuses.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import click

from service.cli.common import EXIT_NEGATIVE, open_instance, pass_settings
from service.cli.keys import keys_group
from service.composition import label_signer, open_services
from service.media.intake import inspect
from service.media.model import MediaLimits
from service.media.sniff import PROVENANCE
from service.pipeline import verification
from service.provenance import Notary, ProvenanceReport, ProvenanceState, SignSpec
from service.provenance.certs import init_signing
from service.provenance.trust import TrustStore
from service.settings import Settings
from service.vocabulary import SourceType


@click.command("init-signing")
@click.option("--org", default="Vigil", show_default=True, help="Organisation shown as the signer (O=).")
@click.option("--force", is_flag=True, help="Replace existing signing keys.")
@pass_settings
def init_signing_cmd(settings: Settings, org: str, force: bool) -> None:
    """Create a local CA and an ES256 C2PA signing certificate under <data-dir>/keys."""
    files = init_signing(settings.keys_dir, org, force=force)
    click.echo(f"OK: signing certificate for O={org} in {files.chain}")
    click.echo(f"OK: trust anchor (give this to verifiers): {files.ca}")


@click.command("sign")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--source-type",
    default=SourceType.TRAINED_ALGORITHMIC_MEDIA.value,
    show_default=True,
    help="IPTC digitalSourceType URI (compositeWithTrainedAlgorithmicMedia when real photos are in it).",
)
@click.option("--asset-id", default=None, help="Asset id to record (default: a new UUID).")
@click.option(
    "--profile",
    default=None,
    help="Market profile (default, eu, cn, us-ca): burn the AI label and write its metadata, then sign.",
)
@click.option("--locale", default=None, help="Label language for --profile (en, ru, uk, zh, …).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def sign_cmd(
    settings: Settings,
    src: Path,
    dst: Path,
    source_type: str,
    asset_id: str | None,
    profile: str | None,
    locale: str | None,
    as_json: bool,
) -> None:
    """Sign SRC into DST with a C2PA manifest and record it in the manifest repository.

    With --profile, SRC is labelled for that market first and the labelled file is signed.
    """
    spec = SignSpec(
        source_type=source_type, software_agent="Vigil CLI", asset_id=asset_id or str(uuid.uuid4())
    )
    services = open_instance(settings)
    try:
        with services.db.system() as conn:
            if profile is None:
                signed = services.notary.sign_and_record(conn, src, dst, spec, limits=services.limits)
            else:
                signer = label_signer(services)
                signed = signer.label_and_sign(conn, src, dst, spec, market=profile, locale=locale).signed
    finally:
        services.close()
    state = signed.report.state.value if signed.report is not None else None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "asset_id": spec.asset_id,
                    "sha256": signed.sha256,
                    "log_index": signed.log_index,
                    "state": state,
                }
            )
        )
    else:
        click.echo(f"OK: signed {dst} ({state}; asset {spec.asset_id}, log index {signed.log_index})")


def _lines(path: Path, report: ProvenanceReport) -> list[str]:
    ok = report.state is ProvenanceState.TRUSTED and report.consent_status != "revoked"
    head = f"{'OK' if ok else 'FAIL'}: {path} {report.state.value}"
    if (
        report.state is ProvenanceState.VALID
    ):  # intact, but no trust list vouches for the signer: not "invalid"
        head = f"NOT TRUSTED: {path} valid (intact and unaltered, but the signer is on no trust list here)"
    if report.trust_list:
        head += f", trusted by {report.trust_list}"
    if report.consent_status == "revoked":
        head += ", CONSENT REVOKED (the people entitled withdrew it; do not publish)"
    if report.signer is not None and report.signer.issuer:
        head += f", signed by {report.signer.issuer} ({report.signer.common_name})"
    if report.ai_generated:
        head += ", AI-generated"
    if report.recovered_by:
        head += f"; original recovered by {report.recovered_by} (distance {report.fingerprint_distance})"
    lines = [head]
    if report.remote_manifest_url:
        lines.append(f"  manifest not in the file; it points to {report.remote_manifest_url} (not fetched)")
    lines += [f"  {c.code}: {c.explanation}" for c in report.codes if c.kind == "failure"]
    if report.original is not None:
        lines.append(
            f"  the original ({report.original.state.value} when signed, sha256 {report.original.sha256}); "
            "checked on its bytes, not on this file:"
        )
        lines += [f"    {c.code}: {c.explanation}" for c in report.original.codes if c.kind == "failure"]
    return lines


@click.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the ProvenanceReport as one JSON object.")
@click.option(
    "--trust",
    "trust_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="PEM file of trust anchors to accept (repeatable), beside the instance's own.",
)
@click.option(
    "--segment",
    "segments",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="For a DASH/CMAF initialisation segment as FILE: a media segment (.m4s) to check against "
    "its manifest (repeatable).",
)
@click.pass_context
def verify_cmd(
    ctx: click.Context, file: Path, as_json: bool, trust_files: tuple[Path, ...], segments: tuple[Path, ...]
) -> None:
    """Verify FILE's C2PA manifest (pictures, video, audio, PDF, SVG); exit 0 only when it is
    trusted and, for a Vigil output, its consent has not been revoked."""
    settings: Settings = ctx.find_object(Settings)  # type: ignore[assignment]
    trust = TrustStore.from_settings(settings).adding(trust_files)
    limits = MediaLimits.from_settings(settings)
    notary = Notary(trust=trust, signer=None, threshold=settings.provenance_pdq_threshold)
    info = inspect(file, limits, accept=PROVENANCE, init_segments=True)
    report = notary.verify(None, file, limits=limits, info=info, segments=segments)
    # The instance's repository, when there is one, adds the asset id and log index of Vigil's
    # own assets and recovers a stripped copy's original.
    has_instance = settings.database_url is not None or settings.pg_dir.exists()
    if has_instance:
        services = open_services(settings)
        try:
            services.notary = dataclasses.replace(services.notary, trust=trust)
            report = verification.verify_file(services, file, info, segments=segments)
        finally:
            services.close()
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        for line in _lines(file, report):
            click.echo(line)
    if report.state is not ProvenanceState.TRUSTED or report.consent_status == "revoked":
        ctx.exit(EXIT_NEGATIVE)


def register(cli: click.Group) -> None:
    keys_group.add_command(init_signing_cmd)
    cli.add_command(sign_cmd)
    cli.add_command(verify_cmd)
