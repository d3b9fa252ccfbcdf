"""Analytics commands: `invoices analyst-role NAME` (the read-only role on the views)."""

from __future__ import annotations

import argparse

from invoices.settings import load_settings
from staging.embedded import database


def cmd_analyst_role(args: argparse.Namespace) -> int:
    """Create or refresh the role that reads the analytics views and nothing else."""
    from staging import analytics, db

    settings = load_settings()
    with database(settings, keep_running=True) as s:
        assert s.database_url
        db.migrate(s.database_url, s.db_schema)
        with db.connection(s.database_url, s.db_schema) as conn:
            analytics.grant_analyst(conn, s.db_schema, args.name, settings.analyst_password)
    login = "LOGIN with INVOICES_ANALYST_PASSWORD" if settings.analyst_password else "NOLOGIN"
    print(f"role {args.name} ({login}) reads schema {analytics.analytics_schema(s.db_schema)}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the analytics sub-commands."""
    p = subparsers.add_parser("analyst-role", help="a role that can read the analytics views only")
    p.add_argument("name", help="role name (lower-case letters, digits, _)")
    p.set_defaults(handler=cmd_analyst_role)
