"""The built-in classifiers, registered the way a plugin registers its own."""

from __future__ import annotations

from service.classify.model import Modality
from service.classify.registry import Registry

TEXT_DEFAULT = "text-probe"
IMAGE_DEFAULT = "clip-zero-shot"


def register(registry: Registry) -> None:
    from service.classify.image import ClipClassifier
    from service.classify.text import TextClassifier

    registry.register(TextClassifier.name, Modality.TEXT, TextClassifier.from_config)
    registry.register(ClipClassifier.name, Modality.IMAGE, ClipClassifier.from_config)


def ensure_registered(registry: Registry) -> None:
    if TEXT_DEFAULT not in registry.names():
        register(registry)
    registry.load_plugins()
