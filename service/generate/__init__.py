"""Generator backends: the built-in compositor, the HTTP backend and plugins from the
``vigil.generators`` entry points. ``backend.py`` holds the contract, ``registry.py`` the
backends by name (importing it imports the built-ins).

    backend = registry.backend_from_settings(settings)   # or services.generator
    media = backend.generate(GenerationRequest(...), out_dir=settings.quarantine_dir)
    media.path, media.media_type, media.digital_source_type, media.backend, media.backend_version
"""

from service.generate.backend import GeneratorBackend
from service.generate.model import GeneratedMedia, GenerationRequest, PhotoRef

__all__ = [
    "GeneratedMedia",
    "GenerationRequest",
    "GeneratorBackend",
    "PhotoRef",
]
