"""Matching measured on a generated corpus: the stages wired as in the nightly batch, without
Prefect, over documents whose truth is known.

`eval_matching` reads, extracts and types every document (text cached per document), loads the
corpus's master data into a schema of its own, matches and scores; `fit_vendor_model_on`
calibrates the vendor match model on such corpora; `eval_classification` scores the
classification cascade on the documents' texts read the same way. `load_corpus` and
`load_corpus_master` are shared with the splink peer script.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifiers.doctype import classify_document_type
from classifiers.evaluation import evaluate_folder as evaluate_classification
from classifiers.runtime import cascade_for_folder
from extractors.extract import extract_invoice
from extractors.text.intake import describe
from extractors.text.ocr import VERSION as OCR_VERSION
from extractors.text.read import read_document
from flows.classification import classifier_embedder
from flows.matching import load_vendor_master
from invoices.records import Document, DocumentText, FieldValue, Invoice, Method, Provenance
from invoices.settings import Settings, load_settings
from matchers.duplicates import PriorIndex
from matchers.embeddings import Embedder, load_embedder
from matchers.evaluation import MatchingScores, Truth, invoice_from_label
from matchers.master import VendorMaster
from matchers.pipeline import match_batch
from matchers.po_data import BilledLedger, PoData
from matchers.vendor import VendorResolver
from matchers.vendor_model import MODEL_FILE, fit_vendor_model, load_vendor_model
from staging import db, master, matching
from staging.embedded import database

log = logging.getLogger(__name__)

Corpus = list[tuple[dict[str, Any], Invoice, Document]]


def extract_one(job: tuple[str, str, str]) -> str:
    """Read, extract and type one document (runs in a worker); returns the Invoice as JSON,
    or an empty Invoice when the document fails (the failure is the extraction's to score).

    The text (the costly part: OCR) is cached per doc_id in the cache folder; extraction runs
    every time, so a change to the extractors is measured without reading the pages again.
    """
    doc_id, path, cache = job
    settings = load_settings(ocr_workers=1)
    try:
        text = _cached_text(doc_id, Path(path), Path(cache), settings)
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


def _cached_text(doc_id: str, path: Path, cache: Path | None, settings: Settings) -> DocumentText:
    """The document's text as the pipeline reads it, from the cache folder when it is there
    (written there when it was not; no cache folder: read every time)."""
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")
    target = cache / f"{doc_id}.text.json" if cache else None
    if target is not None and target.exists():
        return DocumentText.model_validate_json(target.read_text())
    text = read_document(describe(path, settings), settings)
    if target is not None:
        target.write_text(text.model_dump_json())
    return text


def read_one(job: tuple[str, str, str]) -> str:
    """The full text of one document (runs in a worker); empty when it cannot be read."""
    doc_id, path, cache = job
    try:
        return _cached_text(
            doc_id, Path(path), Path(cache) if cache else None, load_settings(ocr_workers=1)
        ).full_text
    except Exception as exc:  # a bad document is scored as text-less
        log.warning("%s: %s", doc_id, exc)
        return ""


def text_cache(folder: Path) -> Path | None:
    """A generated corpus's text cache (DIR/.matching-text-ocrN for OCR version N, so that a
    change to the OCR never reads a stale cache, shared with eval-matching); None for any other
    folder (a labelled set is never written to)."""
    if not (folder / "master").is_dir():
        return None
    cache = folder / f".matching-text-ocr{OCR_VERSION}"
    cache.mkdir(parents=True, exist_ok=True)
    return cache


def read_corpus_texts(
    folder: Path, cache: Path | None = None, workers: int = 2, limit: int = 0
) -> dict[str, str]:
    """doc_id -> the text of its first document, read as the pipeline reads it (embedded XML,
    text layer, OCR for pages without text), `workers` documents at once."""
    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines() if x]
    rows = rows[:limit] if limit else rows
    cache = cache or text_cache(folder)
    jobs = [(r["doc_id"], str(folder / r["documents"][0]), str(cache or "")) for r in rows]
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        texts = list(pool.map(read_one, jobs))
    return {r["doc_id"]: t for r, t in zip(rows, texts, strict=True)}


def eval_classification(
    folder: Path,
    settings: Settings,
    *,
    pipeline_text: bool = True,
    workers: int = 2,
    limit: int | None = None,
    misses: int = 0,
) -> dict[str, Any]:
    """Score the classification cascade (trained in memory on the folder's master data) on a
    labelled folder; with `pipeline_text`, on each document's text as the nightly batch reads
    it (scans OCR'd, cached like eval-matching's), else on the PDF text layer alone. The first
    `misses` documents typed wrong are listed."""
    cascade = cascade_for_folder(folder, settings, classifier_embedder(settings))
    try:
        texts = (
            read_corpus_texts(folder, workers=workers, limit=limit or 0) if pipeline_text else None
        )
        return evaluate_classification(cascade, folder, limit=limit, texts=texts, misses=misses)
    finally:
        cascade.close()


def load_corpus(
    folder: Path,
    source: str = "extract",
    cache: Path | None = None,
    workers: int = 2,
    limit: int = 0,
) -> Corpus:
    """(label, Invoice, Document) per document of a generated corpus, in manifest (date) order.

    `source` "extract" reads and extracts every document (its text cached per doc_id in
    `cache`, default DIR/.matching-text-ocrN for OCR version N, so that a change to the OCR
    never reads a stale cache); "labels" takes the printed values from the labels.
    """
    rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines() if x]
    rows = rows[:limit] if limit else rows
    labels = [json.loads((folder / r["label"]).read_text()) for r in rows]
    paths = [folder / r["documents"][0] for r in rows]
    if source == "labels":
        invoices = [invoice_from_label(label) for label in labels]
    else:
        cache = cache or folder / f".matching-text-ocr{OCR_VERSION}"
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


def load_corpus_master(
    settings: Settings, folder: Path
) -> tuple[Settings, Embedder, VendorMaster, PoData]:
    """A generated corpus's master data in a clean schema, read back for matching: (settings
    with the database in use, embedder, vendor master with cached name embeddings, PO data)."""
    with database(settings) as s, db.connection(str(s.database_url), s.db_schema) as conn:
        db.upgrade(conn)
        master.clear_master(conn)
        master.load_master_dir(conn, folder / "master")
        embedder = load_embedder(s)
        vendors = load_vendor_master(conn, embedder)
        po_data = matching.load_po_data(conn)
    return s, embedder, vendors, po_data


@dataclass(frozen=True)
class MatchingRun:
    """How `eval_matching` reads the corpus and which vendor model it uses."""

    source: str = "extract"
    cache: Path | None = None
    workers: int = 2
    limit: int = 0
    vendor_model: Path | None = None
    show_errors: int = 0


def eval_matching(folder: Path, settings: Settings, run: MatchingRun) -> tuple[str, dict]:  # type: ignore[type-arg]
    """Match a generated corpus and score it against its truth: (printed text, figures)."""
    corpus = load_corpus(folder, run.source, run.cache, run.workers, run.limit)
    started = time.perf_counter()
    s, embedder, vendors, po_data = load_corpus_master(settings, folder)
    resolver = VendorResolver(
        vendors, embedder, s, load_vendor_model(run.vendor_model), po_data.vendor_by_number()
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
    lines = [
        f"eval-matching {folder} ({len(corpus)} documents, source: {run.source}, "
        f"{len(vendors)} vendors): matched in {seconds:.1f} s "
        f"(+{t0 - started:.1f} s loading master data and cached embeddings)",
        *scores.table(),
        *("  " + error for error, _ in sorted(scores.errors.items())[: run.show_errors]),
    ]
    figures = {
        "documents": len(corpus),
        "source": run.source,
        "seconds": seconds,
        **scores.as_dict(),
    }
    return "\n".join(lines), figures


def fit_vendor_model_on(
    folders: list[Path], settings: Settings, sources: list[str], workers: int, out: Path | None
) -> str:
    """Calibrate the vendor match model on generated corpora (never the one it is evaluated
    on) and write it to `out` (default matchers/vendor_model.json); returns what was done."""
    pairs: list = []  # type: ignore[type-arg]
    for folder in folders:
        s, embedder, vendors, po_data = load_corpus_master(settings, folder)
        resolver = VendorResolver(vendors, embedder, s, po_vendors=po_data.vendor_by_number())
        for source in sources:
            corpus = load_corpus(folder, source, None, workers)
            truth = [Truth.from_label(label).vendor_id for label, _, _ in corpus]
            pairs += resolver.training_pairs([inv for _, inv, _ in corpus], truth)
    model = fit_vendor_model(pairs)
    target = out or MODEL_FILE
    target.write_text(model.to_json() + "\n")
    matches = sum(1 for _, m in pairs if m)
    summary = f"fitted on {len(pairs)} candidate pairs ({matches} matches) -> {target}"
    return f"{summary}\n{model.to_json()}"
