"""Trust anchors, and the one set of c2pa settings every Context gets.

Vigil's own CA goes into c2pa's ``trust.user_anchors`` and the operator's lists (such as the
C2PA Trust List) into ``trust.trust_anchors``, so a validation result says which one matched
("found in [user_anchors]" = Vigil's CA). Remote manifest fetching is off (a Reader would
otherwise make outbound HTTP calls for a manifest URL inside an untrusted file), and thumbnails
are off (they cost 30-65 ms and an ingredient thumbnail would publish an input photo).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import c2pa
from cryptography import x509

from service.errors import ConfigError
from service.provenance.certs import CA_FILE

if TYPE_CHECKING:
    from service.settings import Settings

VIGIL_LIST = "vigil"

# EKUs accepted for a signing certificate (c2pa-rs default set plus the C2PA and document-signing
# ones), written out so every Context, signing or reading, validates the same way.
_TRUST_CONFIG = "\n".join(
    (
        "1.3.6.1.5.5.7.3.4",  # emailProtection (what init-signing issues)
        "1.3.6.1.5.5.7.3.36",  # documentSigning
        "1.3.6.1.4.1.62558.2.1",  # C2PA claimSigning
        "1.3.6.1.5.5.7.3.8",  # timeStamping
        "1.3.6.1.5.5.7.3.9",  # OCSPSigning
        "1.3.6.1.4.1.311.76.59.1.9",  # Microsoft document signing
    )
)


@dataclass(frozen=True, slots=True)
class AnchorList:
    name: str  # "vigil", or "operator:<file stem>"
    pem: str
    count: int


def read_anchor_file(path: Path, name: str) -> AnchorList:
    try:
        text = path.read_text("ascii")
        certs = x509.load_pem_x509_certificates(text.encode())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"The trust anchor file {path} cannot be read as PEM certificates: {exc}") from exc
    return AnchorList(name=name, pem=text, count=len(certs))


@dataclass(frozen=True, slots=True)
class TrustStore:
    lists: tuple[AnchorList, ...] = ()

    @classmethod
    def from_pem(cls, *, vigil_ca: Path | None = None, operator: Sequence[Path] = ()) -> TrustStore:
        lists: list[AnchorList] = []
        if vigil_ca is not None:
            lists.append(read_anchor_file(vigil_ca, VIGIL_LIST))
        lists.extend(read_anchor_file(p, f"operator:{p.stem}") for p in operator)
        return cls(tuple(lists))

    def adding(self, operator: Sequence[Path]) -> TrustStore:
        """This store plus more operator anchor files (``vigil verify --trust``)."""
        return TrustStore(self.lists + tuple(read_anchor_file(p, f"operator:{p.stem}") for p in operator))

    @classmethod
    def from_settings(cls, settings: Settings) -> TrustStore:
        ca = settings.keys_dir / CA_FILE
        return cls.from_pem(vigil_ca=ca if ca.exists() else None, operator=settings.trust_anchor_files)

    @property
    def empty(self) -> bool:
        return not self.lists

    def c2pa_settings(self) -> dict[str, Any]:
        trust: dict[str, Any] = {"trust_config": _TRUST_CONFIG}
        own = [a.pem for a in self.lists if a.name == VIGIL_LIST]
        others = [a.pem for a in self.lists if a.name != VIGIL_LIST]
        if own:
            trust["user_anchors"] = "\n".join(own)
        if others:
            trust["trust_anchors"] = "\n".join(others)
        return {
            "version": 1,
            "trust": trust,
            "verify": {"remote_manifest_fetch": False, "ocsp_fetch": False},
            "builder": {"thumbnail": {"enabled": False}},
        }

    def context(self) -> c2pa.Context:
        return c2pa.Context(c2pa.Settings.from_json(json.dumps(self.c2pa_settings())))

    def matched_list(self, explanation: str) -> str | None:
        """Which anchor list a ``signingCredential.trusted`` explanation names."""
        if "[user_anchors]" in explanation:
            return VIGIL_LIST
        others = [a.name for a in self.lists if a.name != VIGIL_LIST]
        if "[system_anchors]" in explanation and others:
            return others[0] if len(others) == 1 else "operator"
        return None
