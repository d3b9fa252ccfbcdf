"""Side by side with a peer: link the same invoices to the same vendor master with splink
(Fellegi-Sunter record linkage on DuckDB) and with our resolver, and print accuracy and time.

    python scripts/peer_splink.py DIR [--source extract|labels] [--json FILE]

DIR is a corpus of `invoices generate`. Both sides get the same extracted invoices (the cache
`invoices eval-matching` writes) and the same normalised keys; splink is trained unsupervised
(u by random sampling, m by expectation maximisation on VAT-id and name blocks), as its
documentation recommends, and links an invoice to its best-scoring vendor at or above the same
0.50 probability threshold our resolver uses. Our side reads the vendor embeddings from the
Postgres cache (DATABASE_URL), as the pipeline does.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.evaluation import load_corpus, load_corpus_master  # noqa: E402
from invoices.settings import load_settings  # noqa: E402
from matchers.evaluation import Truth  # noqa: E402
from matchers.normalize import (  # noqa: E402
    compact_id,
    country_of,
    email_domain,
    normalize_address,
    normalize_name,
)
from matchers.vendor import InvoiceKeys  # noqa: E402

THRESHOLD = 0.50


def vendor_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The vendor master as splink records (normalised like ours)."""
    return pd.DataFrame(
        [
            {
                "unique_id": r["vendor_id"],
                "name": normalize_name(r["name"]) or None,
                "address": normalize_address(r.get("address")) or None,
                "vat_id": compact_id(r.get("vat_id")) or None,
                "iban": compact_id(r.get("iban")) or None,
                "email_domain": email_domain(r.get("email")) or None,
                "country": (r.get("country") or "").upper() or None,
            }
            for r in rows
        ]
    )


def invoice_frame(ids: list[str], invoices: list[Any]) -> pd.DataFrame:
    """The invoices as splink records, with the same normalised keys our resolver reads."""
    out = []
    for doc_id, invoice in zip(ids, invoices, strict=True):
        keys = InvoiceKeys.from_invoice(invoice)
        out.append(
            {
                "unique_id": doc_id,
                "name": keys.name or None,
                "address": keys.address or None,
                "vat_id": keys.vat_id or None,
                "iban": keys.iban or None,
                "email_domain": keys.domain or None,
                "country": country_of(keys.vat_id, keys.iban) or None,
            }
        )
    return pd.DataFrame(out)


def run_splink(vendors: pd.DataFrame, invoices: pd.DataFrame) -> dict[str, str | None]:
    """Train and predict with splink; returns doc_id -> linked vendor_id (or None)."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("name", [0.97, 0.92, 0.85, 0.75]),
            cl.JaroWinklerAtThresholds("address", [0.92, 0.8]),
            cl.ExactMatch("vat_id"),
            cl.ExactMatch("iban"),
            cl.ExactMatch("email_domain"),
            cl.ExactMatch("country"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("vat_id"),
            block_on("iban"),
            block_on("email_domain"),
            block_on("substr(name, 1, 4)"),
            block_on("substr(address, 1, 6)"),
        ],
        probability_two_random_records_match=1.0 / max(1, len(vendors)),
        retain_intermediate_calculation_columns=False,
    )
    api = DuckDBAPI()
    linker = Linker(
        [api.register(vendors), api.register(invoices)], settings, log_level=logging.WARNING
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("vat_id"))
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on("substr(name, 1, 4)")
    )
    pairs = linker.inference.predict(threshold_match_probability=0.01).as_pandas_dataframe()
    links: dict[str, str | None] = {}
    if len(pairs):
        left_is_vendor = pairs["unique_id_l"].isin(set(vendors["unique_id"]))
        pairs["vendor"] = pairs["unique_id_l"].where(left_is_vendor, pairs["unique_id_r"])
        pairs["doc"] = pairs["unique_id_r"].where(left_is_vendor, pairs["unique_id_l"])
        best = pairs.sort_values("match_weight", ascending=False).drop_duplicates("doc")
        for row in best.itertuples():
            links[str(row.doc)] = str(row.vendor) if row.match_probability >= THRESHOLD else None
    return links


def run_ours(
    folder: Path, ids: list[str], invoices: list[Any], schema: str
) -> dict[str, str | None]:
    """Our resolver with the vendor embeddings from the Postgres cache."""
    from matchers.vendor import VendorResolver

    s, embedder, vendors, _ = load_corpus_master(load_settings(db_schema=schema), folder)
    embedder.encode(["warm up"])  # load the model outside the timing, as a long-lived flow does
    started = time.perf_counter()
    matches = VendorResolver(vendors, embedder, s).resolve_many(invoices)
    run_ours.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    return {doc_id: m.vendor_id for doc_id, m in zip(ids, matches, strict=True)}


def score(truths: list[Truth], links: dict[str, str | None]) -> dict[str, float]:
    """Vendor top-1 (born-digital, scanned), false links on unknown vendors, wrong links."""
    buckets: dict[str, list[bool]] = {
        "born_digital": [],
        "scanned": [],
        "false_link": [],
        "wrong_link": [],
    }
    for t in truths:
        linked = links.get(t.doc_id)
        if t.vendor_id is not None:
            buckets["scanned" if t.scanned else "born_digital"].append(linked == t.vendor_id)
        elif "vendor_unknown" in t.anomalies:
            buckets["false_link"].append(linked is not None)
        buckets["wrong_link"].append(linked is not None and linked != t.vendor_id)
    return {k: sum(v) / len(v) if v else float("nan") for k, v in buckets.items()}


def main(argv: list[str] | None = None) -> int:
    """Run both linkers on one corpus and print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--source", choices=("extract", "labels"), default="extract")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    parser.add_argument("--cache", type=Path, default=None, help="extracted text cache folder")
    parser.add_argument("--schema", default="eval_matching", help="Postgres schema (cache)")
    args = parser.parse_args(argv)
    corpus = load_corpus(args.folder, args.source, args.cache, limit=args.limit)
    ids = [label["doc_id"] for label, _, _ in corpus]
    invoices = [inv for _, inv, _ in corpus]
    truths = [Truth.from_label(label) for label, _, _ in corpus]
    from matchers.benchdata import read_csv

    vendor_rows = read_csv(args.folder / "master" / "vendors.csv")
    started = time.perf_counter()
    splink_links = run_splink(vendor_frame(vendor_rows), invoice_frame(ids, invoices))
    splink_seconds = time.perf_counter() - started
    ours_links = run_ours(args.folder, ids, invoices, args.schema)
    results = {
        "ours": {**score(truths, ours_links), "seconds": run_ours.seconds},  # type: ignore[attr-defined]
        "splink": {**score(truths, splink_links), "seconds": splink_seconds},
    }
    print(
        f"vendor linkage on {args.folder} ({len(ids)} documents, {len(vendor_rows)} vendors, "
        f"source: {args.source})"
    )
    print(
        f"{'linker':<10}{'top-1 born-digital':>20}{'top-1 scanned':>16}"
        f"{'false links':>13}{'wrong links':>13}{'seconds':>10}"
    )
    for name, r in results.items():
        print(
            f"{name:<10}{r['born_digital']:>20.2%}{r['scanned']:>16.2%}"
            f"{r['false_link']:>13.2%}{r['wrong_link']:>13.2%}{r['seconds']:>10.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
