"""Shared fixtures: a real Postgres with a throwaway schema per test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

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
