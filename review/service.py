"""What the `invoices review`, `invoices users` and `invoices export-corrections` commands call."""

from __future__ import annotations

import json
from pathlib import Path

from invoices.settings import Settings
from review.auth import hash_password
from staging import corrections, db, users


def add_user(settings: Settings, name: str, role: str, password: str) -> None:
    """Create or update a review user (argon2 hash of the password; old sessions revoked)."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        db.upgrade(conn)
        users.add_user(conn, name.strip().lower(), role, hash_password(password))


def serve(settings: Settings) -> None:
    """Serve the review page with uvicorn on the host and port from settings (blocks)."""
    import uvicorn

    from review.app import create_app

    assert settings.database_url
    db.migrate(settings.database_url, settings.db_schema)
    uvicorn.run(create_app(settings), host=settings.review_host, port=settings.review_port,
                log_level="info")


def export_corrections(settings: Settings, out: Path) -> int:
    """Write every clerk correction as one eval-label/v1 file per document; returns the count
    of documents written."""
    assert settings.database_url
    with db.connection(settings.database_url, settings.db_schema) as conn:
        rows = corrections.label_rows(conn)
    by_doc: dict[int, list[dict]] = {}  # type: ignore[type-arg]
    for r in rows:
        by_doc.setdefault(r["document_id"], []).append(r)
    out.mkdir(parents=True, exist_ok=True)
    for items in by_doc.values():
        # the last correction of a header field wins; line corrections are listed only
        latest = {c["field"]: c for c in items if c["line_no"] is None}
        label = {
            "schema": "eval-label/v1",
            "dataset": "review-corrections",
            "doc_id": Path(items[0]["file_name"]).stem,
            "documents": [{"path": items[0]["file_name"], "sha256": (items[0]["sha256"] or "")
                           .strip()}],
            "label_coverage": "partial: only the fields a clerk corrected",
            "fields": {f: c["new_value"] for f, c in latest.items()},
            "line_items": None,
            "source": {"generator": "review", "version": "1"},
            "corrections": [{
                "field": _label_field(c), "line_no": c["line_no"], "old": c["old_value"],
                "new": c["new_value"], "page": c["page"], "bbox": c["bbox"],
                "user": c["corrected_by"], "at": c["corrected_at"].isoformat(),
                "extractor": c["extractor"], "extractor_version": c["extractor_version"],
                "method": c["method"], "old_confidence": c["old_confidence"],
            } for c in items],
        }
        name = Path(items[0]["file_name"]).stem + ".json"
        (out / name).write_text(json.dumps(label, indent=2, default=str), encoding="utf-8")
    return len(by_doc)


def _label_field(correction: dict) -> str:  # type: ignore[type-arg]
    """A header field by name, a line cell as its path (`line_items[N].quantity`)."""
    if correction["line_no"] is None:
        return str(correction["field"])
    return f"line_items[{correction['line_no']}].{correction['field']}"
