"""What ``vigil audit verify`` checks, given only the log's origin and public key.

1. The checkpoint's signature (C2SP signed note, Ed25519).
2. Consistency with the checkpoint saved by the previous run (RFC 9162 §2.1.4.2): the log only
   grew, nothing before the old size was rewritten.
3. Every entry (or a random sample): all entries are re-hashed into the tree and its root is
   compared with the signed one; when they differ, inclusion proofs (§2.1.3.2) of chosen leaves
   narrow the difference down to the exact indices. A sample checks one proof per entry.

Findings are values: a ``Report`` with ``passed`` and the ``problems``, each with its index.
"""

from __future__ import annotations

import base64
import enum
import json
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from service.audit import merkle, note
from service.audit.sources import LogSource, build_levels
from service.errors import MalformedRequest

MAX_REPORTED = 32
MAX_PROBES = 512


class Finding(enum.StrEnum):
    BAD_SIGNATURE = "bad_signature"
    SHRUNK = "shrunk"
    INCONSISTENT = "inconsistent"
    MODIFIED = "modified"  # an entry whose bytes are not the ones in the signed tree
    MISSING = "missing"  # an index with no entry
    ROOT_MISMATCH = "root_mismatch"  # differences left unlocated (too many to narrow down)


@dataclass(frozen=True, slots=True)
class Problem:
    finding: Finding
    index: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class VerifiedCheckpoint:
    """The last checkpoint a run verified (``--state FILE``)."""

    origin: str
    public_key: str
    size: int
    root: str

    @classmethod
    def load(cls, path: Path) -> VerifiedCheckpoint | None:
        if not path.exists():
            return None
        try:
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, TypeError) as exc:
            raise MalformedRequest(f"{path} is not a state file of 'vigil audit verify' ({exc}).") from exc

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)


@dataclass(frozen=True, slots=True)
class Report:
    origin: str
    size: int
    root: str
    previous_size: int | None
    checked: int
    mode: str  # "all" or "sample"
    problems: tuple[Problem, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, object]:
        body = asdict(self)
        body["passed"] = self.passed
        return body


Progress = Callable[[int, int], None]  # (done, total)


def verify(
    source: LogSource,
    *,
    origin: str,
    public_key: bytes,
    previous: VerifiedCheckpoint | None = None,
    sample: int | None = None,
    progress: Progress | None = None,
    seed: int | None = None,
) -> tuple[Report, VerifiedCheckpoint | None]:
    """Verify the log behind ``source``; returns the report and the state to save (if it passed)."""
    try:
        cp = note.verify(source.checkpoint(), origin, public_key)
    except note.NoteError as exc:
        problem = Problem(Finding.BAD_SIGNATURE, None, str(exc))
        return Report(origin, 0, "", previous.size if previous else None, 0, "all", (problem,)), None
    root_b64 = base64.b64encode(cp.root).decode()
    problems = _consistency(source, cp, previous)
    history = _signed_history(source, cp, origin, public_key)
    problems.extend(_against_history(source, cp, history))
    if sample is None:
        checked, found = _all_entries(source, cp, progress)
    else:
        checked, found = _sampled(source, cp, sample, progress, random.Random(seed))  # noqa: S311 - not a secret
    problems.extend(found)
    report = Report(
        origin,
        cp.size,
        root_b64,
        previous.size if previous else None,
        checked,
        "all" if sample is None else "sample",
        tuple(problems),
    )
    state = None
    if report.passed:
        state = VerifiedCheckpoint(origin, base64.b64encode(public_key).decode(), cp.size, root_b64)
    return report, state


def _consistency(
    source: LogSource, cp: note.Checkpoint, previous: VerifiedCheckpoint | None
) -> list[Problem]:
    if previous is None:
        return []
    old_root = base64.b64decode(previous.root)
    if previous.size > cp.size:
        return [
            Problem(
                Finding.SHRUNK,
                cp.size,
                f"the log shrank from {previous.size} to {cp.size} entries: "
                f"entries {cp.size}..{previous.size - 1} were removed",
            )
        ]
    proof = source.consistency(previous.size, cp.size)
    if not merkle.verify_consistency(previous.size, cp.size, old_root, cp.root, proof):
        return [
            Problem(
                Finding.INCONSISTENT,
                None,
                f"the tree of {cp.size} entries does not extend the "
                f"one of {previous.size} saved earlier: the log was rewritten",
            )
        ]
    return []


def _signed_history(
    source: LogSource, cp: note.Checkpoint, origin: str, public_key: bytes
) -> list[note.Checkpoint]:
    """The checkpoints the log's key signed before (a note that does not verify is not evidence)."""
    found = []
    for text in source.history():
        try:
            earlier = note.verify(text, origin, public_key)
        except note.NoteError:
            continue
        if 0 < earlier.size <= cp.size:
            found.append(earlier)
    return sorted(found, key=lambda c: c.size)


