"""SQL of the classification stage: chart of accounts, coded history, clerks' corrections,
history-model versions, the LLM call log and the LLM cache."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from psycopg.types.json import Jsonb

from staging.db import Conn


def chart_of_accounts(conn: Conn) -> dict[str, str]:
    """GL account -> name, in account order."""
    rows = conn.execute("SELECT gl_account, name FROM gl_accounts ORDER BY gl_account").fetchall()
    return {r["gl_account"]: r["name"] for r in rows}


def cost_centre_codes(conn: Conn) -> list[str]:
    """Every cost centre code, in order."""
    rows = conn.execute("SELECT cost_centre FROM cost_centres ORDER BY cost_centre").fetchall()
    return [r["cost_centre"] for r in rows]


def coded_history(conn: Conn) -> list[dict[str, Any]]:
    """Every coded history line that has a GL account."""
    return conn.execute(
        "SELECT invoice_id, line_no, vendor_id, invoice_date, description, amount, gl_account,"
        " cost_centre FROM coded_history WHERE gl_account IS NOT NULL"
        " ORDER BY invoice_id, line_no"
    ).fetchall()


def latest_corrections(conn: Conn) -> list[dict[str, Any]]:
    """The clerks' latest correction of each (invoice, line)."""
    return conn.execute(
        "SELECT DISTINCT ON (invoice_id, line_no) invoice_id, line_no, vendor_id, invoice_date,"
        " description, amount, gl_account, cost_centre FROM classification_corrections"
        " ORDER BY invoice_id, line_no, corrected_at DESC, correction_id DESC"
    ).fetchall()


def record_correction(conn: Conn, correction: Mapping[str, Any]) -> int:
    """Store a clerk's coding of one line (used for the next training); returns its id."""
    row = conn.execute(
        "INSERT INTO classification_corrections (document_id, invoice_id, line_no, vendor_id,"
        " invoice_date, description, amount, gl_account, cost_centre, suggested_gl, suggested_by,"
        " corrected_by) VALUES (%(document_id)s, %(invoice_id)s, %(line_no)s, %(vendor_id)s,"
        " %(invoice_date)s, %(description)s, %(amount)s, %(gl_account)s, %(cost_centre)s,"
        " %(suggested_gl)s, %(suggested_by)s, %(corrected_by)s) RETURNING correction_id",
        {
            "document_id": None,
            "vendor_id": None,
            "invoice_date": None,
            "amount": None,
            "cost_centre": None,
            "suggested_gl": None,
            "suggested_by": None,
            **correction,
        },
    ).fetchone()
    return int(row["correction_id"])


def promoted_model(conn: Conn, kind: str = "history") -> dict[str, Any] | None:
    """The promoted model of a kind: version, metrics and the artifact bytes (None if none)."""
    return conn.execute(
        "SELECT version, metrics, embedder, artifact FROM classifier_models"
        " WHERE kind = %s AND promoted",
        (kind,),
    ).fetchone()


def model_versions(conn: Conn, kind: str = "history") -> list[dict[str, Any]]:
    """Every recorded model version of a kind, newest first, without artifacts."""
    return conn.execute(
        "SELECT version, created_at, trained_lines, corrections, embedder, metrics, baseline,"
        " promoted, decision FROM classifier_models WHERE kind = %s ORDER BY created_at DESC",
        (kind,),
    ).fetchall()


def save_model(
    conn: Conn,
    *,
    version: str,
    kind: str,
    trained_lines: int,
    corrections: int,
    embedder: str,
    metrics: Mapping[str, Any],
    baseline: Mapping[str, Any] | None,
    promote: bool,
    decision: str,
    artifact: bytes,
) -> None:
    """Record a trained model version; when promoted it replaces the current one atomically."""
    with conn.transaction():
        if promote:
            conn.execute(
                "UPDATE classifier_models SET promoted = false WHERE kind = %s AND promoted",
                (kind,),
            )
        conn.execute(
            "INSERT INTO classifier_models (version, kind, trained_lines, corrections, embedder,"
            " metrics, baseline, promoted, created_at, promoted_at, decision, artifact) VALUES"
            " (%s, %s, %s, %s, %s, %s, %s, %s, clock_timestamp(),"
            " CASE WHEN %s THEN clock_timestamp() END, %s, %s)",
            (
                version,
                kind,
                trained_lines,
                corrections,
                embedder,
                Jsonb(dict(metrics)),
                Jsonb(dict(baseline)) if baseline is not None else None,
                promote,
                promote,
                decision,
                artifact,
            ),
        )


