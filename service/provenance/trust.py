"""Trust anchors, and the one set of c2pa settings every Context gets.

Vigil's own CA goes into c2pa's ``trust.user_anchors``; the official C2PA trust lists Vigil
ships (``policies/trust/``) and the operator's own lists go into ``trust.trust_anchors``, so a
validation result says which group matched ("found in [user_anchors]" = Vigil's CA). Where that
group holds several lists, ``matched_list`` finds the one that trusts the signer by validating
again against each alone. A list is PEM certificates or ETSI TS 119 602 JSON (the form the C2PA
trust list and TSA trust list are published in: only services whose status is "trusted" or
"granted" are taken). c2pa checks timestamp authorities against the same anchors, so the TSA
trust list sits beside the signers' lists. Remote manifest fetching is off (a Reader would
otherwise make outbound HTTP calls for a manifest URL inside an untrusted file), and thumbnails
are off (they cost 30-65 ms and an ingredient thumbnail would publish an input photo).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import c2pa
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from service.errors import ConfigError
from service.provenance.certs import CA_FILE

if TYPE_CHECKING:
    from service.settings import Settings

VIGIL_LIST = "vigil"
_GRANTING = ("trusted", "granted")  # the last segment of a TS 119 602 service status that confers trust

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
    name: str  # "vigil", "c2pa:<file stem>" (a shipped list) or "operator:<file stem>"
    pem: str
    count: int
    title: str | None = None  # a TS 119 602 list's scheme name, e.g. "C2PA Trust List"
    next_update: datetime | None = None  # when a TS 119 602 list says it will be replaced
    excluded: int = 0  # certificates of services listed as withdrawn (or any status but trusted)

    def describe(self, now: datetime | None = None) -> str:
        """One line for /readyz: name, certificates, and whether the list is out of date."""
        parts = [f"{self.count} certificates"]
        if self.excluded:
            parts.append(f"{self.excluded} withdrawn left out")
        if self.next_update is not None:
            late = self.next_update < (now or datetime.now(UTC))
            when = self.next_update.date().isoformat()
            parts.append(
                f"OUT OF DATE since {when}: fetch the current list" if late else f"next update {when}"
            )
        return f"{self.name} ({', '.join(parts)})"


def read_anchor_file(path: Path, name: str) -> AnchorList:
    """A list of trust anchors: PEM certificates, or ETSI TS 119 602 JSON."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"The trust anchor file {path} cannot be read: {exc}") from exc
    if raw.lstrip()[:1] == b"{":
        return _read_trusted_entities(path, raw, name)
    try:
        text = raw.decode("ascii")
        certs = x509.load_pem_x509_certificates(raw)
    except ValueError as exc:
        raise ConfigError(f"The trust anchor file {path} cannot be read as PEM certificates: {exc}") from exc
    return AnchorList(name=name, pem=text, count=len(certs))


def _read_trusted_entities(path: Path, raw: bytes, name: str) -> AnchorList:
    """A TS 119 602 list of trusted entities: every X.509 certificate of a service in force."""
    try:
        lote = json.loads(raw)["LoTE"]
        info = lote["ListAndSchemeInformation"]
        services = [s for e in lote["TrustedEntitiesList"] for s in e.get("TrustedEntityServices") or []]
        certs: list[x509.Certificate] = []
        excluded = 0
        for service in services:
            about = service["ServiceInformation"]
            values = [c["val"] for c in about["ServiceDigitalIdentity"].get("X509Certificates") or []]
            if str(about.get("ServiceStatus", "")).rstrip("/").rsplit("/", 1)[-1] not in _GRANTING:
                excluded += len(values)
                continue
            certs += [x509.load_der_x509_certificate(base64.b64decode(v, validate=True)) for v in values]
        title = next((n["value"] for n in info.get("SchemeName") or [] if n.get("lang") == "en"), None)
        next_update = info.get("NextUpdate")
        due = datetime.fromisoformat(next_update.replace("Z", "+00:00")) if next_update else None
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise ConfigError(
            f"The trust list {path} is not a list of trusted entities (ETSI TS 119 602 JSON) "
            f"Vigil can read: {exc.__class__.__name__} {exc}"
        ) from exc
    if not certs:
        raise ConfigError(f"The trust list {path} has no certificate of a trusted service.")
    pem = "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certs)
    return AnchorList(name, pem, len(certs), title=title, next_update=due, excluded=excluded)


@dataclass(frozen=True, slots=True)
class TrustStore:
    lists: tuple[AnchorList, ...] = ()

    @classmethod
    def from_pem(
        cls, *, vigil_ca: Path | None = None, official: Sequence[Path] = (), operator: Sequence[Path] = ()
    ) -> TrustStore:
        lists: list[AnchorList] = []
        if vigil_ca is not None:
            lists.append(read_anchor_file(vigil_ca, VIGIL_LIST))
        lists.extend(read_anchor_file(p, f"c2pa:{p.stem}") for p in official)
        lists.extend(read_anchor_file(p, f"operator:{p.stem}") for p in operator)
        return cls(tuple(lists))

    def adding(self, operator: Sequence[Path]) -> TrustStore:
        """This store plus more operator anchor files (``vigil verify --trust``)."""
        return TrustStore(self.lists + tuple(read_anchor_file(p, f"operator:{p.stem}") for p in operator))

    @classmethod
    def from_settings(cls, settings: Settings) -> TrustStore:
        ca = settings.keys_dir / CA_FILE
        return cls.from_pem(
            vigil_ca=ca if ca.exists() else None,
            official=settings.trust_lists,
            operator=settings.trust_anchor_files,
        )

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

    def only(self, name: str) -> TrustStore:
        """This store with one list (and Vigil's CA, which sits apart in c2pa's user anchors)."""
        return replace(self, lists=tuple(a for a in self.lists if a.name in (name, VIGIL_LIST)))

    def matched_list(
        self, explanation: str, trusted_by: Callable[[TrustStore], bool] | None = None
    ) -> str | None:
        """Which anchor list a ``signingCredential.trusted`` explanation names. c2pa says only
        which group matched; where the group holds several lists, ``trusted_by`` (validate the
        same file again against a narrower store) finds the one; without it the answer is the
        first of them that could have matched, joined by "|"."""
        if "[user_anchors]" in explanation:
            return VIGIL_LIST
        others = [a.name for a in self.lists if a.name != VIGIL_LIST]
        if "[system_anchors]" not in explanation or not others:
            return None
        if len(others) == 1:
            return others[0]
        if trusted_by is not None:
            for name in others:
                if trusted_by(self.only(name)):
                    return name
        return "|".join(others)
