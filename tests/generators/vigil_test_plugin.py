"""A third-party generator backend, installed in the tests through a real entry point."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from PIL import Image

from service.generate.backend import GeneratorBackend
from service.generate.model import GeneratedMedia, GenerationRequest
from service.media.model import MediaLimits
from service.settings import Settings
from service.vocabulary import OutputKind, SourceType


class SolidBackend(GeneratorBackend):
    name: ClassVar[str] = "solid"
    version: ClassVar[str] = "0.1"
    digital_source_type: ClassVar[SourceType] = SourceType.TRAINED_ALGORITHMIC_MEDIA
    outputs: ClassVar[frozenset[OutputKind]] = frozenset({OutputKind.IMAGE})

    @classmethod
    def from_settings(cls, settings: Settings) -> SolidBackend:
        return cls(limits=MediaLimits.from_settings(settings))

    def generate(self, request: GenerationRequest, *, out_dir: Path) -> GeneratedMedia:
        self.check_request(request)
        with self.spool(request, out_dir) as part:
            Image.new("RGB", (256, 256), (40, 60, 90)).save(part, format="PNG")
            return self.accept_output(part, request, out_dir=out_dir)
