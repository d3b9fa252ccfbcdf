"""The analysts' notebooks run against a real staging schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.db

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_code_runs(path, database_url, fresh_schema, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("INVOICES_DB_SCHEMA", fresh_schema)
    namespace: dict = {}
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)
    namespace["conn"].close()
