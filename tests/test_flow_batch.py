"""The nightly batch end to end under Prefect's test harness, on a real Postgres.

Real invoices from the shared eval set plus every bad input of the batch issue: each bad file
is recorded as a failed document with a clear reason, the batch goes on, and a re-run of the
same inbox stages nothing new.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

import flows.nightly as nightly
from review.report import write_run_report
from staging import db, master
from tests.batch_inputs import SROIE_DOCS, ZUGFERD_DOCS, bad_inputs, copy_real

pytestmark = [pytest.mark.db, pytest.mark.slow]

REAL = [
    "v2_intarsys_EN16931_zugferd_2p0_EN16931_Einfach.pdf",
    "v2_intarsys_EN16931_zugferd_2p0_EN16931_Gutschrift.pdf",
]

# One vendor of the sample set is in the master; the credit note's seller is the same company.
VENDORS_CSV = (
    "vendor_id,name,aliases,address,country,vat_id,iban,bic,email,currency,locale,payment_terms_days\n"
    "V-LIEF,Lieferant GmbH,,Lieferantenstraße 20 80333 München,DE,DE123456789,,,,EUR,de_DE,30\n"
    "V-OTHER,Blumenhaus Rosalie KG,,Gartenweg 3 50667 Köln,DE,DE811569869,,,,EUR,de_DE,14\n"
)


@pytest.fixture(scope="module")
def harness():
    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def inbox(tmp_path) -> tuple[Path, dict[str, Path]]:
    folder = tmp_path / "inbox"
    copy_real(REAL, ZUGFERD_DOCS, folder)
    copy_real(["train_030.jpg"], SROIE_DOCS, folder)
    cases = bad_inputs(folder, ZUGFERD_DOCS / REAL[0])
    # a re-sent copy with a new sha256 (a PDF comment appended), in a sub-folder
    (folder / "late").mkdir()
    cases["vanishing"] = folder / "late" / "resent.pdf"
    cases["vanishing"].write_bytes((ZUGFERD_DOCS / REAL[0]).read_bytes() + b"\n% resent\n")
    return folder, cases


def _vanish_after_fingerprint(victim: Path, real_fingerprint):
    def fingerprint(path, settings):
        described = real_fingerprint(path, settings)
        if path == victim:
            path.unlink()  # the file disappears after the batch saw it, before it is read
        return described

    return fingerprint


def _documents(settings) -> dict[str, dict]:
    with db.connection(settings.database_url, settings.db_schema) as conn:
        rows = conn.execute(
            "SELECT d.file_name, d.status, d.errors, e.reason_codes, i.total, i.vendor_id"
            " FROM documents d LEFT JOIN exception_queue e USING (document_id)"
            " LEFT JOIN invoices i USING (document_id)"
        ).fetchall()
    return {r["file_name"]: r for r in rows}


def test_batch_stages_reports_and_is_idempotent(harness, inbox, settings, monkeypatch, tmp_path):
    folder, cases = inbox
    vendors = tmp_path / "master"
    vendors.mkdir()
    (vendors / "vendors.csv").write_text(VENDORS_CSV, encoding="utf-8")
    with db.connection(settings.database_url, settings.db_schema) as conn:
        master.load_master_dir(conn, vendors)
    monkeypatch.setattr(
        nightly, "fingerprint", _vanish_after_fingerprint(cases["vanishing"], nightly.fingerprint)
    )
    overrides = {
        "database_url": settings.database_url,
        "db_schema": settings.db_schema,
        "reports_dir": str(settings.reports_dir),
    }

    summary = nightly.nightly_batch(inbox=str(folder), overrides=overrides)
    summary.update(write_run_report(settings, summary))  # what `invoices run` does next

    files = 3 + len(cases)
    assert summary["documents"] == files
    assert summary["staged"] == files
    assert summary["failures"] == len(cases)
    docs = _documents(settings)
    expected = {
        "empty.pdf": "DOCUMENT_EMPTY",
        "truncated.pdf": "DOCUMENT_UNREADABLE",
        "encrypted.pdf": "DOCUMENT_ENCRYPTED",
        "notes.pdf": "UNSUPPORTED_MEDIA_TYPE",
        "huge.png": "DOCUMENT_TOO_LARGE",
        "resent.pdf": "DOCUMENT_MISSING",
    }
    for name, reason in expected.items():
        row = docs[name]
        assert row["status"] == "failed", name
        assert reason in row["reason_codes"], (name, row["reason_codes"])
        assert row["errors"] and row["errors"][0]["message"], name
    einfach = docs[REAL[0]]
    assert einfach["status"] in ("success", "partial")
    assert einfach["total"] is not None
    assert einfach["vendor_id"] == "V-LIEF"

    html = Path(summary["report_html"]).read_text(encoding="utf-8")
    assert "DOCUMENT_ENCRYPTED" in html and "huge.png" in html
    assert "Pages (text layer / OCR)" in html and "Cost per 1,000 invoices" in html
    with open(summary["report_csv"], newline="", encoding="utf-8") as fh:
        report_rows = list(csv.DictReader(fh))
    assert len(report_rows) == summary["exceptions"] >= len(cases)
    assert {"file_name", "reason_codes", "total", "total_confidence"} <= set(report_rows[0])

    with db.connection(settings.database_url, settings.db_schema) as conn:
        run = conn.execute("SELECT * FROM batch_runs").fetchone()
        assert run["status"] == "completed" and run["staged"] == files
        assert run["report_html"] == summary["report_html"]
        assert run["metrics"]["seconds_per_stage"]["text"] > 0
        assert run["pages_text_layer"] >= 2 and run["pages_ocr"] >= 1  # the receipt is OCRed
        assert run["business_date"] is not None and run["pid"] is not None
        assert run["metrics"]["exceptions_by_reason"]["DOCUMENT_ENCRYPTED"] == 1

    again = nightly.nightly_batch(inbox=str(folder), overrides=overrides)
    assert again["staged"] == 0
    assert again["skipped"] == files - 1  # the vanished file is gone from the inbox
    assert len(_documents(settings)) == files


def test_identical_file_under_another_name_is_a_suspected_duplicate(harness, settings, tmp_path):
    folder = tmp_path / "inbox"
    copy_real([REAL[0]], ZUGFERD_DOCS, folder)
    overrides = {
        "database_url": settings.database_url,
        "db_schema": settings.db_schema,
        "reports_dir": str(settings.reports_dir),
    }
    first = nightly.nightly_batch(inbox=str(folder), overrides=overrides)
    assert first["staged"] == 1 and first["identical_files"] == 0
    (folder / "resent-copy.pdf").write_bytes((folder / REAL[0]).read_bytes())
    second = nightly.nightly_batch(inbox=str(folder), overrides=overrides)
    assert second["staged"] == 0 and second["identical_files"] == 1 and second["skipped"] == 1
    docs = _documents(settings)
    copy = docs["resent-copy.pdf"]
    assert copy["status"] == "skipped" and copy["reason_codes"] == ["DUPLICATE_SUSPECTED"]
    third = nightly.nightly_batch(inbox=str(folder), overrides=overrides)
    assert third["staged"] == 0 and third["identical_files"] == 0 and third["skipped"] == 2
