"""Typed errors that carry data.

Document errors (a bad file) are turned into a recorded `StageError` at the stage boundary and
never stop the batch. Infrastructure errors (database down) propagate so Prefect can retry.
"""

from __future__ import annotations

from pathlib import Path

from invoices.records import ReasonCode


class PipelineError(Exception):
    """Base class of every error the pipeline raises on purpose."""


class DocumentError(PipelineError):
    """A problem with one document: recorded against it, the batch goes on."""

    reason: ReasonCode = ReasonCode.DOCUMENT_UNREADABLE

    def __init__(self, path: Path | str, detail: str, page: int | None = None) -> None:
        self.path = Path(path)
        self.detail = detail
        self.page = page
        super().__init__(f"{self.path.name}: {detail}")


class DocumentUnreadable(DocumentError):
    reason = ReasonCode.DOCUMENT_UNREADABLE


class DocumentEncrypted(DocumentError):
    reason = ReasonCode.DOCUMENT_ENCRYPTED


class DocumentEmpty(DocumentError):
    reason = ReasonCode.DOCUMENT_EMPTY


class DocumentTooLarge(DocumentError):
    reason = ReasonCode.DOCUMENT_TOO_LARGE


class DocumentMissing(DocumentError):
    reason = ReasonCode.DOCUMENT_MISSING


class UnsupportedMediaType(DocumentError):
    reason = ReasonCode.UNSUPPORTED_MEDIA_TYPE


class InfrastructureError(PipelineError):
    """A fault outside any one document (database, ERP, model files): the run may retry."""


class DatabaseUnavailable(InfrastructureError):
    def __init__(self, url: str, detail: str) -> None:
        self.url = url
        self.detail = detail
        super().__init__(f"database unavailable at {url}: {detail}")


class MasterDataError(PipelineError):
    """A master-data file that cannot be loaded: names the file, row and column."""

    def __init__(self, path: Path | str, detail: str, row: int | None = None) -> None:
        self.path = Path(path)
        self.row = row
        self.detail = detail
        where = f"{self.path.name}" + (f" row {row}" if row is not None else "")
        super().__init__(f"{where}: {detail}")
