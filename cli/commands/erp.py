"""ERP commands: `invoices sync` (the outbox relay)."""

from __future__ import annotations

import argparse
import json
import logging


def cmd_sync(args: argparse.Namespace) -> int:
    """`invoices sync`: relay approved invoices from the outbox to the ERP of the settings."""
    from erp_sync.relay import sync
    from invoices.settings import load_settings
    from staging.embedded import database

    logging.getLogger("httpx").setLevel(logging.WARNING)
    with database(load_settings()) as settings:
        stats = sync(settings, until_empty=not args.forever, max_seconds=args.max_seconds)
    print(
        json.dumps(
            {
                "done": stats.done,
                "adopted": stats.adopted,
                "retried": stats.retried,
                "dead": stats.dead,
                "lost_lease": stats.lost_lease,
                "breaker_opened": stats.breaker_opened,
                "seconds": round(stats.seconds, 3),
                "erp_seconds": round(stats.erp_seconds, 3),
                "relay_seconds": round(stats.relay_seconds, 3),
            }
        )
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ERP sub-commands."""
    p = subparsers.add_parser("sync", help="push approved invoices from the outbox to the ERP")
    p.add_argument(
        "--forever",
        action="store_true",
        help="keep waiting for new approvals (LISTEN/NOTIFY, polling as fallback)",
    )
    p.add_argument("--max-seconds", type=float, default=None, help="stop after this long")
    p.set_defaults(handler=cmd_sync)
