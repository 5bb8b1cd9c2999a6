"""A CLIP-family model loaded from the model store: image and text towers, torch or ONNX.

Preprocessing follows the model's own ``preprocessor_config.json`` (shortest side resized with
bicubic resampling, centre crop, per-channel normalisation) and is done here with Pillow and
numpy, so the same pixels feed both backends. transformers 5 returns a model output from
``get_*_features``; the projected embedding is its ``pooler_output``, picked explicitly (also for
the ONNX export).
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from PIL import Image

from service.classify.encoder import native_bf16, quiet_transformers, set_threads
from service.errors import ModelUnavailable

F32 = npt.NDArray[np.float32]


def _features(output: Any) -> Any:
    return output if not hasattr(output, "pooler_output") else output.pooler_output


class ClipTower:
    def __init__(
        self,
        path: Path,
        *,
        backend: str = "torch",
        onnx_dir: Path | None = None,
        threads: int | None = None,
        bf16: bool = False,
    ) -> None:
        quiet_transformers()
        set_threads(threads)
        self.threads = threads
        self.bf16 = bf16 and native_bf16()
        from transformers import AutoTokenizer, CLIPModel

        # B615 (unpinned hub download) does not apply: a store directory whose SHA-256s were checked.

        try:
            self.model = CLIPModel.from_pretrained(str(path), local_files_only=True).eval()  # type: ignore[no-untyped-call]  # nosec B615
            self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)  # nosec B615
            pre = json.loads((path / "preprocessor_config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailable(f"The image model at {path} failed to load: {exc}") from exc
        size = pre.get("size", {})
        crop = pre.get("crop_size", {})
        self.side = int(size.get("shortest_edge", size) if isinstance(size, dict) else size)
        self.crop = int(crop.get("height", self.side) if isinstance(crop, dict) else crop)
        self.mean = np.asarray(pre.get("image_mean", [0.4815, 0.4578, 0.4082]), dtype=np.float32)
        self.std = np.asarray(pre.get("image_std", [0.2686, 0.2613, 0.2758]), dtype=np.float32)
        self.logit_scale = float(self.model.logit_scale.exp().item())
        self.backend = backend
        self._session: Any = None
        if backend == "onnx":
            self._session = self._onnx_session(onnx_dir or path / "onnx")
        elif self.bf16:  # weights cast once (autocast would cast them again on every call)
            import torch

            self.model = self.model.to(torch.bfloat16)

    # --- preprocessing -----------------------------------------------------------------------
    def pixels(self, images: Sequence[Image.Image]) -> F32:
        out = np.empty((len(images), 3, self.crop, self.crop), dtype=np.float32)
        for i, image in enumerate(images):
            img = image.convert("RGB")
            w, h = img.size
            scale = self.side / min(w, h)
            size = (max(self.crop, round(w * scale)), max(self.crop, round(h * scale)))
            # reducing_gap: a box reduction first, then bicubic over the last factor of 2 (faster,
            # and the same to the eye)
            img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
            w, h = img.size
            left, top = (w - self.crop) // 2, (h - self.crop) // 2
            img = img.crop((left, top, left + self.crop, top + self.crop))
            arr = np.asarray(img, dtype=np.float32) / 255.0
            out[i] = ((arr - self.mean) / self.std).transpose(2, 0, 1)
        return out

    # --- embeddings --------------------------------------------------------------------------
    def embed_images(self, images: Sequence[Image.Image]) -> F32:
        pixels = self.pixels(images)
        if self._session is not None:
            raw = np.asarray(self._session.run(["embeds"], {"pixel_values": pixels})[0], dtype=np.float32)
        else:
            import torch

            with torch.inference_mode():
                values = torch.from_numpy(pixels).to(self.model.dtype)
                raw = _features(self.model.get_image_features(pixel_values=values)).float().numpy()
        return _normalise(raw)

    def embed_texts(self, texts: Sequence[str]) -> F32:
        import torch

        enc = self.tokenizer(list(texts), padding=True, truncation=True, return_tensors="pt")
        with torch.inference_mode():
            raw = _features(self.model.get_text_features(**enc)).float().numpy()
        return _normalise(raw)

    # --- ONNX Runtime (optional) -------------------------------------------------------------
    def export_onnx(self, directory: Path) -> Path:
        """Export the image tower (projection included) and quantise it to int8 (dynamic)."""
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic

        directory.mkdir(parents=True, exist_ok=True)
        fp32, int8 = directory / "image_tower.onnx", directory / "image_tower.int8-weights.onnx"

        class ImageTower(torch.nn.Module):
            def __init__(self, clip: Any) -> None:
                super().__init__()
                self.clip = clip  # a submodule, so its weights export as initialisers

            def forward(self, pixel_values: Any) -> Any:
                return _features(self.clip.get_image_features(pixel_values=pixel_values))

        dummy = torch.zeros(1, 3, self.crop, self.crop)
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                ImageTower(self.model).eval(),
                (dummy,),
                str(fp32),
                input_names=["pixel_values"],
                output_names=["embeds"],
                dynamic_axes={"pixel_values": {0: "batch"}, "embeds": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
            logging.disable(logging.WARNING)  # the quantiser logs advice on the root logger
            try:
                # weight matrices only: products of two activations (attention) stay fp32
                quantize_dynamic(
                    str(fp32),
                    str(int8),
                    weight_type=QuantType.QInt8,
                    op_types_to_quantize=["MatMul"],
                    extra_options={"MatMulConstBOnly": True},
                )
            finally:
                logging.disable(logging.NOTSET)
        fp32.unlink(missing_ok=True)
        return int8

    def _onnx_session(self, directory: Path) -> Any:
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise ModelUnavailable("The onnx backend needs onnxruntime: pip install vigil[onnx].") from exc
        model_file = directory / "image_tower.int8-weights.onnx"
        if not model_file.is_file():
            model_file = self.export_onnx(directory)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads is not None:
            options.intra_op_num_threads = self.threads
        return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])


def _normalise(x: npt.NDArray[Any]) -> F32:
    x = np.asarray(x, dtype=np.float32)
    return np.asarray(x / np.clip(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12, None), dtype=np.float32)
