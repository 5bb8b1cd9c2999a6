"""A tiny CLIP built from a config (random weights, a character vocabulary) and a loopback file
server: the real model-store and transformers paths, at a size a test can afford."""

from __future__ import annotations

import http.server
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from service.classify.modelstore import MANIFEST, ModelStore


def build_tiny_clip(directory: Path, *, seed: int = 0) -> Path:
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    torch.manual_seed(seed)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for ch in string.ascii_lowercase + string.digits + ".,'-":
        vocab[ch] = len(vocab)
        vocab[ch + "</w>"] = len(vocab)
    config = CLIPConfig(
        text_config={
            "vocab_size": len(vocab),
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 128,
            "bos_token_id": 0,
            "eos_token_id": 1,
            "pad_token_id": 1,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=16,
    )
    directory.mkdir(parents=True, exist_ok=True)
    CLIPModel(config).eval().save_pretrained(directory)
    CLIPTokenizer(vocab=vocab, merges=[]).save_pretrained(directory)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(
        directory
    )
    return directory


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """A loopback HTTP server for ``directory``; yields its base URL."""
    handler = partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def install_tiny_clip(model_root: Path, source: Path, name: str = "tiny-clip") -> Path:
    """Pull ``source`` into the store over loopback, as an operator would."""
    from service.classify.modelstore import CatalogueEntry

    with serve_directory(source) as url:
        stored = ModelStore(root=model_root).pull(CatalogueEntry(name=name, url=url))
    assert (stored.path / MANIFEST).is_file()
    return stored.path
