"""Steps 6 and 7 of the generation flow, shared with ``vigil sign --profile``: label, then sign.

The order is the point: the visible label and the metadata layers are written first, and the
C2PA manifest is made over the labelled bytes, so nothing touches the file after it is signed
(writing metadata afterwards would break the manifest's hash binding).

    6. label  — visible mark and metadata for the market profile (labels.label_file)
    7. sign   — C2PA manifest over the labelled file, recorded in the manifest repository
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from service import __version__
from service.audit import Event, EventName, append
from service.db import Conn
from service.labels import Disclosure, LabelResult, MarketProfile, label_file
from service.media import MediaLimits
from service.provenance import Notary, SignedAsset, SignSpec


@dataclass(frozen=True, slots=True)
class Released:
    label: LabelResult
    signed: SignedAsset


@dataclass(frozen=True, kw_only=True, slots=True)
class LabelSigner:
    """Steps 6 and 7, given what they read: the market profiles (6), the notary and the limits it
    reads the labelled file under (7), the provider named in the disclosure metadata, the locale
    used when a market profile names none, and a folder for the labelled intermediate file."""

    market_profile: Callable[[str], MarketProfile]
    provider: str
    default_locale: str | None
    notary: Notary
    limits: MediaLimits
    tmp_dir: Path

    def label_and_sign(
        self,
        conn: Conn,
        src: Path,
        dst: Path,
        spec: SignSpec,
        *,
        market: str,
        locale: str | None = None,
        tenant_id: UUID | None = None,
    ) -> Released:
        """Label ``src`` for ``market`` and sign the result into ``dst``, in the caller's
        transaction.

        Both steps append their audit events (``asset.labelled``, ``asset.signed``) to ``conn``,
        so a rolled-back release leaves no trace in the log and no record in the manifest
        repository.
        """
        if spec.asset_id is None:
            raise ValueError("a released asset needs its asset id before labelling")
        profile = self.market_profile(market)
        disclosure = Disclosure(
            provider=self.provider,
            system_name="vigil",
            system_version=__version__,
            created_at=datetime.now(UTC).replace(microsecond=0),
            asset_id=spec.asset_id,
            digital_source_type=str(spec.source_type),
        )
        with tempfile.TemporaryDirectory(dir=self.tmp_dir) as work:
            labelled = Path(work) / f"labelled{dst.suffix or '.bin'}"
            # 6. label
            result = label_file(
                src,
                labelled,
                profile,
                locale=locale or self.default_locale or profile.image.default_locale,
                disclosure=disclosure,
            )
            append(conn, Event(EventName.ASSET_LABELLED, spec.asset_id, tenant_id, _codes(result)))
            # 7. sign (appends asset.signed and records the manifest and fingerprints)
            signed = self.notary.sign_and_record(
                conn, labelled, dst, replace(spec), limits=self.limits, tenant=tenant_id
            )
        return Released(label=result, signed=signed)


def _codes(result: LabelResult) -> dict[str, str | int | list[str] | list[int]]:
    fields = result.audit_fields()
    return {k: v for k, v in fields.items() if not isinstance(v, float)}
