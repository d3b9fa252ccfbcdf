"""Matching commands: `eval-matching DIR` (accuracy on a labelled corpus), `bench-matching`
(time and memory at scale) and `fit-vendor-model DIR` (calibrate the vendor match model)."""

from __future__ import annotations

import argparse
import logging
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from invoices.settings import Settings, load_settings
from matchers.po_data import BilledLedger

log = logging.getLogger("invoices")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _prepare_bench_schema(conn, args: argparse.Namespace) -> None:  # type: ignore[no-untyped-def]
    from matchers import benchdata
    from staging import master

    have = conn.execute("SELECT count(*) AS n FROM vendors").fetchone()["n"]
    if have == args.vendors:
        return
    with tempfile.TemporaryDirectory() as tmp:
        counts = benchdata.bench_master(Path(tmp), args.vendors, args.po_lines, args.seed)
        log.info("writing the bench master: %s", counts)
        conn.execute(
            "TRUNCATE vendors, purchase_orders, purchase_order_lines, goods_receipts CASCADE"
        )
        master.load_master_dir(conn, Path(tmp))
    conn.commit()


def cmd_bench(args: argparse.Namespace) -> int:
    """`invoices bench-matching`: match N synthetic invoices against a large master."""
    from invoices.commands.core import database
    from matchers import benchdata
    from matchers.duplicates import PriorIndex
    from matchers.embeddings import load_embedder
    from matchers.pipeline import match_batch
    from matchers.vendor import VendorResolver
    from staging import db, matching

    settings = load_settings(db_schema=args.schema, embedding_quantize=args.quantize)
    with database(settings) as s, db.connection(str(s.database_url), s.db_schema) as conn:
        db.upgrade(conn)
        _prepare_bench_schema(conn, args)
        embedder = load_embedder(s)
        started = time.perf_counter()
        matching.load_vendor_master(conn, embedder)  # fills the cache once; untimed
        embedder.encode(["warm up"])  # the model loads once per process; untimed
        warmup = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as tmp:
            benchdata.bench_master(Path(tmp), args.vendors, args.po_lines, args.seed)
            items = list(benchdata.bench_invoices(Path(tmp), args.invoices, args.seed + 4))
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        vendors = matching.load_vendor_master(conn, embedder)
        timings["load vendor master + cached embeddings"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        po_data, ledger = matching.load_po_data(conn), matching.billed_ledger(conn)
        timings["load purchase orders + ledger"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        resolver = VendorResolver(vendors, embedder, s, po_vendors=po_data.vendor_by_number())
        outcomes = match_batch(
            [i.invoice for i in items],
            [None] * len(items),
            resolver,
            po_data,
            ledger,
            PriorIndex(),
            s,
        )
        timings["match (vendor, PO, duplicates)"] = time.perf_counter() - t2
        total = time.perf_counter() - t0
    _print_bench(args, items, outcomes, timings, total, warmup, len(po_data.orders))
    return 0 if total < args.budget_seconds else 1


def _print_bench(args, items, outcomes, timings, total, warmup, n_pos) -> None:  # type: ignore[no-untyped-def]
    known = [(i, o) for i, o in zip(items, outcomes, strict=True) if i.vendor_id]
    unknown = [(i, o) for i, o in zip(items, outcomes, strict=True) if not i.vendor_id]
    top1 = sum(o.vendor.vendor_id == i.vendor_id for i, o in known) / max(1, len(known))
    false_links = sum(o.vendor.vendor_id is not None for _, o in unknown) / max(1, len(unknown))
    with_po = [(i, o) for i, o in zip(items, outcomes, strict=True) if i.po_number]
    po_found = sum(o.po.po_number == i.po_number for i, o in with_po) / max(1, len(with_po))
    embedded = sum(1 for o in outcomes if "name_embedding" in o.vendor.scores)
    print(
        f"bench-matching: {args.invoices} invoices, {args.vendors} vendors, "
        f"{args.po_lines} PO lines ({n_pos} POs)"
    )
    print(f"  embedding cache warm-up (once, then cached in Postgres): {warmup:8.2f} s")
    for name, seconds in timings.items():
        print(f"  {name:<44} {seconds:8.2f} s")
    print(f"  {'total':<44} {total:8.2f} s  (budget {args.budget_seconds:.0f} s)")
    print(f"  peak memory (RSS): {_peak_mb():.0f} MB  (budget 3072 MB)")
    print(
        f"  throughput: {args.invoices / max(total, 1e-9):.0f} invoices/s; "
        f"name embeddings computed for {embedded} invoices (others decided by exact keys)"
    )
    print(
        f"  vendor top-1 {top1:.2%}, false links on unknown vendors {false_links:.2%}, "
        f"PO found {po_found:.2%}"
    )


def extract_one(job: tuple[str, str, str]) -> str:
    """Read, extract and type one document (runs in a worker); returns the Invoice as JSON,
    or an empty Invoice when the document fails (the failure is the extraction's to score).

    The text (the costly part: OCR) is cached per doc_id in the cache folder; extraction runs
    every time, so a change to the extractors is measured without reading the pages again.
    """
    import os

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    from classifiers.doctype import classify_document_type
    from extractors.extract import extract_invoice
    from extractors.intake import describe
    from extractors.text import read_document
    from invoices.records import DocumentText, FieldValue, Invoice, Method, Provenance

    doc_id, path, cache = job
    target = Path(cache) / f"{doc_id}.text.json"
    settings = load_settings(ocr_workers=1)
    try:
        if target.exists():
            text = DocumentText.model_validate_json(target.read_text())
        else:
            text = read_document(describe(Path(path), settings), settings)
            target.write_text(text.model_dump_json())
        invoice = extract_invoice(text, settings)
        kind = classify_document_type(invoice, text.full_text)
        prov = Provenance(method=Method.RULE, extractor="doctype", version=kind.model_version)
        invoice = invoice.model_copy(
            update={
                "document_type": FieldValue(
                    value=kind.value, confidence=kind.confidence, provenance=prov
                )
            }
        )
    except Exception as exc:  # a bad document is scored as found nothing
        log.warning("%s: %s", doc_id, exc)
        invoice = Invoice()
    return invoice.model_dump_json()


def load_corpus(
    folder: Path,
    source: str = "extract",
    cache: Path | None = None,
    workers: int = 2,
    limit: int = 0,
) -> list[tuple[dict, Any, Any]]:  # type: ignore[type-arg]
    """(label, Invoice, Document) per document of a generated corpus, in manifest (date) order.

    `source` "extract" reads and extracts every document (its text cached per doc_id in
    `cache`, default DIR/.matching-text-ocrN for OCR version N, so that a change to the OCR
    never reads a stale cache); "labels" takes the printed values from the labels.
    """
    import hashlib
    import json
    from concurrent.futures import ProcessPoolExecutor

    from invoices.records import Document, Invoice
    from matchers.evaluation import invoice_from_label

    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines() if x]
    rows = rows[:limit] if limit else rows
    labels = [json.loads((folder / r["label"]).read_text()) for r in rows]
    paths = [folder / r["documents"][0] for r in rows]
    if source == "labels":
        invoices = [invoice_from_label(label) for label in labels]
    else:
        from extractors.ocr import VERSION

        cache = cache or folder / f".matching-text-ocr{VERSION}"
        cache.mkdir(parents=True, exist_ok=True)
        jobs = [(r["doc_id"], str(p), str(cache)) for r, p in zip(rows, paths, strict=True)]
        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            invoices = [Invoice.model_validate_json(x) for x in pool.map(extract_one, jobs)]
    documents = [
        Document(
            path=p,
            sha256=hashlib.sha256(p.read_bytes()).hexdigest(),
            media_type="application/octet-stream",
            size_bytes=p.stat().st_size,
        )
        for p in paths
    ]
    return list(zip(labels, invoices, documents, strict=True))


def load_corpus_master(settings: Settings, folder: Path) -> tuple[Settings, Any, Any, Any]:
    """A generated corpus's master data in a clean schema, read back for matching: (settings
    with the database in use, embedder, vendor master with cached name embeddings, PO data).
    Shared by eval-matching, fit-vendor-model and the splink peer script."""
    from invoices.commands.core import database
    from matchers.embeddings import load_embedder
    from staging import db, master, matching

    with database(settings) as s, db.connection(str(s.database_url), s.db_schema) as conn:
        db.upgrade(conn)
        conn.execute(
            "TRUNCATE vendors, purchase_orders, purchase_order_lines, goods_receipts,"
            " po_billing_ledger CASCADE"
        )
        master.load_master_dir(conn, folder / "master")
        embedder = load_embedder(s)
        vendors = matching.load_vendor_master(conn, embedder)
        po_data = matching.load_po_data(conn)
    return s, embedder, vendors, po_data


def cmd_eval(args: argparse.Namespace) -> int:
    """`invoices eval-matching DIR`: match a generated corpus and score it against its truth."""
    import json

    from matchers.duplicates import PriorIndex
    from matchers.evaluation import MatchingScores, Truth
    from matchers.pipeline import match_batch
    from matchers.vendor import VendorResolver
    from matchers.vendor_model import load_vendor_model

    corpus = load_corpus(args.folder, args.source, args.cache, args.workers, args.limit)
    started = time.perf_counter()
    s, embedder, vendors, po_data = load_corpus_master(
        load_settings(db_schema=args.schema), args.folder
    )
    resolver = VendorResolver(
        vendors, embedder, s, load_vendor_model(args.vendor_model), po_data.vendor_by_number()
    )
    embedder.encode(["warm up"])  # the model loads once per process; untimed
    t0 = time.perf_counter()
    ids = [label["doc_id"] for label, _, _ in corpus]
    outcomes = match_batch(
        [c[1] for c in corpus],
        [c[2] for c in corpus],
        resolver,
        po_data,
        BilledLedger(),
        PriorIndex(),
        s,
        ids=ids,
    )
    seconds = time.perf_counter() - t0
    scores = MatchingScores()
    for (label, _, _), outcome in zip(corpus, outcomes, strict=True):
        scores.add(Truth.from_label(label), outcome, {i: i for i in ids})
    print(
        f"eval-matching {args.folder} ({len(corpus)} documents, source: {args.source}, "
        f"{len(vendors)} vendors): matched in {seconds:.1f} s "
        f"(+{t0 - started:.1f} s loading master data and cached embeddings)"
    )
    print("\n".join(scores.table()))
    for error, _ in sorted(scores.errors.items())[: args.show_errors]:
        print("  " + error)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "documents": len(corpus),
                    "source": args.source,
                    "seconds": seconds,
                    **scores.as_dict(),
                },
                indent=1,
            )
        )
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """`invoices fit-vendor-model DIR...`: calibrate the vendor match model on generated
    corpora (never the one it is evaluated on) and write matchers/vendor_model.json."""
    from matchers.evaluation import Truth
    from matchers.vendor import VendorResolver
    from matchers.vendor_model import MODEL_FILE, fit_vendor_model

    pairs: list = []  # type: ignore[type-arg]
    settings = load_settings(db_schema=args.schema)
    for folder in args.folders:
        s, embedder, vendors, po_data = load_corpus_master(settings, folder)
        resolver = VendorResolver(vendors, embedder, s, po_vendors=po_data.vendor_by_number())
        for source in args.sources:
            corpus = load_corpus(folder, source, None, args.workers)
            truth = [Truth.from_label(label).vendor_id for label, _, _ in corpus]
            pairs += resolver.training_pairs([inv for _, inv, _ in corpus], truth)
    model = fit_vendor_model(pairs)
    target = args.out or MODEL_FILE
    target.write_text(model.to_json() + "\n")
    matches = sum(1 for _, m in pairs if m)
    print(f"fitted on {len(pairs)} candidate pairs ({matches} matches) -> {target}")
    print(model.to_json())
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the matching sub-commands."""
    bench = subparsers.add_parser(
        "bench-matching", help="time vendor/PO/duplicate matching at scale"
    )
    bench.add_argument("--invoices", type=int, default=10_000)
    bench.add_argument("--vendors", type=int, default=50_000)
    bench.add_argument("--po-lines", type=int, default=200_000)
    bench.add_argument("--seed", type=int, default=7)
    bench.add_argument("--schema", default="bench_matching", help="Postgres schema (kept, cached)")
    bench.add_argument("--quantize", action="store_true", help="int8 embedding model")
    bench.add_argument("--budget-seconds", type=float, default=60.0)
    bench.set_defaults(handler=cmd_bench)

    ev = subparsers.add_parser("eval-matching", help="score matching on a generated corpus")
    ev.add_argument("folder", type=Path, help="a corpus of `invoices generate` (master, labels)")
    ev.add_argument(
        "--source",
        choices=("extract", "labels"),
        default="extract",
        help="extract the documents (default) or take the printed values",
    )
    ev.add_argument("--cache", type=Path, default=None, help="extracted invoices cache folder")
    ev.add_argument("--workers", type=int, default=2)
    ev.add_argument("--limit", type=int, default=0)
    ev.add_argument("--schema", default="eval_matching", help="Postgres schema (kept, cached)")
    ev.add_argument("--json", type=Path, default=None)
    ev.add_argument("--show-errors", type=int, default=0, help="print the first N errors")
    ev.add_argument("--vendor-model", type=Path, default=None, help="a fitted model JSON")
    ev.set_defaults(handler=cmd_eval)

    fit = subparsers.add_parser("fit-vendor-model", help="calibrate the vendor match model")
    fit.add_argument("folders", type=Path, nargs="+", help="generated corpora to fit on")
    fit.add_argument("--sources", nargs="+", default=["extract", "labels"])
    fit.add_argument("--workers", type=int, default=2)
    fit.add_argument("--schema", default="fit_matching")
    fit.add_argument("--out", type=Path, default=None)
    fit.set_defaults(handler=cmd_fit)


__all__ = ["Settings", "register"]
