"""Connections and ordered SQL migrations. All SQL of the project lives in `staging/`."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.rows import DictRow, dict_row

from invoices.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

# A connection whose rows are dicts (every connection this package opens).
Conn = psycopg.Connection[DictRow]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_schema_name(schema: str) -> str:
    """The schema name, if it is a plain lower-case identifier (it is interpolated as one)."""
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"invalid schema name {schema!r}: use lower-case letters, digits, _")
    return schema


def connect(url: str, schema: str, *, autocommit: bool = False) -> Conn:
    """A connection whose search_path is the staging schema; rows come back as dicts."""
    check_schema_name(schema)
    try:
        conn = psycopg.connect(url, autocommit=autocommit, row_factory=dict_row, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(_redact(url), str(exc).strip()) from exc
    with conn.cursor() as cur:
        cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        cur.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))
    if not autocommit:
        conn.commit()
    return conn


@contextmanager
def connection(url: str, schema: str) -> Iterator[Conn]:
    """A connection for a `with` block: committed on success, rolled back on error, closed."""
    conn = connect(url, schema)
    try:
        with conn:
            yield conn
    finally:
        conn.close()


def _redact(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]+@", r"://\1:***@", url)


def available_migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file shipped in `staging/migrations`, in order."""
    found = []
    for entry in resources.files("staging.migrations").iterdir():
        match = re.match(r"^(\d{3})_([a-z0-9_]+)\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a version number: {sorted(versions)}")
    return sorted(found)


def upgrade(conn: Conn) -> list[str]:
    """Apply every migration not yet applied to the connection's schema; returns their names.

    An advisory lock serialises concurrent upgrades (two runs starting at once).
    """
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(current_schema()))")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, text in available_migrations():
            if version in done:
                continue
            log.info("applying migration %03d_%s", version, name)
            conn.execute(text)  # type: ignore[arg-type]
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name)
            )
            applied_now.append(f"{version:03d}_{name}")
    return applied_now


def current_version(conn: Conn) -> int:
    """The highest applied migration version (0 for an empty schema)."""
    row = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS present").fetchone()
    if not row or not row["present"]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) AS v FROM schema_migrations").fetchone()
    return int(row["v"]) if row else 0


def migrate(url: str, schema: str) -> tuple[list[str], int]:
    """Apply the pending migrations to `schema`; returns (what was applied, the version now)."""
    with connection(url, schema) as conn:
        applied = upgrade(conn)
        return applied, current_version(conn)


class ConnectionPool:
    """A small pool of autocommit connections to the staging schema (the review page's)."""

    def __init__(self, url: str, schema: str, size: int = 4) -> None:
        from psycopg_pool import ConnectionPool as _Pool

        check_schema_name(schema)

        def configure(conn: psycopg.Connection) -> None:  # type: ignore[type-arg]
            conn.autocommit = True
            conn.execute(sql.SQL("SET search_path TO {}, public").format(sql.Identifier(schema)))

        connect(url, schema).close()  # creates the schema when missing, fails clearly when down
        self._pool = _Pool(
            url,
            min_size=1,
            max_size=size,
            open=True,
            configure=configure,
            kwargs={"row_factory": dict_row, "connect_timeout": 10},
        )

    @contextmanager
    def connection(self) -> Iterator[Conn]:
        """A pooled connection for a `with` block."""
        with self._pool.connection() as conn:
            yield conn  # type: ignore[misc]

    def close(self) -> None:
        """Close every connection."""
        self._pool.close()


def ensure_database(url: str, name: str) -> str:
    """The URL of database `name` on the server of `url`, created when missing (the Prefect
    server keeps its own database beside the staging one)."""
    if not re.match(r"^[a-z_][a-z0-9_]{0,62}$", name):
        raise ValueError(f"invalid database name {name!r}")
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if found.fetchone() is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(_redact(url), str(exc).strip()) from exc
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def drop_database(url: str, name: str) -> None:
    """Drop database `name` on the server of `url` (tests' throwaway Prefect databases)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def drop_schema(url: str, schema: str) -> None:
    """Drop a schema and its analytics views' schema (bench-batch's throwaway store)."""
    check_schema_name(schema)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        for name in (schema, f"{schema}_analytics"):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))
