"""The analysts' side of the store: the read-only views, their role, and a typed reader.

The views (migration 051, documented in staging/ANALYTICS.md) live in the schema
`<staging schema>_analytics`. `grant_analyst` makes a role that can select those views and
nothing else; `connect_analytics` opens a connection whose search path is the analytics schema
only (it works for that role); `load(conn, view, **filters)` returns a view as a typed DataFrame
(see `invoices.analytics` for the column kinds), so notebooks hold no SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from invoices.analytics import VIEW_COLUMNS, columns, frame
from invoices.errors import DatabaseUnavailable
from staging.db import Conn, _redact, check_schema_name

SUFFIX = "_analytics"


def analytics_schema(schema: str) -> str:
    """The schema holding the analytics views of a staging schema."""
    return check_schema_name(check_schema_name(schema) + SUFFIX)


def connect_analytics(url: str, schema: str) -> Conn:
    """A read-only, autocommit connection whose search path is the analytics schema alone.

    It creates nothing, so it works with the analyst role's URL as well as the pipeline's.
    """
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(_redact(url), str(exc).strip()) from exc
    conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(analytics_schema(schema))))
    conn.execute("SET default_transaction_read_only = on")
    return conn


def _condition(column: str, value: Any) -> tuple[sql.Composable, list[Any]]:
    ident = sql.Identifier(column)
    if value is None:
        return sql.SQL("{} IS NULL").format(ident), []
    if isinstance(value, (list, tuple, set, frozenset)):
        return sql.SQL("{} = ANY(%s)").format(ident), [list(value)]
    return sql.SQL("{} = %s").format(ident), [value]


def view_rows(conn: Conn, view: str, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of one analytics view, filtered by column equality (a list means any of)."""
    known = columns(view)
    unknown = sorted(set(filters) - set(known))
    if unknown:
        raise KeyError(f"{view} has no column {unknown}; columns: {list(known)}")
    query: sql.Composable = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in known), sql.Identifier(view)
    )
    params: list[Any] = []
    if filters:
        parts = []
        for column, value in filters.items():
            part, values = _condition(column, value)
            parts.append(part)
            params.extend(values)
        query = sql.SQL("{} WHERE {}").format(query, sql.SQL(" AND ").join(parts))
    return conn.execute(query, params).fetchall()


def load(conn: Conn, view: str, **filters: Any) -> pd.DataFrame:
    """One analytics view as a typed DataFrame, e.g. `load(conn, "exceptions", status="open")`.

    `conn` is a connection from `connect_analytics` (or any whose search path reaches the
    analytics schema first)."""
    return frame(view, view_rows(conn, view, filters))


def view_names(conn: Conn, schema: str) -> list[str]:
    """The views that exist in a staging schema's analytics schema, by name."""
    rows = conn.execute(
        "SELECT table_name FROM information_schema.views WHERE table_schema = %s"
        " ORDER BY table_name",
        (analytics_schema(schema),),
    ).fetchall()
    return [r["table_name"] for r in rows]


def grant_analyst(conn: Conn, schema: str, role: str, password: str | None = None) -> None:
    """Make `role` (created if missing; LOGIN when a password is given) able to select the
    analytics views of `schema` and nothing else: USAGE on the analytics schema, SELECT on its
    views (and on views added later by the same owner), and no rights on the staging schema."""
    check_schema_name(role)
    target = analytics_schema(schema)
    ident, where = sql.Identifier(role), sql.Identifier(target)
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(ident))
        if password is not None:
            conn.execute(
                sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}").format(ident, sql.Literal(password))
            )
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(where, ident))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(where, ident))
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} GRANT SELECT ON TABLES TO {}").format(
                where, ident
            )
        )


def drop_analyst(conn: Conn, schema: str, role: str) -> None:
    """Take every right the analyst role holds in this database away and drop the role."""
    check_schema_name(role)
    ident, where = sql.Identifier(role), sql.Identifier(analytics_schema(schema))
    with conn.transaction():
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA {} REVOKE SELECT ON TABLES FROM {}").format(
                where, ident
            )
        )
        conn.execute(sql.SQL("DROP OWNED BY {}").format(ident))
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident))


def drop_analytics_schema(conn: Conn, schema: str) -> None:
    """Drop a staging schema's analytics schema (its views go with the staging schema already)."""
    conn.execute(
        sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(analytics_schema(schema)))
    )


def declared_views() -> Iterable[str]:
    """The views the reader knows, by name (equal to the views the migration makes: tested)."""
    return VIEW_COLUMNS.keys()
