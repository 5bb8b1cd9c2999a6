"""The model store under ``<data_dir>/models/``: pull, pin by SHA-256, verify, list.

Image weights are only ever loaded from here. ``pull`` downloads each file of a model to a
temporary name, hashes it while streaming, refuses a file whose SHA-256 differs from its pin
(the catalogue's, else the one recorded by an earlier pull: trust on first use), and only then
moves it into place and writes ``manifest.json``. ``verify`` re-hashes every file against the
manifest before a load, so a swapped or truncated file makes the model ``unavailable``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import yaml

from service.errors import ConfigError, InputError, ModelUnavailable

MANIFEST = "manifest.json"
DEFAULT_FILES = ("config.json", "model.safetensors", "preprocessor_config.json", "tokenizer_config.json")
DEFAULT_OPTIONAL = ("tokenizer.json", "vocab.json", "merges.txt", "special_tokens_map.json")
_CHUNK = 1 << 20

Progress = Callable[[str, int, int | None], None]  # (file, bytes so far, total or None)


@dataclass(frozen=True, slots=True)
class CatalogueEntry:
    name: str
    url: str
    files: tuple[str, ...] = DEFAULT_FILES
    optional: tuple[str, ...] = DEFAULT_OPTIONAL
    sha256: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StoredModel:
    name: str
    path: Path
    source: str
    files: Mapping[str, str]  # file -> sha256
    size: int


def load_catalogue(path: Path) -> dict[str, CatalogueEntry]:
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read the model catalogue: {exc}") from exc
    out: dict[str, CatalogueEntry] = {}
    for name, raw in doc.items():
        if not isinstance(raw, dict) or "url" not in raw:
            raise ConfigError(f"{path}: {name}: needs a 'url'")
        out[str(name)] = CatalogueEntry(
            name=str(name),
            url=str(raw["url"]),
            files=tuple(raw.get("files") or DEFAULT_FILES),
            optional=tuple(raw.get("optional") or ()),
            sha256=dict(raw.get("sha256") or {}),
        )
    return out


def _check_name(name: str) -> None:
    if not name or name.startswith(".") or "/" in name or "\\" in name or ".." in name:
        raise InputError(f"{name!r} is not a model name (letters, digits, '-', '_', '.').")


class ModelStore:
    def __init__(self, *, root: Path) -> None:
        self.root = root

    def path(self, name: str) -> Path:
        _check_name(name)
        return self.root / name

    def manifest(self, name: str) -> StoredModel | None:
        path = self.path(name) / MANIFEST
        if not path.is_file():
            return None
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
            files = {str(k): str(v["sha256"]) for k, v in body["files"].items()}
            size = sum(int(v["size"]) for v in body["files"].values())
            return StoredModel(name, path.parent, str(body.get("source", "")), files, size)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ModelUnavailable(f"The manifest of model {name!r} is unreadable: {exc}") from exc

    def list(self) -> list[StoredModel]:
        if not self.root.is_dir():
            return []
        found = []
        for child in sorted(self.root.iterdir()):
            if child.is_dir() and (child / MANIFEST).is_file():
                stored = self.manifest(child.name)
                if stored is not None:
                    found.append(stored)
        return found

    def verify(self, name: str) -> StoredModel:
        """The model's files, each re-hashed against its pin; raises ``ModelUnavailable``."""
        stored = self.manifest(name)
        if stored is None:
            raise ModelUnavailable(f"Model {name!r} is not in the model store ({self.root}).")
        for file, pinned in stored.files.items():
            path = stored.path / file
            if not path.is_file():
                raise ModelUnavailable(f"Model {name!r} is missing {file}.")
            actual = _sha256(path)
            if actual != pinned:
                raise ModelUnavailable(
                    f"Model {name!r}: {file} has SHA-256 {actual[:16]}…, pinned {pinned[:16]}…; "
                    "it was changed or corrupted. Pull it again."
                )
        return stored

    def pull(
        self,
        entry: CatalogueEntry,
        *,
        base_url: str | None = None,
        progress: Progress | None = None,
        timeout_s: float = 60.0,
    ) -> StoredModel:
        target = self.path(entry.name)
        target.mkdir(parents=True, exist_ok=True)
        previous = self.manifest(entry.name)
        pins = dict(previous.files) if previous is not None else {}
        pins.update(entry.sha256)
        url = (base_url or entry.url).rstrip("/")
        fetched: dict[str, tuple[Path, str, int]] = {}
        try:
            with httpx.Client(timeout=timeout_s, follow_redirects=True) as client:
                for file in (*entry.files, *entry.optional):
                    got = _download(client, f"{url}/{file}", target, file, progress)
                    if got is None:
                        if file in entry.files:
                            raise ModelUnavailable(f"{url}/{file} was not found (HTTP 404).")
                        continue
                    _, digest, _ = got
                    fetched[file] = got
                    if file in pins and pins[file] != digest:
                        raise ModelUnavailable(
                            f"{entry.name}: {file} downloaded with SHA-256 {digest}, but it is pinned "
                            f"to {pins[file]}; refusing it. Check the source URL."
                        )
            for file, (tmp, _, _) in fetched.items():
                os.replace(tmp, target / file)
        finally:
            for tmp, _, _ in fetched.values():
                tmp.unlink(missing_ok=True)
        body = {
            "name": entry.name,
            "source": url,
            "pulled_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {f: {"sha256": d, "size": s} for f, (_, d, s) in sorted(fetched.items())},
        }
        (target / MANIFEST).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
        return self.verify(entry.name)


def _download(
    client: httpx.Client, url: str, target: Path, file: str, progress: Progress | None
) -> tuple[Path, str, int] | None:
    digest = hashlib.sha256()
    size = 0
    try:
        with client.stream("GET", url) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise ModelUnavailable(f"{url}: HTTP {response.status_code}.")
            length = response.headers.get("content-length")
            total = int(length) if length and length.isdigit() else None
            fd, name = tempfile.mkstemp(dir=target, prefix=f".{file}.", suffix=".part")
            tmp = Path(name)
            try:
                with os.fdopen(fd, "wb") as out:
                    for chunk in response.iter_bytes(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        size += len(chunk)
                        if progress is not None:
                            progress(file, size, total)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
    except httpx.HTTPError as exc:
        raise ModelUnavailable(f"{url}: download failed: {exc}") from exc
    return tmp, digest.hexdigest(), size


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
