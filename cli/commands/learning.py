"""The learning loop's commands: `invoices retrain`, `invoices rollback KIND`."""

from __future__ import annotations

import argparse
import getpass
import json
import sys

from invoices.settings import load_settings
from staging.embedded import database

KINDS = ["calibration", "vendor_aliases", "history"]


def cmd_retrain(args: argparse.Namespace) -> int:
    """Fit candidates from clerks' corrections and confirmed invoices; promote if not worse."""
    from flows.retrain import retrain_now

    with database(load_settings()) as s:
        report = retrain_now(s, args.kind or None)
    print(json.dumps(report, indent=2, default=str))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    """Restore the version of a model kind that was promoted before the current one."""
    from flows.retrain import rollback

    with database(load_settings()) as s:
        try:
            old, restored = rollback(s, args.kind, actor=getpass.getuser())
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"{args.kind}: rolled back {old}, promoted {restored} again")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the learning-loop sub-commands."""
    p = subparsers.add_parser("retrain", help="refit models from clerks' corrections")
    p.add_argument("--kind", action="append", choices=KINDS, help="only this kind (repeatable)")
    p.set_defaults(handler=cmd_retrain)
    p = subparsers.add_parser("rollback", help="restore the previously promoted model")
    p.add_argument("kind", choices=KINDS)
    p.set_defaults(handler=cmd_rollback)
