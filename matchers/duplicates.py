"""Duplicate invoices beyond the file hash.

The same file; the same invoice re-scanned or re-sent (vendor, number, amount, date window);
invoice-number variants (prefixes, suffixes, transpositions, O/0 and I/1 confusions). Credit
notes that legitimately repeat an invoice's number are not duplicates of it. Each hit names the
earlier document and lists the evidence side by side, so a clerk sees why.

Evidence is weighed, not required all at once: a re-scan may misread one digit of the amount,
a re-sent invoice may carry a new date. A hit needs the weights to reach a threshold.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field
from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, Levenshtein

from invoices.records import Document, DocumentType, Invoice, ReasonCode, VendorMatch
from matchers.normalize import confusable_key, digits_only, normalize_invoice_number, normalize_name

CREDIT_TYPES = {DocumentType.CREDIT_NOTE.value, DocumentType.CORRECTION.value}
REFERRING_TYPES = {DocumentType.STATEMENT.value, DocumentType.REMINDER.value}
HIT_THRESHOLD = 5.5


class PriorInvoice(BaseModel):
    """An invoice staged earlier (any batch), as the duplicate check needs it."""

    document_id: int | str
    sha256: str | None = None
    file_name: str | None = None
    vendor_id: str | None = None
    vendor_name: str | None = None
    invoice_number: str | None = None
    invoice_date: date | None = None
    total: Decimal | None = None
    currency: str | None = None
    document_type: str | None = None
    line_amounts: list[Decimal] = Field(default_factory=list)

    @classmethod
    def from_invoice(
        cls,
        document_id: int | str,
        invoice: Invoice,
        document: Document | None,
        vendor_id: str | None,
    ) -> PriorInvoice:
        """The duplicate-check view of a just-processed invoice (to check later ones against)."""
        doc_type = invoice.value("document_type")
        return cls(
            document_id=document_id,
            sha256=document.sha256 if document else None,
            file_name=document.path.name if document else None,
            vendor_id=vendor_id,
            vendor_name=invoice.value("vendor_name"),
            invoice_number=invoice.value("invoice_number"),
            invoice_date=invoice.value("invoice_date"),
            total=invoice.value("total"),
            currency=invoice.value("currency"),
            document_type=str(doc_type.value if hasattr(doc_type, "value") else doc_type)
            if doc_type
            else None,
            line_amounts=[ln.line_total.value for ln in invoice.lines if ln.line_total],
        )


class Evidence(BaseModel):
    """One compared field: this document's value, the earlier one's, how they relate."""

    field: str
    this: str | None
    earlier: str | None
    relation: str  # equal, variant, near, within_window, different, missing
    weight: float


class DuplicateHit(BaseModel):
    """An earlier document this one duplicates, with the evidence side by side."""

    document_id: int | str
    kind: str  # exact_file, same_invoice, number_variant
    score: float
    reason: ReasonCode = ReasonCode.DUPLICATE_SUSPECTED
    earlier_file: str | None = None
    evidence: list[Evidence] = Field(default_factory=list)


def number_relation(a: str | None, b: str | None) -> str:
    """equal, variant (prefix/suffix, transposition, O/0-style confusion), near (one character
    changed), different, missing.

    One changed character is only *near*: consecutive invoices of one vendor differ so too, so
    it counts for little and needs the amount and the very date to agree.
    """
    na, nb = normalize_invoice_number(a), normalize_invoice_number(b)
    if not na or not nb:
        return "missing"
    if na == nb:
        return "equal"
    if confusable_key(na) == confusable_key(nb):
        return "variant"
    short, long_ = sorted((na, nb), key=len)
    if len(short) >= 3 and (long_.endswith(short) or long_.startswith(short)):
        return "variant"
    da, db = digits_only(na), digits_only(nb)
    if len(da) >= 4 and da == db:
        return "variant"
    if len(na) == len(nb) >= 4 and sorted(na) == sorted(nb) and OSA.distance(na, nb) == 1:
        return "variant"  # two adjacent characters swapped
    if len(na) == len(nb) >= 4 and Levenshtein.distance(na, nb) == 1:
        return "near"  # one character misread: alone, consecutive numbers look the same
    return "different"


def _amount_relation(a: Decimal | None, b: Decimal | None, tolerance: Decimal) -> str:
    if a is None or b is None:
        return "missing"
    if (a < 0) != (b < 0) and a != 0 and b != 0:
        # a credit note never reaches here (see compare_invoices): between two documents of
        # the same kind the same amount with another sign is a minus sign misread on a scan
        return "near" if abs(abs(a) - abs(b)) <= tolerance else "different"
    if abs(a - b) <= tolerance:
        # an amount with cents recurs by chance far less often than a round one
        return "equal_distinctive" if abs(a) >= 10 and abs(a) % 1 != 0 else "equal"
    digits_a, digits_b = f"{abs(a):.2f}", f"{abs(b):.2f}"
    if len(digits_a) == len(digits_b) and Levenshtein.distance(digits_a, digits_b) == 1:
        return "near"  # one digit misread on a scan
    return "different"


def _date_relation(a: date | None, b: date | None, window: int) -> str:
    if a is None or b is None:
        return "missing"
    days = abs((a - b).days)
    return "equal" if days == 0 else "within_window" if days <= window else "different"


def _vendor_relation(this: PriorInvoice, earlier: PriorInvoice) -> str:
    if this.vendor_id and earlier.vendor_id:
        return "equal" if this.vendor_id == earlier.vendor_id else "different"
    a, b = normalize_name(this.vendor_name), normalize_name(earlier.vendor_name)
    if not a or not b:
        return "missing"
    if fuzz.ratio(a, b) >= 90:
        return "near"
    # one side linked, the other not: its name was probably misread, which proves nothing
    return "missing" if this.vendor_id or earlier.vendor_id else "different"


def _lines_relation(a: list[Decimal], b: list[Decimal]) -> str:
    """same (most line amounts recur), similar (half), different, or missing (under 3 lines).

    A re-scan whose header was misread still repeats its lines, amount for amount.
    """
    if len(a) < 3 or len(b) < 3:
        return "missing"
    common = sum((Counter(a) & Counter(b)).values()) / min(len(a), len(b))
    return "same" if common >= 0.8 else "similar" if common >= 0.5 else "different"


WEIGHTS: dict[str, dict[str, float]] = {
    "lines": {"same": 6.0, "similar": 3.0, "missing": 0.0, "different": -1.0},
    "vendor": {"equal": 2.0, "near": 1.5, "missing": 0.0, "different": -4.0},
    "invoice_number": {
        "equal": 3.0,
        "variant": 2.0,
        "near": 0.5,
        "missing": 0.0,
        "different": -2.0,
    },
    "total": {
        "equal_distinctive": 3.5,
        "equal": 2.0,
        "near": 1.0,
        "missing": 0.0,
        "different": -3.0,
    },
    "invoice_date": {"equal": 1.5, "within_window": 0.5, "missing": 0.0, "different": -2.0},
}


def compare_invoices(
    this: PriorInvoice, earlier: PriorInvoice, settings: Any
) -> DuplicateHit | None:
    """A hit if `earlier` looks like the same invoice as `this`, else None."""
    if this.sha256 and this.sha256 == earlier.sha256:
        return DuplicateHit(
            document_id=earlier.document_id,
            kind="exact_file",
            score=10.0,
            earlier_file=earlier.file_name,
            evidence=[
                Evidence(
                    field="sha256",
                    this=this.sha256,
                    earlier=earlier.sha256,
                    relation="equal",
                    weight=10.0,
                )
            ],
        )
    if this.document_type in REFERRING_TYPES or earlier.document_type in REFERRING_TYPES:
        return None  # a statement or reminder repeats invoice numbers and amounts by design
    if (this.document_type in CREDIT_TYPES) != (earlier.document_type in CREDIT_TYPES):
        return None  # a credit note may repeat the number of the invoice it corrects
    window = int(getattr(settings, "duplicate_date_window_days", 45))
    tolerance = Decimal(str(getattr(settings, "duplicate_amount_tolerance", "0.01")))
    # two documents of different vendors, or with clearly different numbers, are never one
    vendor = _vendor_relation(this, earlier)
    if vendor == "different":
        return None
    number = number_relation(this.invoice_number, earlier.invoice_number)
    if number == "different":
        return None
    amount = _amount_relation(this.total, earlier.total, tolerance)
    relations = {
        "vendor": (
            vendor,
            this.vendor_id or this.vendor_name,
            earlier.vendor_id or earlier.vendor_name,
        ),
        "invoice_number": (number, this.invoice_number, earlier.invoice_number),
        "total": (amount, this.total, earlier.total),
        "invoice_date": (
            _date_relation(this.invoice_date, earlier.invoice_date, window),
            this.invoice_date,
            earlier.invoice_date,
        ),
        "lines": (
            _lines_relation(this.line_amounts, earlier.line_amounts),
            len(this.line_amounts),
            len(earlier.line_amounts),
        ),
    }
    evidence = [
        Evidence(
            field=f,
            this=None if a is None else str(a),
            earlier=None if b is None else str(b),
            relation=rel,
            weight=WEIGHTS[f][rel],
        )
        for f, (rel, a, b) in relations.items()
    ]
    score = sum(e.weight for e in evidence)
    if number == "near" and relations["invoice_date"][0] != "equal":
        return None  # one character off and another date: the vendor's next invoice
    if score < HIT_THRESHOLD:
        return None
    kind = "number_variant" if relations["invoice_number"][0] == "variant" else "same_invoice"
    return DuplicateHit(
        document_id=earlier.document_id,
        kind=kind,
        score=score,
        earlier_file=earlier.file_name,
        evidence=evidence,
    )


def find_duplicates(
    invoice: Invoice,
    document: Document | None,
    prior: Iterable[PriorInvoice],
    settings: Any,
    vendor_match: VendorMatch | None = None,
) -> list[DuplicateHit]:
    """Earlier documents this invoice duplicates, best evidence first.

    `prior` are candidates from staging (see `staging.matching.duplicate_candidates`): this
    function decides, it does not search.
    """
    this = PriorInvoice.from_invoice(
        -1, invoice, document, vendor_match.vendor_id if vendor_match else None
    )
    hits = [h for p in prior if (h := compare_invoices(this, p, settings)) is not None]
    return sorted(hits, key=lambda h: (-h.score, str(h.document_id)))


class PriorIndex:
    """Earlier invoices in memory, blocked by vendor, amount and number keys (for batches and
    evaluation; in production, staging answers the same question with SQL)."""

    def __init__(self) -> None:
        self._items: list[PriorInvoice] = []
        self._blocks: dict[tuple[str, str], list[int]] = defaultdict(list)

    def add(self, item: PriorInvoice) -> None:
        """Make an invoice visible to later duplicate checks."""
        position = len(self._items)
        self._items.append(item)
        for key in _block_keys(item):
            self._blocks[key].append(position)

    def candidates(self, item: PriorInvoice) -> list[PriorInvoice]:
        """Earlier invoices sharing a vendor, an absolute amount, a number key or the file."""
        positions: set[int] = set()
        for key in _block_keys(item):
            positions.update(self._blocks.get(key, ()))
        return [self._items[p] for p in sorted(positions)]

    def __len__(self) -> int:
        return len(self._items)


def _block_keys(item: PriorInvoice) -> list[tuple[str, str]]:
    keys = []
    if item.sha256:
        keys.append(("sha", item.sha256))
    if item.vendor_id:
        keys.append(("vendor", item.vendor_id))
    if item.total is not None:
        keys.append(("amount", f"{abs(item.total):.2f}"))
    if number := normalize_invoice_number(item.invoice_number):
        keys.append(("number", confusable_key(number)))
    return keys


def find_duplicates_in(
    index: PriorIndex,
    invoice: Invoice,
    document: Document | None,
    settings: Any,
    vendor_match: VendorMatch | None = None,
) -> list[DuplicateHit]:
    """`find_duplicates` against an in-memory index of earlier invoices."""
    vendor_id = vendor_match.vendor_id if vendor_match else None
    probe = PriorInvoice.from_invoice(-1, invoice, document, vendor_id)
    return find_duplicates(invoice, document, index.candidates(probe), settings, vendor_match)


def hits_summary(hits: Sequence[DuplicateHit]) -> dict[str, Any]:
    """The exception-queue details of duplicate hits: earlier documents and evidence."""
    return {"duplicates": [h.model_dump(mode="json") for h in hits]}
