"""ERP commands: `invoices sync` (the outbox relay), `invoices void` and `invoices bench-sync`."""

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
    print(json.dumps(stats.as_counts()))
    return 0


def cmd_void(args: argparse.Namespace) -> int:
    """`invoices void DOCUMENT_ID --reason TEXT`: queue a credit note for a synced invoice's
    ERP bill (the relay sends it); who voids is `erp_void_actor`, else the login name."""
    import getpass
    import sys

    from invoices.settings import load_settings
    from staging import db, outbox
    from staging.embedded import database

    with database(load_settings()) as settings:
        assert settings.database_url
        actor = settings.erp_void_actor or getpass.getuser()
        with db.connection(settings.database_url, settings.db_schema) as conn:
            try:
                entry = outbox.void_invoice(conn, args.document_id, actor, args.reason)
            except (outbox.VoidRefused, LookupError) as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
    print(f"invoice {args.document_id} voided by {actor}: credit note queued as outbox entry"
          f" {entry} (`invoices sync` or the scheduled relay sends it)")  # fmt: skip
    return 0


def cmd_bench_sync(args: argparse.Namespace) -> int:
    """`invoices bench-sync`: entries per second to each adapter, the ERP's time per entry
    beside the relay's own."""
    import tempfile
    import time
    from pathlib import Path

    from erp_sync.bench import bench_adapter
    from invoices.settings import load_settings
    from staging.embedded import database
    from synthetic import generate_corpus
    from synthetic.staged import billable_labels, gl_mapping, result_from_label, tax_mapping

    logging.getLogger("httpx").setLevel(logging.WARNING)
    with (
        tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp,
        database(load_settings()) as settings,
    ):
        corpus = Path(args.corpus) if args.corpus else Path(tmp) / "corpus"
        if not args.corpus:
            generate_corpus(corpus, invoices=args.invoices, seed=args.seed, scanned_share=0.0,
                            image_share=0.0)  # fmt: skip
        # the generator's accounts and taxes (those of tests/tryton_setup.py) unless set
        settings = settings.model_copy(update={
            "erp_gl_accounts": settings.erp_gl_accounts or gl_mapping(corpus),
            "erp_tax_codes": settings.erp_tax_codes or tax_mapping(),
            "erp_outbound_dir": Path(tmp) / "outbound",
        })  # fmt: skip
        # a fresh number per run, so a second run against one Tryton posts new bills
        prefix = f"B{int(time.time())}-"
        labels = billable_labels(corpus)[: args.entries]
        adapters = args.adapters.split(",") if args.adapters else (
            ["en16931", "tryton"] if settings.erp_url else ["en16931"]
        )  # fmt: skip
        print(f"{len(labels)} approved invoices (numbers prefixed {prefix})")
        print(f"{'adapter':<10} {'entries':>7} {'dead':>4} {'seconds':>8} {'entries/s':>9}"
              f" {'ERP s/entry':>11} {'relay s/entry':>13}")  # fmt: skip
        for name in adapters:
            results = [result_from_label(corpus, label, prefix) for label in labels]
            row = bench_adapter(settings, name, results, corpus / "master")
            print(f"{row.adapter:<10} {row.entries:>7} {row.dead:>4} {row.seconds:>8.1f}"
                  f" {row.entries_per_second:>9.2f} {row.erp_seconds_per_entry:>11.3f}"
                  f" {row.relay_seconds_per_entry:>13.3f}")  # fmt: skip
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
    v = subparsers.add_parser(
        "void", help="void a synced invoice: a credit note for its ERP bill through the outbox"
    )
    v.add_argument("document_id", type=int, help="the staged invoice's document id")
    v.add_argument("--reason", required=True, help="why (in the audit log)")
    v.set_defaults(handler=cmd_void)
    b = subparsers.add_parser(
        "bench-sync", help="entries per second to Tryton and to EN 16931 files, ERP vs relay time"
    )
    b.add_argument("--corpus", default=None, help="a generated corpus (default: generate one)")
    b.add_argument("--invoices", type=int, default=60, help="documents to generate")
    b.add_argument("--seed", type=int, default=14)
    b.add_argument("--entries", type=int, default=50, help="approved invoices to relay")
    b.add_argument(
        "--adapters",
        default=None,
        help="comma-separated (default: en16931, and tryton when INVOICES_ERP_URL is set)",
    )
    b.set_defaults(handler=cmd_bench_sync)
