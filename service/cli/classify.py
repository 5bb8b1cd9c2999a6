"""``vigil models pull|list`` and ``vigil classify train|text``."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from service.cli.common import pass_settings
from service.settings import Settings

DEFAULT_MODEL = "clip-vit-base-patch32"


@click.group("models")
def models_group() -> None:
    """The model store under <data_dir>/models (image weights, pinned by SHA-256)."""


@models_group.command("pull")
@click.argument("name", required=False)
@click.option(
    "--base-url", default=None, help="Fetch '<url>/<file>' instead of the catalogue URL (a mirror)."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def pull_cmd(settings: Settings, name: str | None, base_url: str | None, as_json: bool) -> None:
    """Download model NAME (default: the configured image model, else clip-vit-base-patch32),
    showing progress, and pin each file's SHA-256; a file that differs from its pin is refused."""
    from service.classify.modelstore import CatalogueEntry, ModelStore, load_catalogue
    from service.classify.registry import ClassifyConfig
    from service.errors import InputError

    config = ClassifyConfig.from_settings(settings)
    name = name or settings.classify_image_model or DEFAULT_MODEL
    catalogue = load_catalogue(config.policy_dir / "classify" / "models.yaml")
    base_url = base_url or settings.classify_models_base_url
    entry = catalogue.get(name)
    if entry is None:
        if base_url is None:
            known = ", ".join(sorted(catalogue))
            raise InputError(f"Unknown model {name!r} (known: {known}); give --base-url for another one.")
        entry = CatalogueEntry(name=name, url=base_url)
    bars: dict[str, Any] = {}

    with ExitStack() as stack:

        def progress(file: str, done: int, total: int | None) -> None:
            bar = bars.get(file)
            if bar is None:
                bar = stack.enter_context(
                    click.progressbar(length=total or 0, label=file, file=click.get_text_stream("stderr"))  # type: ignore[operator]
                )
                bars[file] = bar
            bar.update(done - bar.pos)

        stored = ModelStore(root=config.model_root).pull(entry, base_url=base_url, progress=progress)
    if as_json:
        click.echo(json.dumps({"name": stored.name, "path": str(stored.path), "files": dict(stored.files)}))
    else:
        for file, digest in stored.files.items():
            click.echo(f"OK: {file} sha256:{digest}")
        click.echo(f"OK: {stored.name} pinned in {stored.path / 'manifest.json'}")


@models_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_settings
def list_cmd(settings: Settings, as_json: bool) -> None:
    """Models in the store, their size and whether they are the configured image model."""
    from service.classify.modelstore import ModelStore

    models = ModelStore(root=settings.data_dir / "models").list()
    rows = [
        {
            "name": m.name,
            "size": m.size,
            "files": len(m.files),
            "configured": m.name == settings.classify_image_model,
        }
        for m in models
    ]
    if as_json:
        click.echo(json.dumps({"models": rows, "image_model": settings.classify_image_model}))
        return
    for row in rows:
        mark = " (configured)" if row["configured"] else ""
        click.echo(f"{row['name']}\t{row['size']} bytes\t{row['files']} files{mark}")


@click.group("classify")
def classify_group() -> None:
    """Propaganda classifiers: train probes, score text."""


@classify_group.command("train")
@click.option("--kind", type=click.Choice(["text", "image"]), default="text", show_default=True)
@click.option(
    "--data",
    type=click.Path(path_type=Path),
    default=None,
    help="Labelled JSONL file, or a folder of them (text: default policies/classify/corpus/).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Text probe file.")
@click.option("--all", "include_held_out", is_flag=True, help="Train on the held-out split too.")
@pass_settings
def train_cmd(
    settings: Settings, kind: str, data: Path | None, out: Path | None, include_held_out: bool
) -> None:
    """Train calibrated probes from labelled JSONL (one in five lines is held out): for text the
    heads over the encoder, character n-grams and labelled neighbours (about ten minutes on two
    cores for the shipped corpus), for images linear probes."""
    from service.classify import training
    from service.classify.registry import ClassifyConfig
    from service.errors import InputError

    config = ClassifyConfig.from_settings(settings)
    if kind == "text":
        data = data or config.policy_dir / "classify" / "corpus"
        out = out or config.text_probes or config.policy_dir / "classify" / "text_probes.json"
        report = training.train_text(config, data, out, include_held_out=include_held_out)
    else:
        if data is None:
            raise InputError("--data FILE (labelled images) is required for --kind image.")
        report = training.train_image(config, data, include_held_out=include_held_out)
    for path in report.written:
        click.echo(f"OK: wrote {path} ({report.trained_on} of {report.examples} examples)")


@classify_group.command("finetune")
@click.option(
    "--data", type=click.Path(path_type=Path), default=None,
    help="Labelled JSONL file or folder (default policies/classify/corpus/).",
)  # fmt: skip
@click.option("--adapter-out", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Text probe file.")
@click.option("--epochs", type=click.IntRange(1, 20), default=4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@pass_settings
def finetune_cmd(
    settings: Settings, data: Path | None, adapter_out: Path | None, out: Path | None, epochs: int, seed: int
) -> None:
    """Train the text encoder's low-rank adapter and its calibrated heads (CPU: about 15 minutes
    on 2 cores). The held-out split is never read; progress is printed as it goes."""
    from service.classify import training
    from service.classify.registry import ClassifyConfig

    config = ClassifyConfig.from_settings(settings)
    data = data or config.policy_dir / "classify" / "corpus"
    adapter_out = adapter_out or config.policy_dir / "classify" / "text_adapter.npz"
    out = out or config.text_probes or config.policy_dir / "classify" / "text_probes.json"
    report = training.finetune_text(
        config,
        data,
        adapter_out,
        out,
        epochs=epochs,
        seed=seed,
        progress=lambda line: click.echo(line, err=True),
    )
    for path in report.written:
        click.echo(f"OK: wrote {path} ({report.trained_on} of {report.examples} examples)")


@classify_group.command("text")
@click.argument("text")
@pass_settings
def text_cmd(settings: Settings, text: str) -> None:
    """Score TEXT and print one JSON object (scores, lexicon hits, state)."""
    from service.classify.classifiers import Classifiers

    result = Classifiers.from_settings(settings).classify_text([text])[0]
    click.echo(
        json.dumps(
            {
                "state": result.state.value,
                "classifier": result.classifier,
                "version": result.version,
                "scores": {c.value: round(v, 4) for c, v in result.scores.items()},
                "review": result.review,
                "hits": [h.term_id for h in result.hits],
                "detail": result.detail,
            }
        )
    )


def register(cli: click.Group) -> None:
    cli.add_command(models_group)
    cli.add_command(classify_group)
