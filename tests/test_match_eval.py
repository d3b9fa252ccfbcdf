"""Matching end to end on a small generated corpus in real Postgres: the master loaded with the
project's loader, vendor embeddings through the cache, the batch matched from the printed
values and scored against the generator's truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flows.matching import load_vendor_master
from invoices.records import ReasonCode, VendorMatch
from invoices.settings import load_settings
from matchers.duplicates import DuplicateHit, PriorIndex
from matchers.embeddings import HashingEmbedder
from matchers.evaluation import MatchingScores, Truth, invoice_from_label
from matchers.pipeline import MatchOutcome, match_batch
from matchers.po import PoMatch
from matchers.po_data import BilledLedger
from matchers.vendor import VendorResolver


def _truth(**kw) -> Truth:
    base = {
        "doc_id": "d2",
        "vendor_id": "V1",
        "po_number": None,
        "scanned": False,
        "document_type": "invoice",
        "anomalies": {},
        "po_lines": (),
    }
    return Truth(**{**base, **kw})


def test_scores_count_recall_false_positives_and_the_right_earlier_document() -> None:
    scores = MatchingScores()
    dup = MatchOutcome(
        VendorMatch(vendor_id="V1"),
        PoMatch(),
        [DuplicateHit(document_id="d1", kind="same_invoice", score=7)],
    )
    scores.add(_truth(anomalies={"rescanned_duplicate": "d1"}), dup, {"d1": "d1"})
    scores.add(_truth(doc_id="d3", anomalies={"rescanned_duplicate": "d0"}), dup, {"d1": "d1"})
    clean = MatchOutcome(
        VendorMatch(vendor_id="V2", reasons=[]),
        PoMatch(po_number="PO-1", reasons=[ReasonCode.PRICE_VARIANCE]),
    )
    scores.add(_truth(doc_id="d4", po_number="PO-1"), clean, {})
    unknown = MatchOutcome(VendorMatch(reasons=[ReasonCode.VENDOR_UNKNOWN]), PoMatch())
    scores.add(_truth(doc_id="d5", vendor_id=None, anomalies={"vendor_unknown": None}), unknown, {})
    assert (
        scores.recall["rescanned_duplicate"].hits,
        scores.recall["rescanned_duplicate"].cases,
    ) == (1, 2)
    assert scores.false_positive["price_variance"].hits == 1
    assert scores.vendor_top1["born-digital"].value == pytest.approx(2 / 3)
    assert scores.false_link.value == 0.0 and scores.po_found.value == 1.0
    assert any("price_variance" in line for line in scores.table())


@pytest.mark.slow
@pytest.mark.db
def test_generated_corpus_end_to_end(conn, tmp_path: Path) -> None:
    from staging import master, matching
    from synthetic.corpus import generate_corpus

    rates = {
        "exact_duplicate": 0.05,
        "rescanned_duplicate": 0.05,
        "number_variant_duplicate": 0.05,
        "price_variance": 0.08,
        "qty_exceeds_received": 0.08,
        "po_missing": 0.08,
        "vendor_unknown": 0.08,
        "bank_details_changed": 0.05,
        "credit_note": 0.05,
    }
    generate_corpus(
        tmp_path, 60, seed=5, workers=1, vendors=80, scanned_share=0.0, anomaly_rates=rates
    )
    master.load_master_dir(conn, tmp_path / "master")
    settings = load_settings(embedding_backend="hashing")
    vendors = load_vendor_master(conn, HashingEmbedder())
    resolver = VendorResolver(vendors, HashingEmbedder(), settings)
    rows = [json.loads(x) for x in (tmp_path / "manifest.jsonl").read_text().splitlines() if x]
    labels = [json.loads((tmp_path / r["label"]).read_text()) for r in rows]
    ids = [label["doc_id"] for label in labels]
    outcomes = match_batch(
        [invoice_from_label(label) for label in labels],
        [None] * len(labels),
        resolver,
        matching.load_po_data(conn),
        BilledLedger(),
        PriorIndex(),
        settings,
        ids=ids,
    )
    scores = MatchingScores()
    for label, outcome in zip(labels, outcomes, strict=True):
        scores.add(Truth.from_label(label), outcome, {i: i for i in ids})
    figures = scores.as_dict()
    assert figures["vendor_top1"]["born-digital"] >= 0.98, scores.table()
    assert figures["false_link_rate"] == 0.0, scores.table()
    assert figures["po_found"] >= 0.95, scores.table()
    planted = [k for k, r in scores.recall.items() if r.cases]
    assert len(planted) >= 6, "the corpus plants most anomaly kinds"
    for kind in planted:
        assert scores.recall[kind].value >= 0.9, (kind, scores.table())
    print("\n".join(scores.table()))
    for kind, rate in scores.false_positive.items():
        assert (rate.value or 0.0) <= 0.05, (kind, scores.table())
