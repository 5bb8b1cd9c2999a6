"""A Python client for Vigil's HTTP API, sync (``Vigil``) and async (``AsyncVigil``), on httpx.

    from service.client import Vigil

    with Vigil("http://127.0.0.1:8000", token="vgl_…") as vigil:
        verdict = vigil.check(file="upload.jpg", text="caption")
        if verdict.decision == "review":
            ...  # poll vigil.check_review(verdict.check_id), or register a webhook

Results are typed (frozen dataclasses) and keep the whole JSON answer in ``raw`` for fields not
named here. Every error is a ``VigilAPIError`` carrying the one error shape's ``code``,
``message``, ``status`` and, for 429 and 503, ``retry_after`` seconds. It imports nothing of the
server: a platform can copy this one file.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import httpx

T = TypeVar("T")
FileArg = str | Path | bytes


class VigilAPIError(Exception):
    def __init__(self, status: int, code: str, message: str, *, retry_after: float | None, body: Any) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.body = body


@dataclass(frozen=True, slots=True)
class Verdict:
    decision: str  # allow, label, review, block
    check_id: str
    flag_id: str | None
    reasons: tuple[Mapping[str, str], ...]
    required_labels: tuple[str, ...]
    consent_status: str
    missing_signals: tuple[str, ...]
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Verdict:
        return cls(
            decision=body["decision"], check_id=str(body["check_id"]),
            flag_id=str(body["flag_id"]) if body.get("flag_id") else None,
            reasons=tuple(body.get("reasons") or ()),
            required_labels=tuple(x["label"] for x in body.get("required_labels") or ()),
            consent_status=body.get("consent_status", "unknown"),
            missing_signals=tuple(body.get("missing_signals") or ()), raw=body,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Provenance:
    state: str  # trusted, valid, invalid, absent
    ai_generated: bool
    asset_id: str | None
    recovered_by: str | None
    consent_status: str | None  # active / revoked for a Vigil asset
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Provenance:
        return cls(
            state=body["state"], ai_generated=bool(body.get("ai_generated")), asset_id=body.get("asset_id"),
            recovered_by=body.get("recovered_by"), consent_status=body.get("consent_status"), raw=body,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Record:
    """A created or fetched record (subject, consent, generation, flag): its id and status."""

    id: str
    status: str | None
    raw: Mapping[str, Any] = field(repr=False)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Record:
        return cls(id=str(body["id"]), status=body.get("status"), raw=body)


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its answer (shared by the sync and async clients)."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    data: Mapping[str, Any] | None = None
    files: Any = None


def _file(value: FileArg, name: str = "upload") -> tuple[str, bytes, str]:
    if isinstance(value, bytes):
        return (name, value, "application/octet-stream")
    path = Path(value)
    return (path.name, path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream")


def _json(response: httpx.Response) -> Any:
    return response.json()


def _error(response: httpx.Response) -> VigilAPIError:
    try:
        body = response.json()
        error = body.get("error", {}) if isinstance(body, dict) else {}
    except ValueError:
        body, error = response.text, {}
    retry = response.headers.get("retry-after")
    code, message = str(error.get("code", "http_error")), str(error.get("message", response.text[:200]))
    seconds = float(retry) if retry and retry.replace(".", "", 1).isdigit() else None
    return VigilAPIError(response.status_code, code, message, retry_after=seconds, body=body)


class _Calls:
    """The API's operations as ``Call`` values."""

    @staticmethod
    def check(file: FileArg | None, text: str | None, market: str, text_source: str) -> Call[Verdict]:
        data = {"market": market, "text_source": text_source, **({"text": text} if text is not None else {})}
        files = {"file": _file(file)} if file is not None else None
        return Call("POST", "/v1/check", lambda r: Verdict.of(r.json()), data=data, files=files)

    @staticmethod
    def get_check(check_id: str) -> Call[Verdict]:
        return Call("GET", f"/v1/checks/{check_id}", lambda r: Verdict.of(r.json()))

    @staticmethod
    def check_review(check_id: str) -> Call[Any]:
        return Call("GET", f"/v1/checks/{check_id}/review", _json)

    @staticmethod
    def verify(file: FileArg) -> Call[Provenance]:
        return Call("POST", "/v1/verify", lambda r: Provenance.of(r.json()), files={"file": _file(file)})

    @staticmethod
    def create_subject(subject: Mapping[str, Any]) -> Call[Record]:
        return Call("POST", "/v1/subjects", lambda r: Record.of(r.json()), json=dict(subject))

    @staticmethod
    def grant_consent(consent: Mapping[str, Any]) -> Call[Record]:
        return Call("POST", "/v1/consents", lambda r: Record.of(r.json()), json=dict(consent))

    @staticmethod
    def revoke_consent(consent_id: str) -> Call[Any]:
        return Call("POST", f"/v1/consents/{consent_id}/revoke", _json)

    @staticmethod
    def submit_generation(spec: Mapping[str, Any], photos: list[FileArg]) -> Call[Record]:
        files = [("photos", _file(p, f"photo_{i}.jpg")) for i, p in enumerate(photos)]
        return Call(
            "POST",
            "/v1/generations",
            lambda r: Record.of(r.json()),
            data={"spec": json.dumps(spec)},
            files=files,
        )

    @staticmethod
    def get_generation(generation_id: str) -> Call[Record]:
        return Call("GET", f"/v1/generations/{generation_id}", lambda r: Record.of(r.json()))

    @staticmethod
    def download_output(generation_id: str) -> Call[bytes]:
        return Call("GET", f"/v1/generations/{generation_id}/output", lambda r: r.content)

    @staticmethod
    def flags(status: str | None = None) -> Call[list[Record]]:
        params = {"status": status} if status else None
        return Call("GET", "/v1/flags", lambda r: [Record.of(f) for f in r.json()["flags"]], params=params)

    @staticmethod
    def flag(flag_id: str) -> Call[Record]:
        return Call("GET", f"/v1/flags/{flag_id}", lambda r: Record.of(r.json()))

    @staticmethod
    def claim() -> Call[Record | None]:
        return Call(
            "POST", "/v1/flags/claim", lambda r: None if r.status_code == 204 else Record.of(r.json())
        )

    @staticmethod
    def decide(flag_id: str, decision: str, rationale: str, citation: str | None) -> Call[Any]:
        body = {"decision": decision, "rationale": rationale, "policy_citation": citation}
        return Call("POST", f"/v1/flags/{flag_id}/decision", _json, json=body)

    @staticmethod
    def log_checkpoint() -> Call[str]:
        return Call("GET", "/v1/log/checkpoint", lambda r: r.text)

    @staticmethod
    def inclusion_proof(index: int, size: int) -> Call[Any]:
        return Call("GET", "/v1/log/proof/inclusion", _json, params={"index": index, "size": size})


