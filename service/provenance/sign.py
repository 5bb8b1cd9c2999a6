"""Signing: one C2PA manifest per asset, built from a ``SignSpec``.

The manifest declares (C2PA 2.x §18, IPTC digital source types): a ``c2pa.created`` action with
the generator's ``digitalSourceType`` and ``softwareAgent``; Vigil's ``vigil.consent``,
``vigil.moderation`` and ``vigil.asset`` assertions marked ``created`` (attributed to the signer,
not "gathered"); inputs as ingredients named by hash, with no thumbnail and no file name.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import c2pa

from service import __version__
from service.errors import SigningFailed, UnsupportedMediaType
from service.media.intake import detect
from service.provenance.model import SignedAsset, SignSpec
from service.provenance.signer import VigilSigner
from service.provenance.trust import TrustStore
from service.provenance.tsa import check_tsa
from service.provenance.verify import verify_file

log = logging.getLogger(__name__)

IN_MEMORY_MAX = 32 * 1024 * 1024  # larger assets are streamed from and to disk

# Formats signed and verified with c2pa-python 0.38.1 here.
SIGNABLE = frozenset({"jpeg", "png", "webp", "gif", "tiff", "mp4", "mov", "wav", "mp3", "flac", "m4a"})


def manifest_definition(spec: SignSpec, mime: str) -> dict[str, Any]:
    action: dict[str, Any] = {
        "action": "c2pa.created",
        "digitalSourceType": str(spec.source_type),
        "softwareAgent": {"name": spec.software_agent},
    }
    assertions: list[dict[str, Any]] = [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}]
    if spec.asset_id is not None:
        assertions.append({"label": "vigil.asset", "data": {"asset_id": spec.asset_id}, "created": True})
    if spec.consent is not None:
        assertions.append({"label": "vigil.consent", "data": spec.consent.data(), "created": True})
    if spec.moderation is not None:
        assertions.append({"label": "vigil.moderation", "data": spec.moderation.data(), "created": True})
    ingredients = [
        {
            "title": f"input sha256:{ing.sha256[:16]}",
            "format": ing.mime,
            "relationship": ing.relationship,
            "document_id": f"sha256:{ing.sha256}",
        }
        for ing in spec.ingredients
    ]
    return {
        "claim_generator_info": [{"name": "Vigil", "version": __version__}],
        "title": spec.title,
        "format": mime,
        "assertions": assertions,
        "ingredients": ingredients,
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def sign_file(
    src: Path,
    dst: Path,
    spec: SignSpec,
    *,
    signer: VigilSigner,
    trust: TrustStore,
    tsa_timeout_s: float = 10.0,
    tsa_retries: int = 2,
    verify: bool = True,
) -> SignedAsset:
    """Sign ``src`` into ``dst`` (streamed, never read whole into memory) and verify the result.

    ``verify=False`` skips the read-back (``report`` is then ``None``): for callers that verify
    later themselves.
    """
    media = detect(src)
    if media.name not in SIGNABLE:
        raise UnsupportedMediaType(f"Vigil cannot sign {media.name} files.", details={"detected": media.name})
    if signer.tsa_url:
        check_tsa(signer.tsa_url, timeout_s=tsa_timeout_s, retries=tsa_retries)
    definition = json.dumps(manifest_definition(spec, media.mime))
    dst.parent.mkdir(parents=True, exist_ok=True)
    # Write beside the target and rename, so a failed signature never leaves a half file.
    with tempfile.NamedTemporaryFile(dir=dst.parent, suffix=".signing", delete=False) as tmp:
        tmp_path = Path(tmp.name)
    try:
        c2pa_signer = signer.c2pa_signer()
        try:
            if src.stat().st_size <= IN_MEMORY_MAX:
                # Small assets go through memory: c2pa's Python stream callbacks cost more than the copy.
                out = io.BytesIO()
                with c2pa.Builder(definition, context=trust.context()) as builder:
                    manifest = builder.sign(c2pa_signer, media.mime, io.BytesIO(src.read_bytes()), out)
                tmp_path.write_bytes(out.getbuffer())
                sha256 = hashlib.sha256(out.getbuffer()).hexdigest()
            else:
                with (
                    src.open("rb") as source,
                    tmp_path.open("w+b") as sink,
                    c2pa.Builder(definition, context=trust.context()) as builder,
                ):
                    manifest = builder.sign(c2pa_signer, media.mime, source, sink)
                sha256 = _sha256(tmp_path)
        except c2pa.C2paError as exc:
            cause = signer.last_error
            log.error("C2PA signing failed: %s (cause: %r)", exc, cause)
            detail = f"{cause.__class__.__name__}: {cause}" if cause is not None else str(exc)
            raise SigningFailed(f"Signing failed: {detail}") from (cause or exc)
        finally:
            c2pa_signer.close()
        tmp_path.replace(dst)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    report = verify_file(dst, trust=trust) if verify else None
    return SignedAsset(
        sha256=sha256, mime=media.mime, manifest=bytes(manifest), report=report, asset_id=spec.asset_id
    )