def _against_history(source: LogSource, cp: note.Checkpoint, history: list[note.Checkpoint]) -> list[Problem]:
    """Today's tree must extend every tree Vigil signed before. A change at entry k breaks the
    checkpoints larger than k that were signed before the change (those signed after it sign the
    forged tree, so every one is checked, not a sample); the change lies between the last one
    that holds before the first broken one and it."""
    last_good, broken = 0, None
    for earlier in history:
        if earlier.size == cp.size:
            ok = earlier.root == cp.root
        else:
            proof = source.consistency(earlier.size, cp.size)
            ok = merkle.verify_consistency(earlier.size, cp.size, earlier.root, cp.root, proof)
        if not ok:
            broken = earlier
            break
        last_good = earlier.size
    if broken is None:
        return []
    where = (
        f"entry {last_good}" if broken.size - last_good == 1 else f"entries {last_good}..{broken.size - 1}"
    )
    return [
        Problem(
            Finding.INCONSISTENT,
            last_good,
            f"the log no longer extends the checkpoint of {broken.size} entries Vigil signed earlier: "
            f"{where} changed after it was signed (the first one that differs is in that range)",
        )
    ]


def _all_entries(
    source: LogSource, cp: note.Checkpoint, progress: Progress | None
) -> tuple[int, list[Problem]]:
    leaves: list[bytes] = []
    missing: list[int] = []
    placeholder = bytes(32)
    for index, data in source.entries(0, cp.size):
        while len(leaves) < index:  # a gap: indices with no entry
            missing.append(len(leaves))
            leaves.append(placeholder)
        if index == len(leaves):
            leaves.append(merkle.leaf_hash(data))
        if progress is not None and index % 10_000 == 0:
            progress(index, cp.size)
    while len(leaves) < cp.size:
        missing.append(len(leaves))
        leaves.append(placeholder)
    if progress is not None:
        progress(cp.size, cp.size)
    problems = [Problem(Finding.MISSING, i, f"entry {i} is missing") for i in missing[:MAX_REPORTED]]
    if cp.size == 0:
        return 0, problems
    levels = build_levels(leaves)
    local_root = _range_hash(levels, (0, cp.size))
    if local_root == cp.root:
        return cp.size, problems
    missing_set = set(missing)
    located = [i for i in _locate(source, cp, levels) if i not in missing_set]
    problems.extend(
        Problem(Finding.MODIFIED, i, f"entry {i} is not the entry the signed tree holds at {i}")
        for i in located[:MAX_REPORTED]
    )
    if not located and not missing:
        problems.append(Problem(Finding.ROOT_MISMATCH, None, "the entries do not hash to the signed root"))
    return cp.size, problems


def _range_hash(levels: list[list[bytes]], rng: merkle.Range) -> bytes:
    return merkle.fold([levels[lv][ix] for lv, ix in merkle.chunks(*rng)])


def _locate(source: LogSource, cp: note.Checkpoint, levels: list[list[bytes]]) -> list[int]:
    """Indices whose local leaf is not the signed one, found with few inclusion proofs.

    A proof that verifies with a local leaf proves its sibling hashes authentic, so every sibling
    subtree whose local hash differs holds a bad leaf; a proof that fails marks its leaf bad.
    """
    bad: list[int] = []
    todo: list[merkle.Range] = [(0, cp.size)]
    probes = 0
    while todo and len(bad) < MAX_REPORTED and probes < MAX_PROBES:
        a, b = todo.pop()
        probes += 1
        proof = source.inclusion(a, cp.size)
        if merkle.root_from_inclusion(a, cp.size, levels[0][a], proof) != cp.root:
            bad.append(a)
            todo.extend(
                reversed(
                    [(lv_ix[1] << lv_ix[0], (lv_ix[1] + 1) << lv_ix[0]) for lv_ix in merkle.chunks(a + 1, b)]
                )
            )
            continue
        for rng, authentic in zip(merkle.inclusion_ranges(a, cp.size), proof, strict=True):
            if a <= rng[0] and rng[1] <= b and _range_hash(levels, rng) != authentic:
                todo.append(rng)
    return sorted(bad)


def _sampled(
    source: LogSource, cp: note.Checkpoint, n: int, progress: Progress | None, rng: random.Random
) -> tuple[int, list[Problem]]:
    picks = sorted(set(rng.sample(range(cp.size), min(n, cp.size))))
    problems: list[Problem] = []
    for done, index in enumerate(picks):
        got = dict(source.entries(index, index + 1))
        if index not in got:
            problems.append(Problem(Finding.MISSING, index, f"entry {index} is missing"))
            continue
        proof = source.inclusion(index, cp.size)
        if merkle.root_from_inclusion(index, cp.size, merkle.leaf_hash(got[index]), proof) != cp.root:
            problems.append(
                Problem(
                    Finding.MODIFIED,
                    index,
                    f"entry {index} is not the entry the signed tree holds at {index}",
                )
            )
        if progress is not None:
            progress(done + 1, len(picks))
    return len(picks), problems
