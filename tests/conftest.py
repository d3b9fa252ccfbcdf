"""Shared fixtures: a real Postgres with a throwaway schema per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from invoices.settings import Settings, load_settings
from staging import db

DEFAULT_TEST_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _test_url() -> str:
    return os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL") or DEFAULT_TEST_URL


@pytest.fixture(scope="session")
def database_url() -> str:
    """The URL of the real Postgres the tests use; fails loudly when it is not reachable."""
    url = _test_url()
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except psycopg.OperationalError as exc:
        pytest.fail(f"tests need a real Postgres at {url} (set TEST_DATABASE_URL): {exc}")
    return url


@contextmanager
def throwaway_schema(url: str) -> Iterator[str]:
    """A new migrated schema, dropped on exit."""
    schema = f"test_{uuid.uuid4().hex[:12]}"
    conn = db.connect(url, schema)
    db.upgrade(conn)
    conn.close()
    try:
        yield schema
    finally:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            c.execute(f'DROP SCHEMA IF EXISTS "{schema}_analytics" CASCADE')


@pytest.fixture(scope="session")
def db_schema(database_url: str) -> Iterator[str]:
    """A throwaway schema shared by the whole test session."""
    with throwaway_schema(database_url) as schema:
        yield schema


@pytest.fixture
def fresh_schema(database_url: str) -> Iterator[str]:
    """A throwaway schema for one test (for tests that need an empty store)."""
    with throwaway_schema(database_url) as schema:
        yield schema


@pytest.fixture
def settings(database_url: str, fresh_schema: str, tmp_path) -> Settings:
    """Settings pointing at a fresh schema and a temporary reports folder."""
    return load_settings(
        database_url=database_url, db_schema=fresh_schema, reports_dir=tmp_path / "reports"
    )


@pytest.fixture
def conn(database_url: str, fresh_schema: str) -> Iterator[psycopg.Connection]:
    """A connection to a fresh, migrated schema."""
    c = db.connect(database_url, fresh_schema)
    yield c
    c.close()


@dataclass(frozen=True)
class StagedBatch:
    """A generated corpus staged by the nightly flow in a throwaway schema, worked by a clerk."""

    url: str
    schema: str
    corpus: Path
    reviewed: int
    corrected: int
    resolved: int


STAGED_INVOICES = 128
STAGED_FAMILY_SHARE = 0.7
# Scans among them: since the extraction reads the families' text layers nearly right (session
# 8: 7 visual errors on the text layer, 62 before), OCR is where the real errors are.
STAGED_SCANNED_SHARE = 0.6


@pytest.fixture(scope="session")
def staged_batch(database_url, tmp_path_factory) -> Iterator[StagedBatch]:
    """One generated batch staged once for the session: born-digital and scanned, with
    duplicates, PO anomalies and credit notes, most of it printed in the layout families (where
    the extraction errs as it does on real invoices, so the clerk has real errors to correct);
    the notebooks and the learning loop read it."""
    from prefect.testing.utilities import prefect_test_harness

    import flows.nightly as nightly
    from staging import master
    from synthetic import FAMILY_KINDS, generate_corpus
    from tests.clerk import correct_to_truth, work_queue

    corpus = tmp_path_factory.mktemp("staged_batch")
    generate_corpus(
        corpus, invoices=STAGED_INVOICES, seed=11, workers=1, scanned_share=STAGED_SCANNED_SHARE,
        image_share=0.0,
        anomaly_rates={"number_variant_duplicate": 0.08, "exact_duplicate": 0.06,
                       "price_variance": 0.08, "rescanned_duplicate": 0.0, "credit_note": 0.06},
        family_rates={kind: STAGED_FAMILY_SHARE for kind in FAMILY_KINDS},
    )  # fmt: skip
    with throwaway_schema(database_url) as schema:
        with db.connection(database_url, schema) as conn:
            master.load_master_dir(conn, corpus / "master")
        # half the straight-through invoices go to a clerk's audit: their values are reviewed
        overrides = {"database_url": database_url, "db_schema": schema,
                     "reports_dir": str(corpus / "reports"), "audit_sample_share": 0.5}  # fmt: skip
        with prefect_test_harness(server_startup_timeout=120):
            nightly.nightly_batch(inbox=str(corpus / "docs"), overrides=overrides)
        conn = db.connect(database_url, schema)
        reviewed, corrected = correct_to_truth(conn, corpus / "labels")
        resolved = work_queue(conn)
        conn.close()
        yield StagedBatch(database_url, schema, corpus, reviewed, corrected, resolved)
