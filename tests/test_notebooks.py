"""The analysts' notebooks run, cell by cell in a real kernel (nbclient), against a generated
batch staged in a throwaway schema and worked by a clerk, connected as the analysts'
read-only role. Any error in any cell fails the test."""

from __future__ import annotations

import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import nbformat
import pytest
from nbclient import NotebookClient

from staging import analytics, db

pytestmark = [pytest.mark.db, pytest.mark.slow]

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def analyst_url(staged_batch):
    """The URL of a read-only analyst role on the staged batch's views (dropped afterwards)."""
    role, password = f"analyst_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = db.connect(staged_batch.url, staged_batch.schema)
    analytics.grant_analyst(admin, staged_batch.schema, role, password=password)
    parts = urlsplit(staged_batch.url)
    netloc = f"{role}:{password}@{parts.hostname}:{parts.port or 5432}"
    yield urlunsplit(parts._replace(netloc=netloc))
    analytics.drop_analyst(admin, staged_batch.schema, role)
    admin.close()


def test_the_notebooks_are_the_documented_five():
    assert [p.stem for p in NOTEBOOKS] == [
        "clerk_throughput", "exception_queue", "extraction_quality", "spend_and_duplicates",
        "stp_and_cost",
    ]  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_as_the_analyst(path, staged_batch, analyst_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", analyst_url)
    monkeypatch.setenv("INVOICES_DB_SCHEMA", staged_batch.schema)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    )
    client.execute()  # raises CellExecutionError on the first failing cell
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    conclusion = notebook.cells[-1]
    assert conclusion.cell_type == "code" and conclusion.outputs, "the conclusion prints figures"
