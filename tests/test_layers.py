"""The layer contracts (pyproject `[tool.importlinter]`) hold, and a wrong arrow breaks them.

Each wrong import is planted in a copy of the packages, so the test shows that the contract
that should catch it does, by name, and that `lint-imports` then exits non-zero (what fails
`make test` and CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [str(LINT), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _contract_name(contract_id: str) -> str:
    return next(c["name"] for c in CONFIG["contracts"] if c["id"] == contract_id)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A copy of the packages and the contracts, to plant wrong imports in."""
    root = tmp_path_factory.mktemp("house")
    shutil.copy(ROOT / "pyproject.toml", root)
    for package in CONFIG["root_packages"]:
        shutil.copytree(
            ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    return root


def test_the_contracts_hold_on_the_tree() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    report = " ".join(result.stdout.split())
    assert f"Contracts: {len(CONFIG['contracts'])} kept, 0 broken." in report


@pytest.mark.parametrize(
    ("module", "wrong_import", "contract_id"),
    [
        ("invoices/errors.py", "import staging.db", "layers"),
        ("extractors/parsing/amounts.py", "import cli.main", "layers"),
        ("matchers/normalize.py", "import classifiers.records", "stages-independent"),
        ("review/report.py", "import flows.nightly", "apps-independent"),
        ("staging/db.py", "import synthetic", "generator-beside-the-top"),
        ("synthetic/labels.py", "import staging.store", "generator-uses-pure-code"),
        ("classifiers/history.py", "import psycopg", "sql-in-staging"),
        ("matchers/vendor.py", "import prefect", "prefect-in-flows"),
        ("extractors/text/read.py", "import httpx", "no-http-in-pure-stages"),
    ],
)
def test_a_wrong_arrow_breaks_its_contract(tree, module, wrong_import, contract_id) -> None:
    path = tree / module
    original = path.read_text()
    try:
        path.write_text(original + f"\n{wrong_import}  # planted by the test\n")
        result = _lint(tree)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    report = " ".join(result.stdout.split())  # the report wraps long contract names
    assert f"{_contract_name(contract_id)} BROKEN" in report, result.stdout
