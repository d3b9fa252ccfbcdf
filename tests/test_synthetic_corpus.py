"""The synthetic corpus generator: determinism, labels, master data, planted anomalies."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from stdnum import iban as stdnum_iban
from stdnum import vatin

from synthetic import ANOMALY_KINDS, generate_corpus
from synthetic.plan import Options, plan_corpus

ROOT = Path(__file__).resolve().parent.parent
MASTER_FILES = (
    "vendors",
    "purchase_orders",
    "po_lines",
    "goods_receipts",
    "gl_accounts",
    "cost_centres",
    "coded_history",
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """A small mixed corpus (born-digital and scanned) shared by the tests of this module."""
    out = tmp_path_factory.mktemp("corpus")
    generate_corpus(out, invoices=70, seed=11, scanned_share=0.2, workers=2)
    return out


def _labels(folder: Path) -> list[dict]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted((folder / "labels").glob("*.json"))
    ]


def _tree_bytes(folder: Path, pattern: str) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.glob(pattern))}


def test_same_seed_gives_identical_labels_master_and_documents(corpus, tmp_path):
    again = tmp_path / "again"
    generate_corpus(again, invoices=70, seed=11, scanned_share=0.2, workers=1)
    for pattern in ("labels/*.json", "master/*.csv", "manifest.jsonl", "docs/*"):
        first, second = _tree_bytes(corpus, pattern), _tree_bytes(again, pattern)
        assert first.keys() == second.keys(), pattern
        differing = [k for k in first if first[k] != second[k]]
        assert not differing, f"{pattern}: {differing[:5]}"


def test_another_seed_gives_another_corpus(tmp_path):
    a = plan_corpus(Options(invoices=20, seed=1))
    b = plan_corpus(Options(invoices=20, seed=2))
    assert [d.number for d in a.docs] != [d.number for d in b.docs]


def test_manifest_and_labels_have_the_eval_shape(corpus):
    rows = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 70
    for row in rows:
        assert set(row) == {"doc_id", "documents", "label", "split", "group"}
        assert (corpus / row["documents"][0]).is_file()
        label = json.loads((corpus / row["label"]).read_text(encoding="utf-8"))
        assert label["schema"] == "eval-label/v1"
        assert label["doc_id"] == row["doc_id"] and label["group"] == row["group"]
        assert label["documents"][0]["path"] == row["documents"][0]
        truth = label["truth"]
        assert truth["document_type"] in {"invoice", "credit_note", "statement", "reminder"}
        assert {a["kind"] for a in truth["anomalies"]} <= set(ANOMALY_KINDS)
        if truth["document_type"] in ("invoice", "credit_note"):
            fields = label["fields"]
            for key in ("vendor_name", "invoice_number", "invoice_date", "currency", "total"):
                assert fields[key] is not None, (row["doc_id"], key)
            assert len(label["line_items"]) == len(truth["lines"])
            assert all(ln["gl_account"] and ln["cost_centre"] for ln in truth["lines"])


def test_master_csvs_follow_the_documented_columns(corpus):
    readme = (ROOT / "data" / "master" / "README.md").read_text(encoding="utf-8")
    for name in MASTER_FILES:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}.csv`"))
        cell = re.split(r"(?<!\\)\|", row)[2]
        documented = re.findall(r"(?:^|,)\s*`([a-z_]+)`", cell)
        with (corpus / "master" / f"{name}.csv").open(encoding="utf-8") as fh:
            header = next(csv.reader(fh))
        assert header == documented, name


def test_vat_ids_and_ibans_have_valid_checksums(corpus):
    with (corpus / "master" / "vendors.csv").open(encoding="utf-8") as fh:
        vendors = list(csv.DictReader(fh))
    assert vendors
    for v in vendors:
        if v["iban"]:
            assert stdnum_iban.is_valid(v["iban"]), v["iban"]
        if v["vat_id"]:
            assert vatin.is_valid(v["vat_id"]), v["vat_id"]
    for label in _labels(corpus):
        if label["fields"]["iban"]:
            assert stdnum_iban.is_valid(label["fields"]["iban"])


def test_documents_reference_master_data(corpus):
    with (corpus / "master" / "purchase_orders.csv").open(encoding="utf-8") as fh:
        orders = {r["po_number"]: r["vendor_id"] for r in csv.DictReader(fh)}
    with (corpus / "master" / "vendors.csv").open(encoding="utf-8") as fh:
        vendor_ids = {r["vendor_id"] for r in csv.DictReader(fh)}
    for label in _labels(corpus):
        truth = label["truth"]
        if truth["vendor_id"] is not None:
            assert truth["vendor_id"] in vendor_ids
        else:
            assert [a["kind"] for a in truth["anomalies"]] == ["vendor_unknown"]
        if truth["po_number"]:
            assert orders[truth["po_number"]] == truth["vendor_id"]


def _text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    try:
        return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    finally:
        doc.close()


def test_born_digital_pdfs_print_the_labelled_values(corpus):
    checked = 0
    for label in _labels(corpus):
        if label["truth"]["scanned"] or label["truth"]["document_type"] != "invoice":
            continue
        text = _text(corpus / label["documents"][0]["path"])
        fields = label["fields"]
        assert fields["vendor_name"] in text
        assert fields["invoice_number"] in text
        for item in label["line_items"]:
            assert item["description"].split()[0] in text
        checked += 1
    assert checked >= 10


def test_scanned_pdfs_have_no_text_layer(corpus):
    scanned = [lb for lb in _labels(corpus) if lb["truth"]["scanned"]]
    assert scanned
    for label in scanned:
        path = corpus / label["documents"][0]["path"]
        if path.suffix == ".pdf":
            assert _text(path).strip() == ""


def test_invoice_arithmetic_adds_up_unless_an_error_is_planted(corpus):
    for label in _labels(corpus):
        if label["line_items"] is None:
            continue
        f = label["fields"]
        lines = sum(Decimal(str(i["line_total"])) for i in label["line_items"])
        ok = (
            lines == Decimal(str(f["subtotal"]))
            and Decimal(str(f["subtotal"])) + Decimal(str(f["tax"])) == Decimal(str(f["total"]))
            and all(
                Decimal(str(i["quantity"])) * Decimal(str(i["unit_price"]))
                == Decimal(str(i["line_total"]))
                or abs(
                    Decimal(str(i["quantity"])) * Decimal(str(i["unit_price"]))
                    - Decimal(str(i["line_total"]))
                )
                < Decimal("0.01")
                for i in label["line_items"]
            )
        )
        planted = any(a["kind"] == "arithmetic_error" for a in label["truth"]["anomalies"])
        assert ok != planted, label["doc_id"]


def test_anomalies_are_planted_at_the_requested_rates():
    rates = {k: 0.04 for k in ANOMALY_KINDS}
    plan = plan_corpus(Options(invoices=500, seed=5, anomaly_rates=rates))
    counts = Counter(a.kind for d in plan.docs for a in d.anomalies)
    for kind in ANOMALY_KINDS:
        assert counts[kind] == 20, kind
    clean = [d for d in plan.docs if not d.anomalies]
    assert len(clean) == 500 - 11 * 20


def test_zero_rates_plant_nothing():
    plan = plan_corpus(Options(invoices=60, seed=5, anomaly_rates={k: 0.0 for k in ANOMALY_KINDS}))
    assert all(not d.anomalies for d in plan.docs)
    assert {d.document_type for d in plan.docs} == {"invoice"}


def test_duplicates_point_back_to_an_earlier_document():
    plan = plan_corpus(Options(invoices=300, seed=9))
    order = {plan.doc_ids[d.key]: i for i, d in enumerate(plan.docs)}
    by_key = {d.key: d for d in plan.docs}
    seen = 0
    for d in plan.docs:
        for a in d.anomalies:
            if a.kind.endswith("duplicate"):
                original = by_key[a.of_key]
                assert order[plan.doc_ids[original.key]] < order[plan.doc_ids[d.key]]
                assert original.totals == d.totals and original.vendor_id == d.vendor_id
                if a.kind == "number_variant_duplicate":
                    assert original.number != d.number
                else:
                    assert original.number == d.number
                seen += 1
    assert seen == 18


def test_price_and_quantity_anomalies_disagree_with_po_and_receipts():
    plan = plan_corpus(Options(invoices=300, seed=4))
    po_lines = {(o.po_number, ln.line_no): ln for o in plan.orders for ln in o.lines}
    received: dict[tuple[str, int], Decimal] = defaultdict(Decimal)
    for r in plan.receipts:
        received[(r.po_number, r.line_no)] += r.quantity
    for d in plan.docs:
        kinds = {a.kind for a in d.anomalies}
        if (
            d.document_type != "invoice"
            or d.truth_po is None
            or kinds & {"exact_duplicate", "rescanned_duplicate", "number_variant_duplicate"}
        ):
            continue
        for ln in d.lines:
            po_line = po_lines[(d.truth_po, ln.po_line_no)]
            over_price = ln.unit_price > po_line.unit_price * Decimal("1.02")
            over_qty = ln.quantity > received[(d.truth_po, ln.po_line_no)]
            if over_price:
                assert "price_variance" in kinds
            if over_qty:
                assert "qty_exceeds_received" in kinds
        if "price_variance" in kinds:
            assert any(
                ln.unit_price > po_lines[(d.truth_po, ln.po_line_no)].unit_price for ln in d.lines
            )


def test_history_codes_each_vendor_description_consistently(corpus):
    with (corpus / "master" / "coded_history.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 700
    by_key: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for r in rows:
        by_key[(r["vendor_id"], r["description"])][(r["gl_account"], r["cost_centre"])] += 1
    majority = sum(c.most_common(1)[0][1] for c in by_key.values())
    assert majority / len(rows) > 0.9


def test_unknown_vendors_are_missing_from_the_master_even_when_named_alike():
    plan = plan_corpus(Options(invoices=400, seed=6, anomaly_rates={"vendor_unknown": 0.1}))
    master = {v.vendor_id: v for v in plan.vendors}
    names = {v.name for v in plan.vendors}
    vat_ids = {v.vat_id for v in plan.vendors if v.vat_id}
    unknown = [d for d in plan.docs if d.vendor_id is None]
    assert len(unknown) == 40
    lookalikes = 0
    for d in unknown:
        (anomaly,) = d.anomalies
        assert d.vendor.name not in names
        assert d.vendor_vat_id is None or d.vendor_vat_id not in vat_ids
        resembled = anomaly.detail["resembles_vendor_id"]
        if resembled:
            assert master[resembled].base_name in d.vendor.name
            assert master[resembled].iban is None or master[resembled].iban != d.iban
            lookalikes += 1
    assert 0 < lookalikes < len(unknown)


def test_e_invoice_attachments_state_what_the_pdf_prints(corpus):
    import xml.etree.ElementTree as ET

    from pypdf import PdfReader

    ram = "{urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100}"
    rsm = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}"
    checked = 0
    for label in _labels(corpus):
        name = label["truth"]["einvoice"]
        path = corpus / label["documents"][0]["path"]
        attachments = dict(PdfReader(path).attachments) if path.suffix == ".pdf" else {}
        if not name:
            assert not attachments, label["doc_id"]
            continue
        root = ET.fromstring(attachments[name][0])
        fields = label["fields"]
        assert root.find(f"{rsm}ExchangedDocument/{ram}ID").text == fields["invoice_number"]
        assert Decimal(root.find(f".//{ram}GrandTotalAmount").text) == Decimal(str(fields["total"]))
        assert Decimal(root.find(f".//{ram}DuePayableAmount").text) == Decimal(
            str(fields["amount_due"])
        )
        assert len(root.findall(f".//{ram}IncludedSupplyChainTradeLineItem")) == len(
            label["line_items"]
        )
        checked += 1
    assert checked > 0


def test_bank_detail_changes_are_measured_against_the_master_iban():
    plan = plan_corpus(Options(invoices=600, seed=8, anomaly_rates={"bank_details_changed": 0.05}))
    master = {v.vendor_id: v for v in plan.vendors}
    assert any(v.master_gaps for v in plan.vendors)
    changed = [d for d in plan.docs if any(a.kind == "bank_details_changed" for a in d.anomalies)]
    assert len(changed) == 30
    for d in changed:
        vendor = master[d.vendor_id]
        assert "iban" not in vendor.master_gaps
        assert d.iban != vendor.iban and stdnum_iban.is_valid(d.iban)
        assert d.anomalies[0].detail == {"master_iban": vendor.iban, "printed_iban": d.iban}