def insert_llm_calls(
    conn: Conn, records: Iterable[Mapping[str, Any]], run_id: uuid.UUID | None = None
) -> int:
    """Append LLM call records (model, prompt version, input hash, tokens, latency, outcome)."""
    rows = [
        (
            run_id,
            r["model"],
            r["prompt_version"],
            r["input_hash"],
            r.get("lines", 0),
            r.get("prompt_tokens", 0),
            r.get("completion_tokens", 0),
            r.get("latency_ms", 0),
            r["outcome"],
            r.get("masked", False),
            r.get("detail", ""),
        )
        for r in records
    ]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO llm_calls (run_id, model, prompt_version, input_hash, lines,"
                " prompt_tokens, completion_tokens, latency_ms, outcome, masked, detail)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                rows,
            )
    return len(rows)


def llm_calls(conn: Conn, run_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """The call log (of one run, or all), oldest first."""
    if run_id is None:
        return conn.execute("SELECT * FROM llm_calls ORDER BY call_id").fetchall()
    return conn.execute(
        "SELECT * FROM llm_calls WHERE run_id = %s ORDER BY call_id", (run_id,)
    ).fetchall()


def llm_cache_get(conn: Conn, input_hash: str) -> dict[str, Any] | None:
    """A cached answer by input hash (and count the hit)."""
    row = conn.execute(
        "UPDATE llm_cache SET hits = hits + 1 WHERE input_hash = %s RETURNING answer", (input_hash,)
    ).fetchone()
    return None if row is None else row["answer"]


def llm_cache_put(conn: Conn, input_hash: str, model: str, answer: Mapping[str, Any]) -> None:
    """Remember a valid answer; the first answer for a hash wins."""
    conn.execute(
        "INSERT INTO llm_cache (input_hash, model, answer) VALUES (%s, %s, %s)"
        " ON CONFLICT (input_hash) DO NOTHING",
        (input_hash, model, Jsonb(dict(answer))),
    )


class ClassificationStore:
    """The classification stage's store on one connection (a
    `classifiers.store.ClassificationStore`): the functions above, bound to `conn`."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn

    def chart_of_accounts(self) -> dict[str, str]:
        """GL account -> name."""
        return chart_of_accounts(self.conn)

    def cost_centre_codes(self) -> list[str]:
        """Every cost centre code."""
        return cost_centre_codes(self.conn)

    def coded_history(self) -> list[dict[str, Any]]:
        """Every coded history line that has a GL account."""
        return coded_history(self.conn)

    def latest_corrections(self) -> list[dict[str, Any]]:
        """The clerks' latest correction of each (invoice, line)."""
        return latest_corrections(self.conn)

    def promoted_model(self, kind: str = "history") -> dict[str, Any] | None:
        """The promoted model of a kind."""
        return promoted_model(self.conn, kind)

    def save_model(self, **record: Any) -> None:
        """Record a trained model version."""
        save_model(self.conn, **record)

    def llm_cache_get(self, input_hash: str) -> dict[str, Any] | None:
        """A cached answer by input hash."""
        return llm_cache_get(self.conn, input_hash)

    def llm_cache_put(self, input_hash: str, model: str, answer: Mapping[str, Any]) -> None:
        """Remember a valid answer."""
        llm_cache_put(self.conn, input_hash, model, answer)

    def insert_llm_calls(
        self, records: Iterable[Mapping[str, Any]], run_id: uuid.UUID | None = None
    ) -> int:
        """Append LLM call records."""
        return insert_llm_calls(self.conn, records, run_id)
