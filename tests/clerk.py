"""A clerk played from the generator's truth: what the review page's users will do.

For each staged invoice the clerk compares the header values with the truth the generator
recorded, corrects those that differ (through staging.corrections, as the page will), and
works the exception queue: resolves every exception but the newest few (left open, for the
ageing figures), recording the seconds spent per item.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from extractors.evaluation.scoring import normalise
from staging import corrections, store
from staging.db import Conn


def _truth(labels: Path, file_name: str) -> dict | None:
    path = labels / (file_name.rsplit(".", 1)[0] + ".json")
    return json.loads(path.read_text())["fields"] if path.exists() else None


def correct_to_truth(conn: Conn, labels: Path, *, clerk: str = "clerk1", limit: int | None = None):
    """Correct staged header values that differ from the truth; returns (reviewed, corrected)."""
    rows = conn.execute(
        "SELECT i.document_id, d.file_name, i.fields FROM invoices i JOIN documents d"
        " USING (document_id) ORDER BY i.document_id"
    ).fetchall()
    reviewed = corrected = 0
    for row in rows:
        truth = _truth(labels, row["file_name"])
        if truth is None:
            continue
        for field, staged in sorted(row["fields"].items()):
            if not isinstance(staged, dict) or "confidence" not in staged or field not in truth:
                continue
            reviewed += 1
            if normalise(field, truth[field]) != normalise(field, staged.get("value")):
                corrections.record_field_correction(
                    conn, row["document_id"], field, truth[field], clerk=clerk
                )
                corrected += 1
                if limit is not None and corrected >= limit:
                    return reviewed, corrected
    return reviewed, corrected


def work_queue(conn: Conn, *, clerk: str = "clerk1", leave_open: int = 3, seconds: int = 75) -> int:
    """Resolve the open exceptions, oldest first, but the newest `leave_open`; returns how many."""
    queue = store.open_exception_queue(conn)
    done = 0
    for i, item in enumerate(queue[: max(0, len(queue) - leave_open)]):
        start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=30 - i)
        corrections.record_item_time(
            conn, item["document_id"], clerk=clerk, started_at=start,
            finished_at=start + dt.timedelta(seconds=seconds + 10 * i),
            exception_id=item["exception_id"],
        )  # fmt: skip
        duplicate = "DUPLICATE_SUSPECTED" in item["reason_codes"]
        store.resolve_exception(
            conn, item["exception_id"], actor=clerk,
            resolution="duplicate: rejected" if duplicate else "checked", approve=not duplicate,
        )  # fmt: skip
        done += 1
    conn.commit()
    return done
