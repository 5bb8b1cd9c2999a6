"""What a reviewer sees of one flag, on the page and in ``GET /v1/flags/{id}``: the typed context
the flow stored, the consent behind it looked up now (subject, legal basis, grantors, scope,
status: revoked shows as revoked the moment it is), and the words of each text the lexicon knows,
marked for highlighting.

Grants held by another tenant (a platform checking a studio's output) are counted, never shown:
the platform's reviewer learns the status, not the family's names.
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from uuid import UUID

from service.classify.lexicon import Lexicon, load_lexicon
from service.consent import revocation_store
from service.consent import store as consent_store
from service.consent.model import GrantStatus
from service.consent.rules import RuleBook
from service.db import Conn
from service.errors import ConfigError, NotFound
from service.media.sniff import sniff
from service.review import store as review_store
from service.review.context import ConsentRef, FlagContext, SourceText
from service.review.model import Flag
from service.services import Services


@dataclass(frozen=True, slots=True)
class GrantView:
    grant_id: str
    status: str  # active, revoked, disputed, expired
    subject: str  # the subject's name, as the studio recorded it
    subject_kind: str  # adult, minor, deceased ...
    vital_status: str
    legal_basis: str  # the rule id that authorised the grant
    legal_basis_title: str
    grantors: tuple[str, ...]  # "spouse, verified" — relationships, never the grantors' names
    purposes: tuple[str, ...]
    audiences: tuple[str, ...]
    markets: tuple[str, ...]
    modalities: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ConsentView:
    applicable: bool
    status: str  # active, revoked, unknown, not_applicable: as it stands now
    note: str
    grants: tuple[GrantView, ...] = ()
    elsewhere: int = 0  # grants behind the item that another tenant holds (not shown)


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    category: str | None  # the category of the term it is, None for ordinary text


@dataclass(frozen=True, slots=True)
class ShownText:
    source: str
    heading: str
    text: str
    segments: tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class FlagView:
    flag: Flag
    context: FlagContext
    consent: ConsentView
    texts: tuple[ShownText, ...]


@functools.lru_cache(maxsize=4)
def _lexicon(directory: Path) -> Lexicon | None:
    try:
        return load_lexicon(directory)
    except ConfigError:
        return None  # the page shows the text without marks; screening reports the lexicon itself


def _segments(text: str, lexicon: Lexicon | None) -> tuple[Segment, ...]:
    if lexicon is None:
        return (Segment(text, None),)
    out: list[Segment] = []
    at = 0
    for start, end, category in lexicon.spans(text):
        if start > at:
            out.append(Segment(text[at:start], None))
        out.append(Segment(text[start:end], category.value))
        at = end
    if at < len(text):
        out.append(Segment(text[at:], None))
    return tuple(out)


def _grant(conn: Conn, rules: RuleBook, grant_id: UUID) -> GrantView:
    grant = consent_store.get_grant(conn, grant_id)
    subject = consent_store.get_subject(conn, grant.subject_id)
    rule = rules.get(grant.legal_basis)
    return GrantView(
        grant_id=str(grant.id),
        status=grant.status.value,
        subject=subject.name,
        subject_kind=subject.kind.value,
        vital_status=subject.vital_status.value,
        legal_basis=grant.legal_basis,
        legal_basis_title=rule.title if rule is not None else "",
        grantors=tuple(
            f"{g.relationship.value.replace('_', ' ')}, {g.verification.value.replace('_', ' ')}"
            for g in grant.grantors
        ),
        purposes=tuple(sorted(p.value for p in grant.scope.purposes)),
        audiences=tuple(sorted(a.value for a in grant.scope.audiences)),
        markets=tuple(sorted(grant.scope.territories)),
        modalities=tuple(sorted(m.value for m in grant.scope.modalities)),
        expires_at=grant.expires_at,
    )


def consent_view(conn: Conn, rules: RuleBook, ref: ConsentRef) -> ConsentView:
    """The consent behind an item as it stands now, from the grants visible in this tenant."""
    if not ref.applicable:
        return ConsentView(False, "not_applicable", ref.note)
    ids: list[UUID] = []
    for raw in ref.grant_ids:
        try:
            ids.append(UUID(raw))
        except ValueError:
            continue
    if not ids and ref.asset_id:
        try:
            ids = revocation_store.grants_of_asset(conn, UUID(ref.asset_id))
        except ValueError:
            ids = []
    grants: list[GrantView] = []
    elsewhere = 0
    for grant_id in ids:
        try:
            grants.append(_grant(conn, rules, grant_id))
        except NotFound:
            elsewhere += 1
    status = ref.status
    if any(g.status == GrantStatus.REVOKED for g in grants):
        status = "revoked"
    elif ref.asset_id:
        with contextlib.suppress(ValueError):
            status = revocation_store.consent_status(conn, UUID(ref.asset_id)).value
    if ref.asset_id and not grants and status == "unknown":
        status = ref.status  # another tenant's output: the status the check saw is all there is
    return ConsentView(True, status, ref.note, tuple(grants), elsewhere)


def view(services: Services, conn: Conn, flag: Flag) -> FlagView:
    context = FlagContext.from_json(flag.context)
    lexicon = _lexicon(services.classifiers.config.policy_dir / "lexicon")
    texts = tuple(ShownText(t.source, t.heading, t.text, _segments(t.text, lexicon)) for t in context.texts)
    return FlagView(flag, context, consent_view(conn, services.consent_rules, context.consent), texts)


def shown(text: SourceText) -> str:
    """A one-line snippet of a text for the queue (the first 140 characters)."""
    flat = " ".join(text.text.split())
    return flat if len(flat) <= 140 else flat[:139] + "…"


def media_of(services: Services, conn: Conn, flag_id: UUID, sha256: str) -> tuple[bytes, str]:
    """A blob the flag's context names, with the type its bytes show (``image/``, ``video/`` or
    ``audio/``; anything else is served as ``application/octet-stream``); NotFound otherwise,
    also for a flag of another tenant (the caller's transaction only sees its own)."""
    flag = review_store.get_flag(conn, flag_id)
    if flag is None:
        raise NotFound(f"No flag {flag_id}.")
    if sha256 not in FlagContext.from_json(flag.context).media_shas():
        raise NotFound("That media is not part of this item.")
    data = services.blobs.read(sha256)
    kind = sniff(data[:64])
    mime = kind if isinstance(kind, str) else kind.mime
    if isinstance(kind, str) or not mime.startswith(("image/", "video/", "audio/")):
        mime = "application/octet-stream"
    return data, mime
