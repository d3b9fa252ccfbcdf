"""`invoices review`, `invoices users add`, `invoices export-corrections`, `invoices report`: the
clerks' page and the run report."""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from invoices.settings import load_settings
from staging.embedded import database


def cmd_review(args: argparse.Namespace) -> int:
    """Serve the review page (host, port, database from settings)."""
    from review.service import serve

    overrides = {k: v for k, v in (("review_host", args.host), ("review_port", args.port)) if v}
    with database(load_settings(**overrides)) as s:
        print(f"review page on http://{s.review_host}:{s.review_port}/ (Ctrl+C stops it)")
        serve(s)
    return 0


def cmd_users_add(args: argparse.Namespace) -> int:
    """Create a user; the password comes from a prompt, or stdin when it is not a terminal."""
    from review.service import add_user

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.name}: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    with database(load_settings()) as s:
        try:
            add_user(s, args.name, args.role, password)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"user {args.name.strip().lower()} ({args.role}) saved")
    return 0


def cmd_export_corrections(args: argparse.Namespace) -> int:
    """Write the clerks' corrections as eval-label/v1 files."""
    from review.service import export_corrections

    with database(load_settings()) as s:
        n = export_corrections(s, Path(args.out))
    print(f"wrote corrections of {n} documents to {args.out}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    """Write a run's report again, with its invoices' ERP status and receipts as they are now."""
    from review.report import rewrite_run_report

    with database(load_settings()) as s:
        try:
            paths = rewrite_run_report(s, args.run_id)
        except LookupError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print(f"run report: {paths['report_html']}")
    print(f"run report (CSV): {paths['report_csv']}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the review sub-commands."""
    p = subparsers.add_parser("review", help="serve the clerks' review page")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(handler=cmd_review)
    p = subparsers.add_parser("users", help="review page users")
    sub = p.add_subparsers(dest="users_action", required=True)
    a = sub.add_parser("add", help="create a user or reset its role and password")
    a.add_argument("name")
    a.add_argument("--role", required=True,
                   choices=["clerk", "approver", "vendor_admin", "auditor", "admin"])
    a.set_defaults(handler=cmd_users_add)
    p = subparsers.add_parser("export-corrections", help="clerk corrections as eval-label/v1")
    p.add_argument("out", help="output folder")
    p.set_defaults(handler=cmd_export_corrections)
    p = subparsers.add_parser("report", help="write a run's report again (ERP status as now)")
    p.add_argument("run_id")
    p.set_defaults(handler=cmd_report)
    register_bench(subparsers)


def cmd_bench_review(args: argparse.Namespace) -> int:
    """Time the review page over many open exceptions and race two clerks."""
    from review.bench import bench_review

    with database(load_settings()) as s:
        report, ok = bench_review(s, args.exceptions, args.race_items)
    print(report)
    return 0 if ok else 1


def register_bench(subparsers: argparse._SubParsersAction) -> None:
    """Add `bench-review`."""
    p = subparsers.add_parser("bench-review", help="review page timings and a two-clerk race")
    p.add_argument("--exceptions", type=int, default=10_000)
    p.add_argument("--race-items", type=int, default=200)
    p.set_defaults(handler=cmd_bench_review)
