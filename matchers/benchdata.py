"""Synthetic data at scale for the matching benchmark: a vendor master, open purchase orders
with goods received, and extracted invoices (with truth) drawn from them.

Deterministic for a seed. Names are built from shared parts so that near-collisions abound
(`Müller Logistik GmbH` and `Müller Logistik Hamburg KG`), extraction noise mimics OCR, and a
share of invoices come from vendors missing from the master.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from invoices.records import FieldValue, Invoice, LineItem, Method, Provenance
from matchers.normalize import normalize_name

SURNAMES = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Koch "
    "Richter Klein Wolf Schröder Neumann Zimmermann Braun Krüger Hartmann Lange Werner "
    "Krause Lehmann Köhler Maier Huber Kaiser Fuchs Vogel Keller Günther Berger Roth Beck "
    "Martin Bernard Dubois Thomas Robert Richard Petit Durand Leroy Moreau Simon Laurent "
    "Lefebvre Michel Garcia David Bertrand Roux Vincent Fournier Smith Jones Taylor Brown "
    "Williams Wilson Johnson Davies Robinson Wright Thompson Evans Walker White Roberts "
    "Green Hall Wood Jackson Clarke Harris Lewis Baker Carter Morgan Cooper"
).split()
STEMS = (
    "Nord Süd Alpen Rhein Elb Nova Tecto Astra Prima Vario Optima Terra Helix Quadra Lumen "
    "Orbis Vertex Zenit Polar Aqua Ferro Centro Delta Sigma Atlas Borea Kobalt Linea"
).split()
TAILS = "tec plan line mark soft log pro net data form werk via trade serv point flex max".split()
WORDS = (
    "Logistik|Bürobedarf|IT-Systeme|Software|Gebäudereinigung|Druck|Elektro|Metallbau|"
    "Office Supplies|Consulting|Catering|Facility Services|Packaging|Transport|Fournitures|"
    "Nettoyage|Informatique|Maschinenbau|Verpackung|Medien"
).split("|")
CITIES = {
    "DE": ("Berlin", "Hamburg", "München", "Köln", "Leipzig", "Bremen", "Stuttgart"),
    "FR": ("Paris", "Lyon", "Lille", "Nantes", "Bordeaux"),
    "GB": ("London", "Leeds", "Bristol", "Glasgow", "Manchester"),
}
LEGAL = {
    "DE": ("GmbH", "AG", "KG", "GmbH & Co. KG"),
    "FR": ("SARL", "SAS", "SA"),
    "GB": ("Ltd", "Limited", "PLC"),
}
CURRENCY = {"DE": "EUR", "FR": "EUR", "GB": "GBP"}
ITEMS = (
    "Copy paper A4 80g|Toner cartridge black|Lever arch file 80mm|Pallet transport|"
    "Express courier shipment|Network switch 24 ports|USB-C docking station|Monitor 27 QHD|"
    "Office cleaning monthly|Window cleaning|Steel profile 40x40|Cardboard boxes 60x40|"
    "Safety gloves size 9|Hydraulic oil 20l|Cable ties 200mm|Printing flyers A5"
).split("|")
_CONFUSE = {
    "0": "O",
    "1": "l",
    "5": "S",
    "8": "B",
    "O": "0",
    "l": "1",
    "i": "l",
    "e": "c",
    "rn": "m",
    "m": "rn",
    "u": "v",
    "a": "o",
}


@dataclass
class BenchInvoice:
    """An extracted invoice with what it truly is."""

    invoice: Invoice
    vendor_id: str | None
    po_number: str | None
    scanned: bool


def _name(rng: random.Random, country: str) -> str:
    shape = rng.random()
    word = rng.choice(WORDS)
    if shape < 0.35:
        base = f"{rng.choice(SURNAMES)} {word}"
    elif shape < 0.65:
        base = f"{rng.choice(STEMS)}{rng.choice(TAILS)} {word}"
    elif shape < 0.85:
        base = f"{rng.choice(SURNAMES)} & {rng.choice(SURNAMES)} {word}"
    else:
        base = f"{rng.choice(STEMS)}{rng.choice(TAILS)} {word} {rng.choice(CITIES[country])}"
    return f"{base} {rng.choice(LEGAL[country])}"


def _vendor(rng: random.Random, n: int) -> dict[str, Any]:
    country = rng.choice(("DE", "DE", "DE", "FR", "GB"))
    name = _name(rng, country)
    digits = f"{rng.randrange(10**9):09d}"
    slug = "".join(c for c in name.lower() if c.isalnum())[:16]
    return {
        "vendor_id": f"V{n:06d}",
        "name": name,
        "aliases": name.rsplit(" ", 1)[0] if rng.random() < 0.3 else "",
        "address": f"{rng.choice(('Hauptstr.', 'Rue du Commerce', 'High Street'))} "
        f"{rng.randint(1, 199)}, {rng.randint(10000, 99999)} "
        f"{rng.choice(CITIES[country])}",
        "country": country,
        "vat_id": f"{country}{digits}",
        "iban": f"{country}{rng.randint(10, 99)}{rng.randrange(10**18):018d}",
        "bic": "",
        "email": f"billing@{slug}.example" if rng.random() < 0.5 else "",
        "currency": CURRENCY[country],
    }


def bench_master(out: Path, vendors: int, po_lines: int, seed: int = 7) -> dict[str, int]:
    """Write vendors, purchase orders, PO lines and goods receipts CSVs (master README format)."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    vendor_rows = [_vendor(rng, n) for n in range(vendors)]
    po_rows, line_rows, receipt_rows = [], [], []
    n_pos = po_lines // 4
    for p in range(n_pos):
        vendor = vendor_rows[rng.randrange(vendors // 2)]  # half the vendors buy on POs
        number = f"PO-{4500000 + p}"
        po_rows.append(
            {
                "po_number": number,
                "vendor_id": vendor["vendor_id"],
                "currency": vendor["currency"],
                "order_date": "2026-01-15",
                "status": "closed" if rng.random() < 0.05 else "open",
            }
        )
        for line_no, item in enumerate(rng.sample(ITEMS, 4), start=1):
            qty = rng.randint(1, 40)
            line_rows.append(
                {
                    "po_number": number,
                    "line_no": line_no,
                    "sku": f"S{ITEMS.index(item)}",
                    "description": item,
                    "quantity": qty,
                    "unit": "pcs",
                    "unit_price": f"{rng.uniform(2, 400):.2f}",
                    "tax_rate": "19",
                }
            )
            receipt_rows.append(
                {
                    "receipt_id": f"GR{p}",
                    "po_number": number,
                    "line_no": line_no,
                    "quantity": qty,
                    "received_date": "2026-02-01",
                }
            )
    for name, rows in (
        ("vendors", vendor_rows),
        ("purchase_orders", po_rows),
        ("po_lines", line_rows),
        ("goods_receipts", receipt_rows),
    ):
        _write_csv(out / f"{name}.csv", rows)
    return {
        "vendors": len(vendor_rows),
        "purchase_orders": len(po_rows),
        "po_lines": len(line_rows),
        "goods_receipts": len(receipt_rows),
    }


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def read_csv(path: Path) -> list[dict[str, str]]:
    """Rows of a CSV written by `bench_master`."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def ocr_noise(rng: random.Random, text: str, rate: float) -> str:
    """The text with a few OCR-style confusions (about `rate` per character)."""
    out = []
    for ch in text:
        out.append(_CONFUSE.get(ch, ch) if rng.random() < rate else ch)
    return "".join(out)


def bench_invoices(
    master: Path, count: int, seed: int = 11, scanned: float = 0.3, unknown: float = 0.03
) -> Iterator[BenchInvoice]:
    """Extracted invoices drawn from the master in `master` (CSV folder), with their truth."""
    rng = random.Random(seed)
    vendors = read_csv(master / "vendors.csv")
    lines_by_po: dict[str, list[dict[str, str]]] = {}
    for row in read_csv(master / "po_lines.csv"):
        lines_by_po.setdefault(row["po_number"], []).append(row)
    pos_by_vendor: dict[str, list[str]] = {}
    for row in read_csv(master / "purchase_orders.csv"):
        if row["status"] == "open":
            pos_by_vendor.setdefault(row["vendor_id"], []).append(row["po_number"])
    fresh = random.Random(seed + 1)
    taken = {normalize_name(n) for v in vendors for n in (v["name"], v["aliases"]) if n}
    for n in range(count):
        is_scan = rng.random() < scanned
        if rng.random() < unknown:  # a vendor missing from the master, under a name of its own
            vendor, vendor_id = _vendor(fresh, 900000 + n), None
            while normalize_name(vendor["name"]) in taken:
                vendor = _vendor(fresh, 900000 + n)
        else:
            vendor = rng.choice(vendors)
            vendor_id = vendor["vendor_id"]
        po = rng.choice(pos_by_vendor[vendor_id]) if vendor_id in pos_by_vendor else None
        lines = lines_by_po[po] if po else []
        yield BenchInvoice(_invoice(rng, vendor, po, lines, is_scan, n), vendor_id, po, is_scan)


def _fv(value: Any, scanned: bool) -> FieldValue[Any]:
    prov = Provenance(method=Method.OCR if scanned else Method.TEXT_LAYER, extractor="bench")
    return FieldValue(value=value, confidence=0.8 if scanned else 0.97, provenance=prov)


def _invoice(
    rng: random.Random,
    vendor: dict[str, Any],
    po: str | None,
    po_lines: list[dict[str, str]],
    scanned: bool,
    n: int,
) -> Invoice:
    rate = 0.04 if scanned else 0.0
    name = vendor["name"] if rng.random() < 0.7 else (vendor.get("aliases") or vendor["name"])
    fields: dict[str, Any] = {
        "vendor_name": ocr_noise(rng, name, rate),
        "vendor_address": ocr_noise(rng, vendor["address"], rate),
        "invoice_number": f"INV-{n:07d}",
        "invoice_date": date(2026, 3, 1) + timedelta(n % 60),
        "currency": vendor["currency"],
    }
    if rng.random() < 0.75:
        fields["vendor_vat_id"] = ocr_noise(rng, vendor["vat_id"], rate / 2)
    if rng.random() < 0.6:
        fields["iban"] = vendor["iban"]
    if vendor.get("email") and rng.random() < 0.5:
        fields["vendor_email"] = vendor["email"]
    if po and rng.random() < 0.9:
        fields["po_number"] = po
    lines, subtotal = [], Decimal(0)
    if not po_lines:  # a non-PO invoice: services billed directly
        po_lines = [
            {
                "description": item,
                "quantity": str(rng.randint(1, 9)),
                "unit_price": f"{rng.uniform(20, 900):.2f}",
            }
            for item in rng.sample(ITEMS, rng.randint(1, 3))
        ]
    for row in po_lines[: rng.randint(1, len(po_lines))]:
        qty = Decimal(rng.randint(1, int(row["quantity"])))
        price = Decimal(row["unit_price"])
        lines.append(
            LineItem(
                description=_fv(row["description"], scanned),
                quantity=_fv(qty, scanned),
                unit_price=_fv(price, scanned),
                line_total=_fv(qty * price, scanned),
            )
        )
        subtotal += qty * price
    fields["subtotal"] = subtotal
    fields["total"] = (subtotal * Decimal("1.19")).quantize(Decimal("0.01"))
    values: dict[str, Any] = {k: _fv(v, scanned) for k, v in fields.items()}
    return Invoice(lines=lines, **values)
