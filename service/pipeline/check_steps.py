"""Steps 1 to 6 of the check flow, one function each; ``check.py`` decides their order and
``check_record.py`` holds step 7 (audit and review).

Each step turns what a stage package returns into the policy's signal values, so the stage
packages never learn about each other (a match never imports provenance, nor policy classify).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from PIL import Image

from service.classify.classifiers import Classifiers
from service.classify.model import Scores
from service.consent import revocation_store
from service.db import Conn
from service.errors import MalformedRequest, UnknownProfile
from service.match.hashes import hash_image
from service.match.matching import BankIndex, FrameHashes, hash_frames, match_hashes
from service.match.model import MatchReport
from service.media import MediaInfo, MediaLimits
from service.media.intake import decode_image, iter_frames
from service.media.model import Frame
from service.pipeline import pictures
from service.pipeline.pictures import PictureSignals
from service.pipeline.screening import record_version
from service.policy.load import Policy
from service.policy.model import (
    Flow,
    LexiconSignal,
    LowQuality,
    MatchSignal,
    ProvenanceSignal,
    ScoreSignal,
    Signals,
    SymbolSignal,
    TextSource,
)
from service.provenance import Notary, ProvenanceReport
from service.symbols.bank import BoundSymbols
from service.vocabulary import ConsentStatus, MediaKind, SignalState

# The verdict's provenance summary: the report's evidence without the bulky parts.
_SUMMARY_KEYS = (
    "state",
    "codes",
    "signer",
    "signed_at",
    "timestamp",
    "digital_source_type",
    "ai_generated",
    "recovered_by",
    "asset_id",
    "log_index",
    "fingerprint_distance",
)


DECODE_SIDE = 512  # hashing (hashes.py reduces to 512-1023 px) and image models (224 px) need no more
PICTURE_SIDE = 1024  # words and symbols: the line finder works at up to 960 px


def nothing_to_check() -> MalformedRequest:
    return MalformedRequest("Send a file, a text (caption or transcript), or both.")


def known_market(market: str, *, policies: Collection[str], label_markets: Collection[str]) -> str:
    """``market`` when a check may name it: a market of the policy or of the label profiles."""
    known = sorted(set(policies) | set(label_markets))
    if market not in known:
        raise UnknownProfile(
            f"No market {market[:40]!r}; markets: {', '.join(known)}.", details={"markets": known}
        )
    return market


# --- 1. intake ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Decoded:
    info: MediaInfo | None
    image: Image.Image | None = None  # a still image, decoded once (EXIF orientation applied)
    frames: tuple[FrameHashes, ...] = ()  # PDQ + pHash of the image or of sampled video frames


def decode(info: MediaInfo | None, *, limits: MediaLimits, look_closer: bool) -> Decoded:
    """Decode once for every later step; ``look_closer`` (words or symbols are read) decodes a
    still picture larger."""
    if info is None:
        return Decoded(None)
    if info.kind is MediaKind.IMAGE:
        # A large JPEG is decoded at a fraction of its size (DCT scaling): as small as hashing and
        # the image model allow, or as the line finder and the symbol matcher need when they run.
        # The hashes are the full-size picture's all the same (``full_size``, see hashes.py): those
        # an output was fingerprinted with when it was signed, from its full decode, and a bank's.
        decoded = decode_image(info, min_side=PICTURE_SIDE if look_closer else DECODE_SIDE)
        hashes = hash_image(decoded.image, full_size=decoded.full_size)
        return Decoded(info, decoded.image, (FrameHashes(0, 0.0, hashes),))
    if info.kind is MediaKind.VIDEO:
        sampled = ((f.index, f.t, f.image) for f in iter_frames(info, fps=1.0, limits=limits))
        return Decoded(info, None, tuple(hash_frames(sampled)))
    return Decoded(info)  # audio: no pictures to hash; a document (PDF, SVG) is never rasterised


# A document's provenance is read, but nothing in it is screened: its pictures, its words and its
# drawings are neither rasterised nor parsed. These signals are named in ``missing_signals`` and
# decided by the policy's ``signals:`` entries, as any signal that did not run.
DOCUMENT_UNSCREENED = ("image_model", "ocr", "symbols")
DOCUMENT_UNMATCHED = "hash_banks"


def _is_document(decoded: Decoded) -> bool:
    return decoded.info is not None and decoded.info.kind is MediaKind.DOCUMENT


def content_kinds(decoded: Decoded, text: str | None) -> tuple[str, ...]:
    kinds = [decoded.info.kind.value] if decoded.info is not None else []
    if text and text.strip():
        kinds.append("text")
    return tuple(kinds)


# --- 2. provenance -----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ProvenanceFound:
    report: ProvenanceReport | None
    signal: ProvenanceSignal | None
    states: Mapping[str, SignalState] = field(default_factory=dict)


def provenance_summary(report: ProvenanceReport) -> dict[str, Any]:
    data = report.to_dict()
    return {key: data.get(key) for key in _SUMMARY_KEYS}


def provenance(conn: Conn, decoded: Decoded, *, notary: Notary, limits: MediaLimits) -> ProvenanceFound:
    if decoded.info is None:
        return ProvenanceFound(None, None)  # text only: nothing carries a manifest
    report = notary.verify(
        conn,
        decoded.info.path,
        limits=limits,
        info=decoded.info,
        frames=[f.hashes for f in decoded.frames],  # hashed once, in step 1, for steps 2 and 4
    )
    signal = ProvenanceSignal(
        state=report.state.value,
        ai_generated=report.ai_generated,
        recovered_by=report.recovered_by,
        digital_source_type=report.digital_source_type,
        asset_id=report.asset_id,
        summary=provenance_summary(report),
    )
    return ProvenanceFound(report, signal)


# --- 3. consent status -------------------------------------------------------------------------
def consent_status(conn: Conn, found: ProvenanceFound) -> ConsentStatus:
    """Public for released assets (their provenance is public): read in the system() transaction."""
    asset_id = found.report.asset_id if found.report is not None else None
    if not asset_id:
        return ConsentStatus.UNKNOWN
    try:
        asset = UUID(asset_id)
    except ValueError:  # an asset id Vigil did not mint: no consent record can name it
        return ConsentStatus.UNKNOWN
    return revocation_store.consent_status(conn, asset)


# --- 4. match ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Matched:
    report: MatchReport | None
    signals: tuple[MatchSignal, ...] = ()
    states: Mapping[str, SignalState] = field(default_factory=dict)
    low_quality: tuple[LowQuality, ...] = ()


def match(conn: Conn, tenant_id: UUID, decoded: Decoded, *, index: BankIndex) -> Matched:
    if _is_document(decoded):  # no picture of it is hashed: the banks were not asked
        return Matched(None, states={DOCUMENT_UNMATCHED: SignalState.NOT_CONFIGURED})
    if decoded.info is None or not decoded.frames:
        return Matched(None)
    report = match_hashes(conn, index, tenant_id=tenant_id, frames=decoded.frames, item=decoded.info.sha256)
    signals = tuple(
        MatchSignal(
            bank=m.bank,
            kind=m.kind.value,
            distance=m.distance,
            hash_type=m.hash_type.value,
            labels=m.labels,
            item=str(m.frame),
        )
        for m in report.matches
    )
    video = decoded.info.kind is MediaKind.VIDEO
    low = tuple(LowQuality(str(f.frame), f.quality, f.t if video else None) for f in report.low_quality)
    return Matched(report, signals, low_quality=low)


# --- 5. classify -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Classified:
    scores: tuple[ScoreSignal, ...] = ()
    lexicon: tuple[LexiconSignal, ...] = ()
    states: Mapping[str, SignalState] = field(default_factory=dict)
    results: Mapping[str, Scores] = field(default_factory=dict)  # signal name -> classifier answer
    origins: Mapping[str, str] = field(default_factory=dict)  # signal name -> the input it read
    versions: Mapping[str, str] = field(default_factory=dict)  # classifier -> version or state
    words: str = ""  # the words read on the picture (shown to a reviewer; never logged)
    frames: Mapping[int, Frame] = field(default_factory=dict)  # video frames that are evidence
    symbols: tuple[SymbolSignal, ...] = ()  # symbols of the bank found on the picture or frames


def _score_signals(source: str, result: Scores, origin: str) -> list[ScoreSignal]:
    out = []
    for category, score in result.scores.items():
        best = max(
            (e for e in result.evidence if e.category == category and e.t is not None),
            key=lambda e: e.score,
            default=None,
        )
        evidence = (
            f"frame {best.frame_index} at {best.t:.1f} s" if best is not None and best.t is not None else ""
        )
        out.append(ScoreSignal(source, category.value, float(score), evidence, origin=origin))
    return out


def classify(
    decoded: Decoded,
    text: str | None,
    text_source: TextSource = TextSource.CAPTION,
    symbols: BoundSymbols | None = None,
    *,
    classifiers: Classifiers,
    limits: MediaLimits,
    read_words: bool,
) -> Classified:
    """The media and the text sent with it (named ``text_source``: caption or transcript); words
    and symbols on the picture or the video's frames (``pictures``). Audio, and video with
    sound, also ask for ``speech``, which no shipped model hears; a document (PDF, SVG) leaves
    ``image_model``, ``ocr`` and ``symbols`` unscreened (only its caption is read)."""
    results: dict[str, Scores] = {}
    origins: dict[str, str] = {}
    versions: dict[str, str] = {}
    if text and text.strip():
        results["text_model"] = classifiers.classify_text([text])[0]
        origins["text_model"] = text_source.value
    states: dict[str, SignalState] = {}
    info = decoded.info
    seen: PictureSignals | None = None
    if decoded.image is not None:
        results["image_model"] = classifiers.classify_image(decoded.image)
        origins["image_model"] = MediaKind.IMAGE.value
        seen = pictures.read_picture(
            decoded.image, symbols, info, classifiers=classifiers, read_words=read_words
        )
    elif info is not None and info.kind is MediaKind.VIDEO:
        results["image_model"] = classifiers.classify_video(info, limits=limits)
        origins["image_model"] = MediaKind.VIDEO.value
        seen = pictures.read_video(
            info, symbols, classifiers=classifiers, limits=limits, read_words=read_words
        )
    if seen is not None:
        if seen.ocr is not None:  # text inside the picture: slogans on posters, burned-in captions
            results["ocr"], origins["ocr"] = seen.ocr, TextSource.OCR.value
            if seen.ocr.state is SignalState.OK:
                versions["ocr"] = classifiers.ocr.version()
        else:
            states["ocr"] = SignalState.NOT_CONFIGURED
            versions["ocr"] = SignalState.NOT_CONFIGURED.value
        if seen.symbols is not None:
            states["symbols"] = seen.symbols.state
            versions["symbols"] = seen.symbols.version
    if _is_document(decoded):
        states.update(dict.fromkeys(DOCUMENT_UNSCREENED, SignalState.NOT_CONFIGURED))
    if info is not None and info.has_audio:  # audio, or a video with sound: what is said
        results["speech"] = classifiers.classify_speech(info)
        origins["speech"] = info.kind.value
    scores: list[ScoreSignal] = []
    lexicon: list[LexiconSignal] = []
    for name, result in results.items():
        states[name] = result.state
        record_version(versions, result, classifiers)
        if result.state is SignalState.OK:
            scores += _score_signals(name, result, origins[name])
            lexicon += [
                LexiconSignal(h.term_id, h.category.value, origin=origins[name])
                for h in result.hits
                if h.review
            ]
    return Classified(
        tuple(scores),
        tuple(lexicon),
        states,
        results,
        origins,
        versions,
        seen.words if seen is not None else "",
        seen.frames if seen is not None else {},
        seen.symbols.hits if seen is not None and seen.symbols is not None else (),
    )


# --- 6. decide --------------------------------------------------------------------------------
def signals(
    policy: Policy,
    decoded: Decoded,
    text: str | None,
    provenance: ProvenanceFound,
    consent: ConsentStatus,
    matches: Matched,
    classified: Classified,
) -> Signals:
    """What steps 2 to 5 found, as the policy reads it."""
    return Signals(
        flow=Flow.CHECK,
        market=policy.market,
        content_kinds=content_kinds(decoded, text),
        provenance=provenance.signal,
        consent_status=consent,
        matches=matches.signals,
        scores=classified.scores,
        lexicon=classified.lexicon,
        states={**provenance.states, **matches.states, **classified.states},
        classifier_versions=dict(classified.versions),
        symbols=classified.symbols,
        low_quality=matches.low_quality,
        frames=len(decoded.frames),
    )
