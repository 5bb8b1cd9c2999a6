"""Verify a file and say, beside its provenance, whether the consent it was made under still holds.

Provenance and consent never import each other; this joins them for every verifier (``POST
/v1/verify``, the ``/verify`` page, ``vigil verify``): a Vigil-signed asset, or a stripped copy
recovered by fingerprint, is reported with ``consent_status`` ``active`` or ``revoked``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from uuid import UUID

from service.consent import revocation_store
from service.db import Conn
from service.media import MediaInfo
from service.provenance import ProvenanceReport
from service.services import Services


def with_consent(conn: Conn, report: ProvenanceReport) -> ProvenanceReport:
    """``report`` with the consent status of its asset, where Vigil has a record of it."""
    if not report.asset_id:
        return report
    try:
        asset = UUID(report.asset_id)
    except ValueError:
        return report  # an asset id Vigil did not mint
    status = revocation_store.consent_status(conn, asset)
    if status.value == "unknown":
        return report
    return dataclasses.replace(report, consent_status=status.value)


def verify_file(
    services: Services, path: Path, info: MediaInfo, *, segments: Sequence[Path] = ()
) -> ProvenanceReport:
    """The file's ProvenanceReport from the instance's repository, with its consent status
    (``segments``: the media segments of a DASH/CMAF initialisation segment)."""
    with services.db.system() as conn:
        report = services.notary.verify(conn, path, limits=services.limits, info=info, segments=segments)
        return with_consent(conn, report)
