"""Generator backends: the built-in compositor, the HTTP backend and plugins from the
``vigil.generators`` entry points. See ``backend.py`` for the contract.

    backend = backend_from_settings(settings)            # or services.generator
    media = backend.generate(GenerationRequest(...), out_dir=settings.quarantine_dir)
    media.path, media.media_type, media.digital_source_type, media.backend, media.backend_version
"""

from service.generate.backend import (
    ENTRY_POINT_GROUP,
    GeneratorBackend,
    GeneratorRegistry,
    backend_from_settings,
    default_registry,
)
from service.generate.model import GeneratedMedia, GenerationRequest, OutputKind, PhotoRef, SourceType

__all__ = [
    "ENTRY_POINT_GROUP",
    "GeneratedMedia",
    "GenerationRequest",
    "GeneratorBackend",
    "GeneratorRegistry",
    "OutputKind",
    "PhotoRef",
    "SourceType",
    "backend_from_settings",
    "default_registry",
]
