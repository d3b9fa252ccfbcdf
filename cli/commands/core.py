"""Core commands: the database (upgrade, start, stop, url), master data, and the nightly run."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from invoices.errors import DatabaseUnavailable, MasterDataError
from invoices.settings import load_settings
from staging.embedded import database


def cmd_db(args: argparse.Namespace) -> int:
    """`invoices db upgrade|start|stop|url`."""
    from staging import db, embedded

    settings = load_settings()
    if args.action == "stop":
        print("stopped" if embedded.stop(settings.data_dir) else "not running")
        return 0
    with database(settings, keep_running=args.action in ("start", "url")) as s:
        assert s.database_url
        applied, version = db.migrate(s.database_url, s.db_schema)
        if args.action == "upgrade":
            print(
                f"schema {s.db_schema} at version {version}"
                + (f" (applied {', '.join(applied)})" if applied else " (up to date)")
            )
        else:
            print(s.database_url)
    return 0


def cmd_load_master(args: argparse.Namespace) -> int:
    """`invoices load-master DIR`: upsert master-data CSVs."""
    from staging import master

    settings = load_settings()
    with database(settings) as s:
        assert s.database_url
        try:
            counts = master.load_master_folder(s.database_url, s.db_schema, Path(args.folder))
        except MasterDataError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    print("loaded " + ", ".join(f"{n} {t}" for t, n in counts.items()))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """`invoices run --inbox DIR`: the nightly batch, now, then the ERP relay and the batch's
    exception report."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    # with no server named, Prefect starts a throwaway one; on a busy machine it needs longer
    # than the default 20 s to come up
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    from cli.relay import erp_relay
    from flows.nightly import run_inbox
    from flows.run_summary import PROGRESS_LISTENERS
    from review.report import write_run_report

    PROGRESS_LISTENERS.append(progress_bar)

    settings = load_settings()
    if not Path(args.inbox).is_dir():
        print(f"error: inbox {args.inbox} is not a folder", file=sys.stderr)
        return 2
    with database(settings) as s:
        master = Path(args.master) if args.master else None
        # the ERP relay after the batch (unless INVOICES_ERP_SYNC_AFTER_BATCH=false), so the
        # report shows the receipts of what the batch approved
        summary = run_inbox(s, Path(args.inbox), master, args.workers, erp_relay)
        summary.update(write_run_report(s, summary))
    print(json.dumps(summary, indent=2, default=str))
    print(f"exception report: {summary['report_html']}")
    print(f"exception report (CSV): {summary['report_csv']}")
    return 0


def progress_bar(done: int, total: int) -> None:
    """A one-line progress bar of documents staged, on stderr."""
    width = 30
    filled = width * done // total if total else width
    end = "\n" if done >= total else ""
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} documents",
        end=end,
        file=sys.stderr,
        flush=True,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the core sub-commands."""
    p = subparsers.add_parser("db", help="database schema and the private local Postgres")
    p.add_argument("action", choices=["upgrade", "start", "stop", "url"])
    p.set_defaults(handler=lambda a: _guard(cmd_db, a))

    p = subparsers.add_parser("load-master", help="load master-data CSVs (data/master/README.md)")
    p.add_argument("folder")
    p.set_defaults(handler=lambda a: _guard(cmd_load_master, a))

    p = subparsers.add_parser("run", help="run the nightly batch on a folder of invoices now")
    p.add_argument("--inbox", required=True, help="folder of invoices (PDF, PNG, JPEG, TIFF)")
    p.add_argument("--master", help="load this master-data folder first")
    p.add_argument("--workers", type=int, default=0, help="documents processed at once")
    p.set_defaults(handler=lambda a: _guard(cmd_run, a))


def _guard(fn, args: argparse.Namespace) -> int:  # type: ignore[no-untyped-def]
    try:
        return int(fn(args))
    except DatabaseUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
