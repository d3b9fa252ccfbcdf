"""`invoices serve`: what one machine needs for the nightly schedule (server and deployments:
the nightly batch, and the ERP relay on its own interval)."""

from __future__ import annotations

import argparse
import sys

from invoices.settings import load_settings
from staging.embedded import database


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the Prefect server (unless one is named) and serve the nightly and ERP relay
    deployments until interrupted; then stop what was started here."""
    from flows.schedule import serve_on_this_machine

    settings = load_settings()
    if settings.schedule_inbox is None or not settings.schedule_inbox.is_dir():
        print("error: set INVOICES_SCHEDULE_INBOX to the inbox folder", file=sys.stderr)
        return 2
    from cli.relay import RELAY_ENTRYPOINT, erp_relay
    from cli.scheduled import ENTRYPOINT, nightly_scheduled

    with database(settings, keep_running=True) as s:
        relay = (erp_relay, RELAY_ENTRYPOINT)
        serve_on_this_machine(s, nightly_scheduled, ENTRYPOINT, args.interval, relay)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `serve` sub-command."""
    p = subparsers.add_parser(
        "serve", help="serve the nightly batch on its schedule (starts a Prefect server)"
    )
    p.add_argument(
        "--interval", type=float, default=None, help="also run every N seconds (tests, demos)"
    )
    p.set_defaults(handler=cmd_serve)
