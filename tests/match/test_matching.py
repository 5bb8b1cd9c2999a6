"""Matching against banks in PostgreSQL: edits survive, distinct pictures do not match, allow banks
suppress, floods quarantine, low-quality frames are not matched, and tenants see only their banks
plus the system banks."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from uuid import UUID

import av
import pytest
from PIL import Image

from service.audit.log import integrate_all
from service.auth import store as auth_store
from service.errors import NotFound
from service.match import banks
from service.match.hashes import hash_image
from service.match.matching import BankIndex, hash_frames, match_image, match_media
from service.match.model import Bank, BankKind, HashType, MatchReport
from service.media.intake import inspect
from service.services import Services
from tests.match.scenes import EDITS, flat, jpeg, scene

GEOMETRIC = {"flipped", "rotated_90"}  # pHash is not flip-invariant; PDQ's dihedral family is


@pytest.fixture(scope="module")
def pictures() -> dict[int, Image.Image]:
    return {seed: scene(seed) for seed in range(8)}


def _tenant(services: Services, name: str) -> UUID:
    with services.db.system() as conn:
        return auth_store.ensure_tenant(conn, name).id


def _bank(
    services: Services,
    tenant_id: UUID | None,
    name: str,
    images: list[Image.Image],
    *,
    kind: str = "block",
    hash_type: str = "pdq",
    labels: tuple[str, ...] = ("propaganda",),
) -> Bank:
    scope = services.db.system() if tenant_id is None else services.db.tenant(tenant_id)
    with scope as conn:
        bank = banks.create_bank(conn, tenant_id=tenant_id, name=name, kind=kind, hash_type=hash_type)
        hashes = [hash_image(i) for i in images]
        values = [h.pdq.value if hash_type == "pdq" else h.phash for h in hashes]
        banks.add_signals(conn, bank, values, labels)
    return bank


Matcher = Callable[..., MatchReport]


@pytest.fixture
def match(services: Services) -> Matcher:
    def run(
        tenant_id: UUID | None, image: Image.Image, item: str | None = None, index: BankIndex | None = None
    ) -> MatchReport:
        with services.db.system() as conn:
            return match_image(
                conn,
                index if index is not None else services.match_index,
                tenant_id=tenant_id,
                image=image,
                item=item,
            )

    return run


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edited_copies_match_their_entry_and_distinct_pictures_do_not(
    services: Services, match: Matcher, pictures: dict[int, Image.Image], edit: str
) -> None:
    acme = _tenant(services, "acme")
    _bank(services, acme, "known-pdq", [pictures[s] for s in range(4)])
    _bank(services, acme, "known-phash", [pictures[s] for s in range(4)], hash_type="phash")
    for seed in range(4):
        report = match(acme, EDITS[edit](pictures[seed]))
        by_type = {m.hash_type: m for m in report.matches}
        pdq = by_type[HashType.PDQ]
        assert pdq.bank == "known-pdq"
        assert pdq.kind is BankKind.BLOCK
        assert pdq.distance <= 31 == pdq.threshold
        assert pdq.labels == ("propaganda",)
        assert pdq.signal == hash_image(pictures[seed]).pdq.hex
        if edit not in GEOMETRIC:
            assert by_type[HashType.PHASH].distance <= 8
        assert {m.signal for m in report.matches if m.hash_type is HashType.PDQ} == {pdq.signal}
    for seed in (4, 5, 6, 7):
        assert match(acme, EDITS[edit](pictures[seed])).matches == ()


def test_a_flat_picture_is_reported_as_low_quality_and_not_matched(
    services: Services, match: Matcher
) -> None:
    acme = _tenant(services, "acme")
    _bank(services, acme, "flat", [flat()])  # even a bank entry of the same flat hash
    report = match(acme, flat((400, 300)))
    assert report.matches == ()
    assert [q.quality for q in report.low_quality] == [0]
    assert report.frames == 1


def test_an_allow_match_suppresses_block_matches_of_the_same_frame(
    services: Services, match: Matcher, pictures: dict[int, Image.Image]
) -> None:
    acme = _tenant(services, "acme")
    _bank(services, acme, "posters", [pictures[0], pictures[1]])
    _bank(services, acme, "templates", [pictures[0]], kind="allow", labels=("frame-template",))
    report = match(acme, jpeg(pictures[0]))
    assert [(m.bank, m.kind) for m in report.matches] == [("templates", BankKind.ALLOW)]
    assert [m.bank for m in report.suppressed] == ["posters"]
    assert report.block_matches == ()
    assert [m.bank for m in match(acme, jpeg(pictures[1])).block_matches] == ["posters"]


def test_an_entry_that_matches_a_flood_of_items_is_quarantined(
    services: Services, match: Matcher, pictures: dict[int, Image.Image]
) -> None:
    acme = _tenant(services, "acme")
    bank = _bank(services, acme, "posters", [pictures[0], pictures[1]])
    index = BankIndex(flood_limit=2, flood_window_s=60)
    items = [c * 64 for c in "abc"]
    # the same item again and again is one item, not a flood
    for _ in range(3):
        assert len(match(acme, pictures[0], items[0], index).block_matches) == 1
    assert len(match(acme, pictures[0], items[1], index).block_matches) == 1
    third = match(acme, pictures[0], items[2], index)
    assert third.block_matches == ()
    assert [m.signal for m in third.quarantined] == [hash_image(pictures[0]).pdq.hex]
    later = match(acme, jpeg(pictures[0]), "d" * 64, index)
    assert later.block_matches == ()
    assert len(later.quarantined) == 1
    assert len(match(acme, pictures[1], "e" * 64, index).block_matches) == 1  # other entries still live
    with services.db.system() as conn:
        integrate_all(conn)  # the queued log events are in the tree
        events = conn.execute(
            "SELECT count(*) FROM audit_entries WHERE event = 'bank.changed' AND convert_from(entry, 'UTF8') "
            "LIKE %s",
            ('%"quarantined"%',),
        ).fetchone()
        assert events is not None
        assert events[0] == 1
        exported = banks.export_file(conn, bank)
    assert hash_image(pictures[0]).pdq.hex in exported  # quarantine disables; the entry stays on record

    with services.db.tenant(acme) as conn:
        assert banks.get_bank(conn, tenant_id=acme, name="posters").quarantined == 1
        banks.release(conn, bank, hash_image(pictures[0]).pdq.hex)
        with pytest.raises(NotFound):
            banks.release(conn, bank, hash_image(pictures[1]).pdq.hex)  # never quarantined
    assert len(match(acme, pictures[0], "f" * 64, index).block_matches) == 1  # counting starts afresh


def test_tenants_see_their_own_banks_and_the_system_banks(
    services: Services, match: Matcher, pictures: dict[int, Image.Image]
) -> None:
    acme, other = _tenant(services, "acme"), _tenant(services, "other")
    _bank(services, acme, "acme-only", [pictures[0]])
    _bank(services, None, banks.REVOKED_OUTPUTS, [pictures[1]], labels=("revoked",))
    assert [m.bank for m in match(acme, pictures[0]).matches] == ["acme-only"]
    assert match(other, pictures[0]).matches == ()
    for tenant in (acme, other):
        (hit,) = match(tenant, pictures[1]).matches
        assert hit.summary() == {
            "bank": banks.REVOKED_OUTPUTS,
            "distance": 0,
            "hash_type": "pdq",
            "kind": "block",
            "threshold": 31,
            "labels": ["revoked"],
            "system": True,
            "frame": 0,
            "t": 0.0,
        }
    with services.db.tenant(other) as conn:  # row-level security: not even readable
        assert conn.execute("SELECT count(*) FROM banks WHERE name = 'acme-only'").fetchone() == (0,)


def test_a_tenant_cannot_write_a_system_bank(services: Services, pictures: dict[int, Image.Image]) -> None:
    acme = _tenant(services, "acme")
    system = _bank(services, None, banks.REJECTED_OUTPUTS, [pictures[0]])
    with pytest.raises(Exception, match="row-level security"), services.db.tenant(acme) as conn:
        banks.add_signals(conn, system, [hash_image(pictures[1]).pdq.value])


def test_another_process_sees_committed_entries(
    services: Services, match: Matcher, pictures: dict[int, Image.Image]
) -> None:
    acme = _tenant(services, "acme")
    _bank(services, acme, "posters", [pictures[0]])
    elsewhere = BankIndex()
    assert len(match(acme, pictures[2], index=elsewhere).matches) == 0
    with services.db.tenant(acme) as conn:
        bank = banks.get_bank(conn, tenant_id=acme, name="posters")
        banks.add_signals(conn, bank, [hash_image(pictures[2]).pdq.value])
    assert len(match(acme, pictures[2], index=elsewhere).matches) == 1
    assert len(elsewhere) == 2


def test_consecutive_duplicate_frames_are_hashed_once(pictures: dict[int, Image.Image]) -> None:
    frames = [pictures[0], jpeg(pictures[0]), pictures[1], pictures[1], pictures[0]]
    kept = hash_frames((i, float(i), img) for i, img in enumerate(frames))
    assert [f.frame for f in kept] == [0, 2, 4]


def _video(path: Path, scenes: list[Image.Image], fps: int = 5) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = 320, 240
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        for i in range(len(scenes) * fps):
            frame = av.VideoFrame.from_image(scenes[i // fps].resize((320, 240)))
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def test_video_frames_are_matched_at_one_per_second_without_repeats(
    services: Services, pictures: dict[int, Image.Image], tmp_path: Path
) -> None:
    acme = _tenant(services, "acme")
    _bank(services, acme, "posters", [pictures[3]])
    info = inspect(_video(tmp_path / "clip.mp4", [pictures[2], pictures[2], pictures[3]]), services.limits)
    with services.db.system() as conn:
        report = match_media(conn, services.match_index, tenant_id=acme, info=info, limits=services.limits)
    assert report.frames == 2  # the second second repeats the first and is dropped
    (hit,) = report.block_matches
    assert (hit.bank, round(hit.t)) == ("posters", 2)
    assert hit.distance <= 31


def test_each_bank_applies_its_own_threshold(
    services: Services, match: Matcher, pictures: dict[int, Image.Image]
) -> None:
    acme = _tenant(services, "acme")
    with services.db.tenant(acme) as conn:
        strict = banks.create_bank(
            conn, tenant_id=acme, name="strict", kind="block", hash_type="pdq", threshold=4
        )
        banks.add_signals(conn, strict, [hash_image(pictures[0]).pdq.value])
    _bank(services, acme, "loose", [pictures[0]])
    resized = EDITS["resized_half"](pictures[0])
    distance = min(m.distance for m in match(acme, resized).matches)
    assert distance > 4
    assert [m.bank for m in match(acme, resized).matches] == ["loose"]
    assert sorted(m.bank for m in match(acme, pictures[0]).matches) == ["loose", "strict"]
