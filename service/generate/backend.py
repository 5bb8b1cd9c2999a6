"""The generator backend contract (the registry of backends is ``registry.py``).

A backend declares ``name``, ``version``, ``digital_source_type`` and the ``outputs`` it can
make, and implements ``generate(request, out_dir=...)``. It writes into the quarantine
directory and returns ``GeneratedMedia`` built by ``accept_output``, which runs the file
through the media intake: whatever a backend made, nothing that intake would refuse leaves it.
"""

from __future__ import annotations

import abc
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import ClassVar

from service.errors import GeneratorFailed, VigilError
from service.generate.model import GeneratedMedia, GenerationRequest
from service.media import intake
from service.media.model import MediaLimits
from service.vocabulary import OutputKind, SourceType

log = logging.getLogger(__name__)


class GeneratorBackend(abc.ABC):
    """A way to make media from a GenerationRequest."""

    name: ClassVar[str]
    version: ClassVar[str]
    digital_source_type: ClassVar[SourceType]
    outputs: ClassVar[frozenset[OutputKind]] = frozenset(OutputKind)

    def __init__(self, *, limits: MediaLimits) -> None:
        self.limits = limits

    @abc.abstractmethod
    def generate(self, request: GenerationRequest, *, out_dir: Path) -> GeneratedMedia:
        """Make the output into ``out_dir``; raise GeneratorFailed (or an InputError) when it cannot."""

    def check_request(self, request: GenerationRequest) -> None:
        if request.output not in self.outputs:
            raise GeneratorFailed(f"The {self.name} backend cannot make {request.output.value} outputs.")

    @contextmanager
    def spool(self, request: GenerationRequest, out_dir: Path) -> Iterator[Path]:
        """A temporary file in ``out_dir`` for the output, removed unless it was accepted. Parts an
        earlier attempt of the same request left behind (a worker killed mid-encode) go first:
        the retry owns the request now."""
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in out_dir.glob(f".{request.request_id}.*.part"):
            stale.unlink(missing_ok=True)
        fd, name = tempfile.mkstemp(dir=out_dir, prefix=f".{request.request_id}.", suffix=".part")
        os.close(fd)
        path = Path(name)
        try:
            yield path
        finally:
            path.unlink(missing_ok=True)

    def accept_output(
        self,
        produced: Path,
        request: GenerationRequest,
        *,
        out_dir: Path,
        source_type: SourceType | None = None,
    ) -> GeneratedMedia:
        """Check ``produced`` with the media intake and move it to ``<out_dir>/<request_id>.<ext>``.

        The rename is atomic and replaces an earlier attempt's output, so a retried job leaves
        one file. Intake refusals become GeneratorFailed with the intake's reason.
        """
        try:
            info = intake.inspect(produced, self.limits)
            if info.kind is not request.output.media_kind:
                raise GeneratorFailed(
                    f"The {self.name} backend returned {info.type.name} for a {request.output.value} request."
                )
            if info.kind.value == "image":
                intake.decode_image(info)  # a header can lie; the pixels must decode
        except GeneratorFailed:
            raise
        except VigilError as exc:
            raise GeneratorFailed(
                f"The {self.name} backend returned media the intake refuses ({exc.code}): {exc.message}",
                details={"intake_code": exc.code},
            ) from exc
        final = out_dir / f"{request.request_id}.{info.type.extension}"
        os.replace(produced, final)
        accepted = intake.inspect(final, self.limits, size=info.size, sha256=info.sha256)
        return GeneratedMedia(
            info=accepted,
            backend=self.name,
            backend_version=self.version,
            digital_source_type=source_type or self.digital_source_type,
        )