class Vigil:
    """The sync client. Use as a context manager, or call ``close()``."""

    def __init__(
        self, base_url: str, *, token: str, timeout: float = 60.0, client: httpx.Client | None = None
    ) -> None:
        self._http = client or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)
        self._headers = {"Authorization": f"Bearer {token}"}

    def __enter__(self) -> Vigil:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _run(self, call: Call[T]) -> T:
        response = self._http.request(
            call.method, call.path, params=call.params, json=call.json, data=call.data, files=call.files,
            headers=self._headers,
        )  # fmt: skip
        if response.status_code >= 400:
            raise _error(response)
        return call.parse(response)

    def check(self, *, file: FileArg | None = None, text: str | None = None, market: str = "default",
              text_source: str = "caption") -> Verdict:  # fmt: skip
        return self._run(_Calls.check(file, text, market, text_source))

    def get_check(self, check_id: str) -> Verdict:
        return self._run(_Calls.get_check(check_id))

    def check_review(self, check_id: str) -> Any:
        return self._run(_Calls.check_review(check_id))

    def verify(self, file: FileArg) -> Provenance:
        return self._run(_Calls.verify(file))

    def create_subject(self, subject: Mapping[str, Any]) -> Record:
        return self._run(_Calls.create_subject(subject))

    def grant_consent(self, consent: Mapping[str, Any]) -> Record:
        return self._run(_Calls.grant_consent(consent))

    def revoke_consent(self, consent_id: str) -> Any:
        return self._run(_Calls.revoke_consent(consent_id))

    def submit_generation(self, spec: Mapping[str, Any], photos: list[FileArg]) -> Record:
        return self._run(_Calls.submit_generation(spec, photos))

    def get_generation(self, generation_id: str) -> Record:
        return self._run(_Calls.get_generation(generation_id))

    def download_output(self, generation_id: str) -> bytes:
        return self._run(_Calls.download_output(generation_id))

    def flags(self, status: str | None = None) -> list[Record]:
        return self._run(_Calls.flags(status))

    def flag(self, flag_id: str) -> Record:
        return self._run(_Calls.flag(flag_id))

    def claim(self) -> Record | None:
        return self._run(_Calls.claim())

    def decide(self, flag_id: str, decision: str, rationale: str, *, citation: str | None = None) -> Any:
        return self._run(_Calls.decide(flag_id, decision, rationale, citation))

    def log_checkpoint(self) -> str:
        return self._run(_Calls.log_checkpoint())

    def inclusion_proof(self, index: int, size: int) -> Any:
        return self._run(_Calls.inclusion_proof(index, size))


