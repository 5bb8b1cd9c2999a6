"""Trust lists: the official C2PA lists Vigil ships, lists in ETSI TS 119 602 JSON, the report
naming the list that trusted a signer, and untrusted kept apart from invalid."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from service.errors import ConfigError
from service.provenance import ProvenanceState, SignSpec, sign_file, verify_file
from service.provenance.certs import init_signing
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore, read_anchor_file
from service.settings import Settings
from service.vocabulary import SourceType
from tests.provenance.conftest import save_image

SPEC = SignSpec(
    source_type=SourceType.TRAINED_ALGORITHMIC_MEDIA, software_agent="Vigil test 1.0", asset_id="asset-t"
)
SHIPPED = Settings().trust_lists


def trusted_entities(path: Path, services: list[tuple[Path, str]], *, next_update: str) -> Path:
    """A TS 119 602 list: each (PEM certificate file, status) as one trusted entity's service."""
    entities = []
    for pem, status in services:
        der = x509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(Encoding.DER)
        service = {
            "ServiceName": [{"lang": "en", "value": pem.parent.name}],
            "ServiceDigitalIdentity": {"X509Certificates": [{"val": base64.b64encode(der).decode()}]},
            "ServiceStatus": f"http://c2pa.org/conformance/trust-list/{status}",
        }
        entities.append(
            {
                "TrustedEntityInformation": {"TEName": [{"lang": "en", "value": pem.parent.name}]},
                "TrustedEntityServices": [{"ServiceInformation": service}],
            }
        )
    info = {"SchemeName": [{"lang": "en", "value": "Newsroom Trust List"}], "NextUpdate": next_update}
    document = {"LoTE": {"ListAndSchemeInformation": info, "TrustedEntitiesList": entities}}
    path.write_text(json.dumps(document))
    return path


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    keys = tmp_path_factory.mktemp("studio-keys")
    init_signing(keys, "Partner Studio")
    return keys


@pytest.fixture
def signed(tmp_path: Path, studio: Path) -> Path:
    signer = VigilSigner.from_files(studio / "signing-chain.pem", studio / "signing-key.pem")
    src = save_image(tmp_path / "in.jpg", 7, "JPEG", quality=90)
    sign_file(src, tmp_path / "signed.jpg", SPEC, signer=signer, trust=TrustStore())
    return tmp_path / "signed.jpg"


def test_the_official_lists_ship_and_load_by_default():
    store = TrustStore.from_pem(official=SHIPPED)
    names = {a.name: a for a in store.lists}
    assert set(names) == {"c2pa:C2PA-TRUST-LIST", "c2pa:C2PA-TSA-TRUST-LIST"}
    assert names["c2pa:C2PA-TRUST-LIST"].title == "C2PA Trust List"
    assert names["c2pa:C2PA-TRUST-LIST"].count >= 20
    assert names["c2pa:C2PA-TSA-TRUST-LIST"].title == "C2PA TSA Trust List"
    assert "next update 2027-08-05" in names["c2pa:C2PA-TRUST-LIST"].describe(
        datetime(2026, 12, 5, tzinfo=UTC)
    )


def test_a_list_past_its_next_update_says_so():
    listed = read_anchor_file(SHIPPED[0], "c2pa:C2PA-TRUST-LIST")
    assert "OUT OF DATE since 2027-08-05" in listed.describe(datetime(2027, 9, 1, tzinfo=UTC))


def test_the_report_names_the_list_that_trusted_the_signer(tmp_path: Path, studio: Path, signed: Path):
    newsroom = trusted_entities(
        tmp_path / "newsroom.json", [(studio / "ca.pem", "trusted")], next_update="2030-01-01T00:00:00Z"
    )
    store = TrustStore.from_pem(official=SHIPPED, operator=[newsroom])

    report = verify_file(signed, trust=store)

    assert report.state is ProvenanceState.TRUSTED
    assert report.trust_list == "operator:newsroom"  # not the official lists loaded beside it


def test_a_withdrawn_service_does_not_trust_and_untrusted_is_not_invalid(
    tmp_path: Path, studio: Path, signed: Path
):
    withdrawn = trusted_entities(
        tmp_path / "newsroom.json", [(studio / "ca.pem", "withdrawn")], next_update="2030-01-01T00:00:00Z"
    )
    with pytest.raises(ConfigError, match="no certificate of a trusted service"):
        read_anchor_file(withdrawn, "operator:newsroom")

    report = verify_file(signed, trust=TrustStore.from_pem(official=SHIPPED))

    assert report.state is ProvenanceState.VALID  # intact, signer on no list: never "invalid"
    assert report.trust_list is None
    assert "signingCredential.untrusted" in {c.code for c in report.codes}
    assert not any(c.code.endswith(".mismatch") for c in report.codes)


@pytest.mark.parametrize(
    "content",
    ['{"LoTE": {"TrustedEntitiesList": []}}', '{"LoTE": {"ListAndSchemeInformation": {}, "Trusted', "{}"],
)
def test_a_list_vigil_cannot_read_is_a_configuration_error_naming_it(tmp_path: Path, content: str):
    path = tmp_path / "broken-list.json"
    path.write_text(content)
    with pytest.raises(ConfigError, match=r"broken-list\.json"):
        read_anchor_file(path, "operator:broken-list")
