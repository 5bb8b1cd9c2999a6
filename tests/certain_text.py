"""A deterministic text classifier for flow tests: certain of every category (0.99) for every
text. It keeps the classifier contract (one ``ok`` result per item, every category in [0, 1]), so
the check and generation flows treat it as they treat the built-in one; tests use it to show what
a user sees when a classifier is as sure as it gets, whatever the shipped probes score today."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from service.classify.model import CATEGORIES, Modality, Scores
from service.classify.registry import Classifier, ClassifyConfig, Registry
from service.services import Services
from service.vocabulary import SignalState

CERTAIN = 0.99


class CertainText(Classifier):
    name: ClassVar[str] = "certain-text"
    modality: ClassVar[Modality] = Modality.TEXT

    def __init__(self, config: ClassifyConfig) -> None:
        self.config = config

    @property
    def version(self) -> str:
        return "certain-1"

    def status(self) -> tuple[SignalState, str]:
        return SignalState.OK, self.version

    def classify(self, items: Sequence[Any]) -> list[Scores]:
        return [
            Scores(
                classifier=self.name,
                version=self.version,
                state=SignalState.OK,
                scores=dict.fromkeys(CATEGORIES, CERTAIN),
            )
            for _ in items
        ]


def use_certain_text(services: Services) -> None:
    """Swap the instance's text classifier for ``CertainText``, made through a registry as a
    plugin's would be."""
    registry = Registry()
    registry.register(CertainText.name, Modality.TEXT, CertainText)
    services.classifiers.text = registry.create(CertainText.name, services.classifiers.config)