class AsyncVigil:
    """The async client: the same operations, awaited. Use ``async with``, or ``await aclose()``."""

    def __init__(
        self, base_url: str, *, token: str, timeout: float = 60.0, client: httpx.AsyncClient | None = None
    ) -> None:
        self._http = client or httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)
        self._headers = {"Authorization": f"Bearer {token}"}

    async def __aenter__(self) -> AsyncVigil:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _run(self, call: Call[T]) -> T:
        response = await self._http.request(
            call.method, call.path, params=call.params, json=call.json, data=call.data, files=call.files,
            headers=self._headers,
        )  # fmt: skip
        if response.status_code >= 400:
            raise _error(response)
        return call.parse(response)

    def check(self, *, file: FileArg | None = None, text: str | None = None, market: str = "default",
              text_source: str = "caption") -> Awaitable[Verdict]:  # fmt: skip
        return self._run(_Calls.check(file, text, market, text_source))

    def get_check(self, check_id: str) -> Awaitable[Verdict]:
        return self._run(_Calls.get_check(check_id))

    def check_review(self, check_id: str) -> Awaitable[Any]:
        return self._run(_Calls.check_review(check_id))

    def verify(self, file: FileArg) -> Awaitable[Provenance]:
        return self._run(_Calls.verify(file))

    def create_subject(self, subject: Mapping[str, Any]) -> Awaitable[Record]:
        return self._run(_Calls.create_subject(subject))

    def grant_consent(self, consent: Mapping[str, Any]) -> Awaitable[Record]:
        return self._run(_Calls.grant_consent(consent))

    def revoke_consent(self, consent_id: str) -> Awaitable[Any]:
        return self._run(_Calls.revoke_consent(consent_id))

    def submit_generation(self, spec: Mapping[str, Any], photos: list[FileArg]) -> Awaitable[Record]:
        return self._run(_Calls.submit_generation(spec, photos))

    def get_generation(self, generation_id: str) -> Awaitable[Record]:
        return self._run(_Calls.get_generation(generation_id))

    def download_output(self, generation_id: str) -> Awaitable[bytes]:
        return self._run(_Calls.download_output(generation_id))

    def flags(self, status: str | None = None) -> Awaitable[list[Record]]:
        return self._run(_Calls.flags(status))

    def flag(self, flag_id: str) -> Awaitable[Record]:
        return self._run(_Calls.flag(flag_id))

    def claim(self) -> Awaitable[Record | None]:
        return self._run(_Calls.claim())

    def decide(
        self, flag_id: str, decision: str, rationale: str, *, citation: str | None = None
    ) -> Awaitable[Any]:
        return self._run(_Calls.decide(flag_id, decision, rationale, citation))

    def log_checkpoint(self) -> Awaitable[str]:
        return self._run(_Calls.log_checkpoint())

    def inclusion_proof(self, index: int, size: int) -> Awaitable[Any]:
        return self._run(_Calls.inclusion_proof(index, size))
