"""The analysts' role: it selects the analytics views and cannot read or write anything else."""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from staging import analytics, db

pytestmark = pytest.mark.db


def _as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    netloc = f"{role}:{password}@{parts.hostname}:{parts.port or 5432}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
def analyst(database_url, fresh_schema):
    role, password = f"analyst_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    admin = db.connect(database_url, fresh_schema)
    analytics.grant_analyst(admin, fresh_schema, role, password=password)
    reader = analytics.connect_analytics(_as_role(database_url, role, password), fresh_schema)
    yield reader
    reader.close()
    analytics.drop_analyst(admin, fresh_schema, role)
    admin.close()


def test_the_role_reads_every_view(analyst):
    assert analyst.execute("SELECT current_user AS u").fetchone()["u"].startswith("analyst_")
    for view in analytics.declared_views():
        analytics.load(analyst, view)  # raises on any missing right


STAGING_READS = [
    "SELECT * FROM {s}.invoices",
    "SELECT * FROM {s}.audit_log",
    "SELECT * FROM {s}.field_corrections",
    "SELECT * FROM {s}.vendors",
]
WRITES = [
    "INSERT INTO {a}.clerk_seconds (document_id, clerk) VALUES (1, 'x')",
    "UPDATE {a}.clerk_seconds SET clerk = 'x'",  # a one-table view: updatable but for rights
    "DELETE FROM {a}.clerk_seconds",
    "UPDATE {s}.exception_queue SET assignee = 'x'",
    "CREATE TABLE {a}.mine (x int)",
    "CREATE VIEW {a}.mine AS SELECT 1",
    "CREATE TABLE public.mine (x int)",
    "INSERT INTO {s}.audit_log (actor, action) VALUES ('x', 'y')",
]


@pytest.mark.parametrize("statement", STAGING_READS + WRITES)
def test_the_role_cannot_read_tables_or_write(analyst, fresh_schema, statement):
    text = statement.format(s=fresh_schema, a=analytics.analytics_schema(fresh_schema))
    with analyst.transaction(), pytest.raises(psycopg.errors.InsufficientPrivilege):
        analyst.execute("SET TRANSACTION READ WRITE")  # rights, not the read-only session, refuse
        analyst.execute(text)
