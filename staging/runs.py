"""Batch runs in the staging store: a run's start and end, its exceptions and its report.

`start_run` and `finish_run` record a run in `batch_runs` (with its counts and metrics) and in
the audit log; `run_exceptions`, `run_invoices_erp` and `run_row` are what the run's report
reads, and `record_run_report` remembers where that report was written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from psycopg.types.json import Jsonb

from staging.db import Conn
from staging.store import audit


def _dumps(obj: Any) -> str:
    """JSON for metrics that may carry Decimals, dates or UUIDs."""
    return json.dumps(obj, default=str)


def start_run(
    conn: Conn,
    inbox: str,
    *,
    scheduled_for: datetime | None = None,
    business_date: date | None = None,
    prefect_flow_run_id: str | None = None,
    host: str | None = None,
    pid: int | None = None,
) -> uuid.UUID:
    """Record the start of a batch run and return its id: the slot it was scheduled for, the
    business date that slot stands for, its Prefect flow run and the process running it."""
    run_id = uuid.uuid4()
    with conn.transaction():
        conn.execute(
            "INSERT INTO batch_runs (run_id, inbox, scheduled_for, business_date,"
            " prefect_flow_run_id, host, pid) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (run_id, inbox, scheduled_for, business_date, prefect_flow_run_id, host, pid),
        )
        audit(
            conn,
            "run_started",
            run_id=run_id,
            detail={"inbox": inbox, "business_date": str(business_date) if business_date else None},
        )
    return run_id


def mark_crashed_runs(conn: Conn, host: str, is_alive: Callable[[int], bool]) -> list[uuid.UUID]:
    """Mark `crashed` every run still `running` on this host whose process is gone (killed,
    or the machine restarted); returns their ids. What they staged stays staged."""
    rows = conn.execute(
        "SELECT run_id, pid FROM batch_runs WHERE status = 'running' AND host = %s", (host,)
    ).fetchall()
    dead = [r["run_id"] for r in rows if r["pid"] is None or not is_alive(int(r["pid"]))]
    with conn.transaction():
        for run_id in dead:
            conn.execute(
                "UPDATE batch_runs SET status = 'crashed', finished_at = now() WHERE run_id = %s",
                (run_id,),
            )
            audit(conn, "run_crashed", run_id=run_id, detail={"host": host})
    return dead


def record_progress(conn: Conn, run_id: uuid.UUID, progress: dict[str, Any]) -> None:
    """Keep a running run's progress (documents done so far) in its metrics."""
    conn.execute(
        "UPDATE batch_runs SET metrics = metrics || jsonb_build_object('progress', %s::jsonb)"
        " WHERE run_id = %s",
        (_dumps(progress), run_id),
    )


def finish_run(
    conn: Conn,
    run_id: uuid.UUID,
    *,
    counts: dict[str, int],
    metrics: dict[str, Any],
    status: str = "completed",
) -> None:
    """Record the end of a run with its counts and metrics (the headline figures also in
    columns, so that runs can be compared in SQL)."""
    pages = metrics.get("pages") or {}
    llm = metrics.get("llm") or {}
    with conn.transaction():
        conn.execute(
            "UPDATE batch_runs SET finished_at = now(), status = %s, documents = %s, staged = %s,"
            " skipped = %s, exceptions = %s, failures = %s, metrics = %s, pages_text_layer = %s,"
            " pages_ocr = %s, llm_calls = %s, llm_tokens = %s, straight_through_rate = %s,"
            " auto_accept_rate = %s, peak_memory_mb = %s, cost_per_1000 = %s WHERE run_id = %s",
            (
                status,
                counts.get("documents", 0),
                counts.get("staged", 0),
                counts.get("skipped", 0),
                counts.get("exceptions", 0),
                counts.get("failures", 0),
                Jsonb(metrics, dumps=_dumps),
                pages.get("text_layer", 0),
                pages.get("ocr", 0),
                llm.get("calls", 0),
                llm.get("tokens", 0),
                metrics.get("straight_through_rate"),
                metrics.get("auto_accept_rate"),
                metrics.get("peak_memory_mb"),
                (metrics.get("cost") or {}).get("per_1000_invoices"),
                run_id,
            ),
        )
        headline = ("documents", "staged", "skipped", "exceptions", "failures")
        detail = {"counts": {k: counts[k] for k in headline if k in counts}}
        audit(conn, f"run_{status}", run_id=run_id, detail=detail)


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


