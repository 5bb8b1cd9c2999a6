"""``vigil label IN OUT --profile MARKET``: burn the visible label and write the metadata layers.

``vigil sign --profile MARKET`` runs the same ``label_file`` right before signing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import click

from service import __version__
from service.cli.common import pass_settings
from service.labels import Disclosure, LabelResult, get_profile, label_file, load_profiles
from service.labels.profiles import resolve_profiles_dir
from service.settings import Settings
from service.vocabulary import SourceType


def disclosure_from_settings(
    settings: Settings, *, source_type: str = SourceType.TRAINED_ALGORITHMIC_MEDIA.value
) -> Disclosure:
    """What the CLI discloses: this instance as provider and system, now, a fresh unique id."""
    return Disclosure(
        provider=settings.labels_provider,
        system_name="vigil",
        system_version=__version__,
        created_at=datetime.now(UTC).replace(microsecond=0),
        asset_id=str(uuid.uuid4()),
        digital_source_type=source_type,
    )


def result_json(result: LabelResult) -> dict[str, object]:
    data = asdict(result)
    data["path"] = str(result.path)
    return data


def register(cli: click.Group) -> None:
    cli.add_command(label_cmd)


@click.command("label")
@click.argument("src", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--profile", "market", default="default", show_default=True, help="Market profile.")
@click.option(
    "--locale", default=None, help="Label language (default VIGIL_LABELS_DEFAULT_LOCALE, else the profile's)."
)
@click.option(
    "--source-type", default=SourceType.TRAINED_ALGORITHMIC_MEDIA.value, show_default=True, help="IPTC URI."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def label_cmd(
    settings: Settings,
    src: Path,
    dst: Path,
    market: str,
    locale: str | None,
    source_type: str,
    as_json: bool,
) -> None:
    """Label SRC for a market into DST (visible mark or audible notice, then XMP metadata)."""
    profiles = load_profiles(resolve_profiles_dir(settings.labels_profiles_dir))
    profile = get_profile(profiles, market)
    disclosure = disclosure_from_settings(settings, source_type=source_type)
    result = label_file(
        src,
        dst,
        profile,
        locale=locale or settings.labels_default_locale or profile.image.default_locale,
        disclosure=disclosure,
    )
    if as_json:
        click.echo(json.dumps(result_json(result), default=str, ensure_ascii=False))
        return
    shown = ", ".join(f"{m.kind.value} {m.box.width}x{m.box.height}" for m in result.marks) or "none"
    click.echo(
        f"OK: {dst} labelled for {result.profile} ({result.locale}); marks: {shown}; "
        f"audio notice {result.audio_notice_s:.1f} s; layers: {', '.join(result.layers)}"
    )
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
