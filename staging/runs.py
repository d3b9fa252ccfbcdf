"""Batch runs in the staging store: a run's start and end, its exceptions and its report.

`start_run` and `finish_run` record a run in `batch_runs` (with its counts and metrics) and in
the audit log; `run_exceptions` and `run_row` are what the run's exception report reads, and
`record_run_report` remembers where that report was written.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from psycopg.types.json import Jsonb

from staging.db import Conn
from staging.store import audit


def _dumps(obj: Any) -> str:
    """JSON for metrics that may carry Decimals, dates or UUIDs."""
    return json.dumps(obj, default=str)


def start_run(conn: Conn, inbox: str) -> uuid.UUID:
    """Record the start of a batch run and return its id."""
    run_id = uuid.uuid4()
    with conn.transaction():
        conn.execute("INSERT INTO batch_runs (run_id, inbox) VALUES (%s, %s)", (run_id, inbox))
        audit(conn, "run_started", run_id=run_id, detail={"inbox": inbox})
    return run_id


def finish_run(
    conn: Conn,
    run_id: uuid.UUID,
    *,
    counts: dict[str, int],
    metrics: dict[str, Any],
    status: str = "completed",
) -> None:
    """Record the end of a run with its counts and metrics."""
    with conn.transaction():
        conn.execute(
            "UPDATE batch_runs SET finished_at = now(), status = %s, documents = %s, staged = %s,"
            " skipped = %s, exceptions = %s, failures = %s, metrics = %s WHERE run_id = %s",
            (
                status,
                counts.get("documents", 0),
                counts.get("staged", 0),
                counts.get("skipped", 0),
                counts.get("exceptions", 0),
                counts.get("failures", 0),
                Jsonb(metrics, dumps=_dumps),
                run_id,
            ),
        )
        audit(conn, f"run_{status}", run_id=run_id, detail={"counts": counts})


def run_exceptions(conn: Conn, run_id: uuid.UUID) -> list[dict[str, Any]]:
    """The exceptions opened by one run, with their documents and extracted values."""
    return conn.execute(
        "SELECT e.exception_id, e.document_id, e.reason_codes, e.details, e.status,"
        " d.file_name, d.source_path, d.status AS document_status, d.errors,"
        " i.fields, i.vendor_id, i.vendor_match, i.checks"
        " FROM exception_queue e JOIN documents d USING (document_id)"
        " LEFT JOIN invoices i USING (document_id)"
        " WHERE e.run_id = %s ORDER BY e.exception_id",
        (run_id,),
    ).fetchall()


def record_run_report(conn: Conn, run_id: uuid.UUID, html: str, csv: str) -> None:
    """Remember where a run's exception report was written."""
    conn.execute(
        "UPDATE batch_runs SET report_html = %s, report_csv = %s WHERE run_id = %s",
        (html, csv, run_id),
    )


def run_row(conn: Conn, run_id: uuid.UUID) -> dict[str, Any] | None:
    """The batch_runs row of a run."""
    return conn.execute("SELECT * FROM batch_runs WHERE run_id = %s", (run_id,)).fetchone()
