"""Learned model versions of every kind (table classifier_models): the promoted one, and
rolling a promotion back. Saving a version is `staging.classification.save_model`."""

from __future__ import annotations

import json
from typing import Any

from staging.db import Conn
from staging.store import audit


def promoted_json(conn: Conn, kind: str) -> tuple[str | None, dict[str, Any]]:
    """(version, artifact as JSON) of the promoted model of a kind; (None, {}) when none."""
    row = conn.execute(
        "SELECT version, artifact FROM classifier_models WHERE kind = %s AND promoted", (kind,)
    ).fetchone()
    if row is None:
        return None, {}
    return row["version"], json.loads(bytes(row["artifact"]).decode("utf-8"))


def json_artifacts(conn: Conn, kind: str, versions: list[str]) -> dict[str, dict[str, Any]]:
    """The JSON artifacts of some versions of a kind, by version."""
    rows = conn.execute(
        "SELECT version, artifact FROM classifier_models WHERE kind = %s AND version = ANY(%s)",
        (kind, versions),
    ).fetchall()
    return {r["version"]: json.loads(bytes(r["artifact"]).decode("utf-8")) for r in rows}


def versions(conn: Conn, kind: str) -> list[dict[str, Any]]:
    """Every version of a kind, newest first, with its figures and decision (no artifact)."""
    return conn.execute(
        "SELECT version, created_at, trained_lines, corrections, metrics, baseline, promoted,"
        " promoted_at, rolled_back_at, decision FROM classifier_models WHERE kind = %s"
        " ORDER BY created_at DESC, version DESC",
        (kind,),
    ).fetchall()


def rollback(conn: Conn, kind: str, *, actor: str) -> tuple[str, str]:
    """Unpromote the promoted version of a kind and promote the one promoted before it (never
    one already rolled back); returns (rolled back, restored). LookupError when there is
    nothing to roll back to."""
    with conn.transaction():
        current = conn.execute(
            "SELECT version, promoted_at FROM classifier_models WHERE kind = %s AND promoted"
            " FOR UPDATE",
            (kind,),
        ).fetchone()
        if current is None:
            raise LookupError(f"no promoted {kind} model to roll back")
        previous = conn.execute(
            "SELECT version FROM classifier_models WHERE kind = %s AND NOT promoted"
            " AND promoted_at < %s AND rolled_back_at IS NULL"
            " ORDER BY promoted_at DESC LIMIT 1 FOR UPDATE",
            (kind, current["promoted_at"]),
        ).fetchone()
        if previous is None:
            raise LookupError(f"no earlier promoted {kind} model to go back to")
        conn.execute(
            "UPDATE classifier_models SET promoted = false, rolled_back_at = now(),"
            " decision = decision || %s WHERE kind = %s AND version = %s",
            (f"; rolled back by {actor}", kind, current["version"]),
        )
        conn.execute(
            "UPDATE classifier_models SET promoted = true WHERE kind = %s AND version = %s",
            (kind, previous["version"]),
        )
        audit(
            conn,
            "model_rolled_back",
            actor=actor,
            detail={"kind": kind, "from": current["version"], "to": previous["version"]},
        )
    return current["version"], previous["version"]
