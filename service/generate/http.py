"""The ``http`` backend: a generator behind a URL, under the contract in docs/generation.md.

Request: ``POST <generator_url>`` as ``multipart/form-data`` with
  - ``request``: JSON ``{"request_id", "output": "image"|"video", "prompt", "script", "caption",
    "video_seconds", "photos": [{"sha256", "field"}], "voice": {"field"} | null}``
  - one file part per photo (``photo0``, ``photo1``, ...), and ``voice`` when there is one.
Response: ``200`` with the media bytes as the body and their ``Content-Type`` (``image/jpeg``,
``video/mp4``, ...). Optional header ``X-Digital-Source-Type``: ``trainedAlgorithmicMedia`` or
``compositeWithTrainedAlgorithmicMedia`` (full IPTC URI); absent means the latter.

Timeouts, connection errors, 429 and 5xx, and bodies the media intake refuses (garbage, the
wrong kind, over the size limit) are retried with exponential backoff; other 4xx are not (the
request itself is wrong). After the last try the call fails with GeneratorFailed and the reason.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

import httpx

from service.errors import ConfigError, GeneratorFailed
from service.generate.backend import GeneratorBackend
from service.generate.model import GeneratedMedia, GenerationRequest
from service.media.model import MediaLimits
from service.settings import Settings
from service.vocabulary import OutputKind, SourceType

log = logging.getLogger(__name__)

_AI_TYPES = {
    kind.value: kind
    for kind in (SourceType.TRAINED_ALGORITHMIC_MEDIA, SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA)
}


class _Retry(Exception):
    """A failure worth another try; its text is the reason reported at the end."""


class HttpBackend(GeneratorBackend):
    name: ClassVar[str] = "http"
    version: ClassVar[str] = "1.0"  # of this client and its contract; the remote's own version is logged
    digital_source_type: ClassVar[SourceType] = SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
    outputs: ClassVar[frozenset[OutputKind]] = frozenset(OutputKind)

    def __init__(
        self,
        *,
        limits: MediaLimits,
        url: str,
        timeout_s: float = 120.0,
        retries: int = 3,
        backoff_s: float = 1.0,
        max_bytes: int = 200 * 1024 * 1024,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(limits=limits)
        if not url.startswith(("http://", "https://")):
            raise ConfigError("The http generator needs an http(s) URL in VIGIL_GENERATOR_URL.")
        self.url = url
        self.timeout_s = timeout_s
        self.retries = retries
        self.backoff_s = backoff_s
        self.max_bytes = max_bytes
        self._transport = transport

    @classmethod
    def from_settings(cls, settings: Settings) -> HttpBackend:
        if not settings.generator_url:
            raise ConfigError("The http generator backend needs VIGIL_GENERATOR_URL.")
        return cls(
            limits=MediaLimits.from_settings(settings),
            url=settings.generator_url,
            timeout_s=settings.generator_timeout_s,
            retries=settings.generator_retries,
            backoff_s=settings.generator_backoff_s,
            max_bytes=settings.generator_max_bytes,
        )

    def generate(self, request: GenerationRequest, *, out_dir: Path) -> GeneratedMedia:
        self.check_request(request)
        reasons: list[str] = []
        with httpx.Client(
            timeout=self.timeout_s, transport=self._transport, follow_redirects=False
        ) as client:
            for attempt in range(self.retries + 1):
                if attempt:
                    time.sleep(self.backoff_s * 2 ** (attempt - 1))
                try:
                    return self._once(client, request, out_dir)
                except _Retry as exc:
                    reasons.append(str(exc))
                    log.warning("generator call %d/%d failed: %s", attempt + 1, self.retries + 1, exc)
        raise GeneratorFailed(
            f"The generator failed {len(reasons)} time(s); last: {reasons[-1]}",
            details={"reasons": reasons},
        )

    def _once(self, client: httpx.Client, request: GenerationRequest, out_dir: Path) -> GeneratedMedia:
        with ExitStack() as files, self.spool(request, out_dir) as part:
            parts: list[tuple[str, tuple[str, Any, str]]] = []
            photos = []
            for i, photo in enumerate(request.photos):
                parts.append(
                    (
                        f"photo{i}",
                        (f"photo{i}", files.enter_context(photo.path.open("rb")), "application/octet-stream"),
                    )
                )
                photos.append({"sha256": photo.sha256, "field": f"photo{i}"})
            if request.voice is not None:
                parts.append(
                    (
                        "voice",
                        ("voice", files.enter_context(request.voice.open("rb")), "application/octet-stream"),
                    )
                )
            spec = {
                "request_id": request.request_id,
                "output": request.output.value,
                "prompt": request.prompt,
                "script": request.script,
                "caption": request.caption,
                "video_seconds": request.video_seconds,
                "photos": photos,
                "voice": {"field": "voice"} if request.voice is not None else None,
            }
            try:
                with client.stream(
                    "POST", self.url, data={"request": json.dumps(spec)}, files=parts
                ) as response:
                    self._check_status(response)
                    self._save_body(response, part)
                    declared = response.headers.get("x-digital-source-type")
                    remote = response.headers.get("server", "")
            except httpx.TimeoutException as exc:
                raise _Retry(f"timed out after {self.timeout_s:g} s ({type(exc).__name__})") from exc
            except httpx.TransportError as exc:
                raise _Retry(f"could not reach the generator: {type(exc).__name__}: {exc}") from exc
            source_type = self._source_type(declared)
            try:
                media = self.accept_output(part, request, out_dir=out_dir, source_type=source_type)
            except GeneratorFailed as exc:
                raise _Retry(exc.message) from exc
        log.info(
            "generator %s made %s (%d bytes)", remote or "(unnamed)", media.info.type.name, media.info.size
        )
        return media

    @staticmethod
    def _check_status(response: httpx.Response) -> None:
        status = response.status_code
        if status == 200:
            return
        if status == 429 or status >= 500:
            raise _Retry(f"the generator answered {status}")
        raise GeneratorFailed(
            f"The generator refused the request with status {status}; check the request contract.",
            details={"status": status},
        )

    def _save_body(self, response: httpx.Response, part: Path) -> None:
        declared = response.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise _Retry(
                f"the response is larger than the limit of {self.max_bytes} bytes ({declared} declared)"
            )
        size = 0
        with part.open("wb") as out:
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise _Retry(f"the response is larger than the limit of {self.max_bytes} bytes")
                out.write(chunk)

    @staticmethod
    def _source_type(declared: str | None) -> SourceType:
        if declared is None:
            return SourceType.COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
        found = _AI_TYPES.get(declared.strip())
        if found is None:
            raise _Retry(f"the generator declared an unknown digital source type {declared[:120]!r}")
        return found