def run_invoices_erp(conn: Conn, run_id: uuid.UUID) -> list[dict[str, Any]]:
    """Every invoice one run staged, with where it stands with the ERP: its status, its latest
    bill's outbox entry (status, attempts, last error; NULL when never queued) and the ERP's
    receipt (the bill id once synced, and a credit note's id after a reversal)."""
    return conn.execute(
        "SELECT i.document_id, d.file_name, i.invoice_number, coalesce(v.name, i.vendor_name)"
        " AS vendor, i.currency, i.total, i.status, i.erp_id, i.synced_at, i.credit_erp_id,"
        " o.status AS entry_status, o.attempts, o.last_error"
        " FROM invoices i JOIN documents d USING (document_id)"
        " LEFT JOIN vendors v ON v.vendor_id = i.vendor_id"
        " LEFT JOIN LATERAL (SELECT status, attempts, last_error FROM erp_outbox"
        "   WHERE document_id = i.document_id AND kind = 'bill'"
        "   ORDER BY approval_version DESC LIMIT 1) o ON true"
        " WHERE i.run_id = %s ORDER BY i.document_id",
        (run_id,),
    ).fetchall()


def value_versions(conn: Conn, run_id: uuid.UUID) -> list[dict[str, Any]]:
    """The versions behind the values a run staged: per extractor (method, name, version) the
    header values and invoices it produced, and per classification model the invoices it coded.
    Rows: component, name, version, values, invoices."""
    return conn.execute(
        "SELECT 'extractor' AS component,"
        " coalesce(kv.value -> 'provenance' ->> 'method', '') || ':'"
        "   || coalesce(kv.value -> 'provenance' ->> 'extractor', '') AS name,"
        " kv.value -> 'provenance' ->> 'version' AS version, count(*) AS values,"
        " count(DISTINCT i.document_id) AS invoices"
        " FROM invoices i CROSS JOIN LATERAL jsonb_each(i.fields) kv"
        " WHERE i.run_id = %(run)s AND jsonb_typeof(kv.value) = 'object'"
        " AND kv.value ? 'confidence' GROUP BY 1, 2, 3"
        " UNION ALL"
        " SELECT 'classification', m.key, m.value, NULL, count(DISTINCT i.document_id)"
        " FROM invoices i CROSS JOIN LATERAL"
        "   jsonb_each_text(coalesce(i.classification -> 'model_versions', '{}'::jsonb)) m"
        " WHERE i.run_id = %(run)s GROUP BY 1, 2, 3"
        " ORDER BY 1 DESC, 2, 3",
        {"run": run_id},
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


def staged_by_run(conn: Conn, sha256: str, source_path: str, run_id: uuid.UUID) -> int | None:
    """The document id of this file if this very run recorded it (a retried staging task whose
    first attempt committed before the connection broke)."""
    if not sha256:
        return None
    row = conn.execute(
        "SELECT document_id FROM documents WHERE sha256 = %s AND source_path = %s"
        " AND first_run_id = %s",
        (sha256, source_path, run_id),
    ).fetchone()
    return int(row["document_id"]) if row else None


def document_timings(conn: Conn, run_id: uuid.UUID) -> list[dict[str, Any]]:
    """Pages, text methods and seconds per stage of every document a run staged (bench-batch)."""
    return conn.execute(
        "SELECT document_id, file_name, pages, text_methods, timings FROM documents"
        " WHERE first_run_id = %s ORDER BY document_id",
        (run_id,),
    ).fetchall()
