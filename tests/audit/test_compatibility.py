"""Serialized entries and checkpoints written by an earlier version keep verifying."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path
from uuid import UUID

from service.audit import Event, EventName, merkle, note
from tests.audit import rfc9162

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "log_v1_five_entries.json").read_text())


def test_events_still_serialise_to_the_stored_bytes():
    for stored, spec in zip(FIXTURE["entries"], FIXTURE["events"], strict=True):
        event = Event(
            EventName(spec["name"]),
            spec["subject_id"],
            UUID(spec["tenant_id"]) if spec["tenant_id"] else None,
            spec["data"],
            datetime.fromisoformat(spec["at"]),
        )
        assert event.canonical() == base64.b64decode(stored)


def test_the_stored_checkpoint_and_proofs_still_verify():
    public_key = base64.b64decode(FIXTURE["public_key"])
    entries = [base64.b64decode(e) for e in FIXTURE["entries"]]
    size, root = rfc9162.open_checkpoint(FIXTURE["checkpoint"], FIXTURE["origin"], public_key)
    checkpoint = note.verify(FIXTURE["checkpoint"], FIXTURE["origin"], public_key)
    assert (checkpoint.size, checkpoint.root) == (size, root) == (5, rfc9162.mth(entries))
    for index, proof_b64 in enumerate(FIXTURE["inclusion"]):
        proof = [base64.b64decode(h) for h in proof_b64]
        assert rfc9162.verify_inclusion(index, size, entries[index], proof, root)
        assert merkle.root_from_inclusion(index, size, merkle.leaf_hash(entries[index]), proof) == root
