"""Where an auditor reads a log from: a running instance over HTTP, the instance's database, or
an export directory. Each gives the same four things; none of them is trusted by the verifier,
which checks everything against the log's public key.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import httpx

from service.audit import log, merkle, store
from service.db import Conn, Database
from service.errors import MalformedRequest, OutOfRange, Unavailable

PAGE = 10_000


class LogSource(Protocol):
    def key(self) -> tuple[str, bytes] | None: ...  # (origin, public key) if the source says
    def checkpoint(self) -> str: ...
    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]: ...
    def inclusion(self, index: int, size: int) -> list[bytes]: ...
    def consistency(self, first: int, second: int) -> list[bytes]: ...
    def history(self) -> list[str]: ...  # the signed checkpoints issued before, oldest first


class HttpSource:
    """A running Vigil: ``/v1/log/*`` with any API key."""

    def __init__(self, url: str, token: str, *, client: httpx.Client | None = None) -> None:
        self._http = client or httpx.Client(base_url=url.rstrip("/"), timeout=60.0)
        self._headers = {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, **params: int) -> httpx.Response:
        try:
            resp = self._http.get(path, params=params, headers=self._headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"Could not reach the log at {self._http.base_url}: {exc}") from exc
        if resp.status_code == 400:
            raise OutOfRange(resp.json().get("error", {}).get("message", resp.text))
        if resp.status_code != 200:
            raise Unavailable(f"GET {path} answered {resp.status_code}: {resp.text[:200]}")
        return resp

    def key(self) -> tuple[str, bytes] | None:
        body = self._get("/v1/log/key").json()
        return str(body["origin"]), base64.b64decode(body["public_key"])

    def checkpoint(self) -> str:
        return self._get("/v1/log/checkpoint").text

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        while start < end:
            got = self._get("/v1/log/entries", start=start, end=end).json()["entries"]
            if not got:
                return
            for item in got:
                yield int(item["index"]), base64.b64decode(item["data"])
            start = int(got[-1]["index"]) + 1

    def inclusion(self, index: int, size: int) -> list[bytes]:
        body = self._get("/v1/log/proof/inclusion", index=index, size=size).json()
        return [base64.b64decode(h) for h in body["hashes"]]

    def consistency(self, first: int, second: int) -> list[bytes]:
        body = self._get("/v1/log/proof/consistency", first=first, second=second).json()
        return [base64.b64decode(h) for h in body["hashes"]]

    def history(self) -> list[str]:
        return [str(n) for n in self._get("/v1/log/checkpoints").json()["checkpoints"]]


class DatabaseSource:
    """The instance's own database (``--data-dir``): no server needed."""

    def __init__(self, db: Database, issue: Callable[[Conn], str]) -> None:
        self._db = db
        self._issue = issue  # LogSigner.issue

    def key(self) -> tuple[str, bytes] | None:
        return None

    def checkpoint(self) -> str:
        with self._db.system() as conn:
            return self._issue(conn)

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        while start < end:
            with self._db.system() as conn:
                rows = store.entries(conn, start, min(end, start + PAGE))
            yield from rows
            start += PAGE

    def inclusion(self, index: int, size: int) -> list[bytes]:
        with self._db.system() as conn:
            return log.inclusion_proof(conn, index, size)

    def consistency(self, first: int, second: int) -> list[bytes]:
        with self._db.system() as conn:
            return log.consistency_proof(conn, first, second)

    def history(self) -> list[str]:
        with self._db.system() as conn:
            return store.checkpoint_notes(conn)


class ExportSource:
    """A directory written by ``vigil audit export``: ``checkpoint`` (the signed note),
    ``entries.jsonl`` (``{"index", "data"}`` per line), ``leaves.bin`` (the log's stored leaf
    hashes, 32 bytes each, in order) and ``checkpoints.jsonl`` (every checkpoint signed before).
    Proofs are rebuilt from the stored leaf hashes, not from the entries, so an entry edited in
    the export is located like one edited in the database."""

    def __init__(self, root: Path) -> None:
        try:
            self._note = (root / "checkpoint").read_text(encoding="utf-8")
            lines = (root / "entries.jsonl").read_text(encoding="utf-8").splitlines()
            self._entries = {int(d["index"]): base64.b64decode(d["data"]) for d in map(json.loads, lines)}
            self._leaves = (root / "leaves.bin").read_bytes()
            history = root / "checkpoints.jsonl"  # exports from before it was written lack it
            lines = history.read_text(encoding="utf-8").splitlines() if history.exists() else []
            self._history = [str(json.loads(line)["note"]) for line in lines if line.strip()]
        except (OSError, ValueError, KeyError) as exc:
            raise MalformedRequest(
                f"{root} is not a log export ({exc}); make one with 'vigil audit export'."
            ) from exc
        self._levels: list[list[bytes]] | None = None

    def key(self) -> tuple[str, bytes] | None:
        return None

    def checkpoint(self) -> str:
        return self._note

    def entries(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        for i in range(start, end):
            if i in self._entries:
                yield i, self._entries[i]

    def _nodes(self, ranges: list[merkle.Range]) -> list[bytes]:
        if self._levels is None:
            raw = self._leaves
            self._levels = build_levels([raw[i : i + 32] for i in range(0, len(raw), 32)])
        levels = self._levels
        return [merkle.fold([levels[lv][ix] for lv, ix in merkle.chunks(*r)]) for r in ranges]

    def inclusion(self, index: int, size: int) -> list[bytes]:
        return self._nodes(merkle.inclusion_ranges(index, size))

    def consistency(self, first: int, second: int) -> list[bytes]:
        return self._nodes(merkle.consistency_ranges(first, second))

    def history(self) -> list[str]:
        return list(self._history)


def stored_leaves(db: Database, size: int) -> Iterator[bytes]:
    """The stored leaf hashes (level-0 nodes) of ``[0, size)``, in order."""
    for start in range(0, size, PAGE):
        with db.system() as conn:
            wanted = [(0, i) for i in range(start, min(size, start + PAGE))]
            found = store.nodes(conn, wanted)
        yield from (found[node] for node in wanted)


def build_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every perfect subtree hash over ``leaves``: ``levels[l][i]`` is node (l, i)."""
    levels = [leaves]
    node = merkle.node_hash
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([node(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    return levels
