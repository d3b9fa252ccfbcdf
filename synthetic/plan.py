"""The corpus plan: which documents exist, from whom, with which anomalies, in which form.

Planning is sequential and uses one `random.Random(seed)`; everything the render pool needs
per document (including its own render seed) is in the plan, so the output depends on the
seed only, never on the number of workers or the order in which they finish.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from synthetic import documents, master
from synthetic.catalog import CATEGORY_BY_NAME
from synthetic.families import DEFAULT_FAMILY_RATES, assign_families
from synthetic.identity import LEGAL_FORMS, LOCALE_COUNTRY, language, name_variants
from synthetic.locales import stamp_text
from synthetic.model import ANOMALY_KINDS, Anomaly, DocSpec, PurchaseOrder, Receipt, Vendor

DEFAULT_ANOMALY_RATES: dict[str, float] = {
    "exact_duplicate": 0.02,
    "rescanned_duplicate": 0.02,
    "number_variant_duplicate": 0.02,
    "price_variance": 0.05,
    "qty_exceeds_received": 0.04,
    "po_missing": 0.04,
    "vendor_unknown": 0.03,
    "bank_details_changed": 0.02,
    "arithmetic_error": 0.03,
    "credit_note": 0.03,
    "not_an_invoice": 0.03,
}
DUPLICATE_KINDS = ("exact_duplicate", "rescanned_duplicate", "number_variant_duplicate")
HEADER_KINDS = (
    "price_variance",
    "qty_exceeds_received",
    "po_missing",
    "bank_details_changed",
    "vendor_unknown",
    "arithmetic_error",
)
ALL_LOCALES = tuple(LOCALE_COUNTRY)
LOOKALIKE_SHARE = 0.3  # of unknown vendors
SINGLE_PAGE_LINES = 12  # more lines may flow onto a second page
STAMP_SHARE = 0.4


@dataclass(frozen=True)
class Options:
    """What to generate. Rates are shares of all documents."""

    invoices: int
    seed: int = 0
    vendors: int | None = None
    history_lines: int | None = None
    scanned_share: float = 0.3
    image_share: float = 0.3  # of the scanned documents, the share that are PNG/JPEG files
    multipage_share: float = 0.08
    locales: tuple[str, ...] = ALL_LOCALES
    anomaly_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_ANOMALY_RATES))
    # layout family -> share of the documents it can apply to (synthetic.families)
    family_rates: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_FAMILY_RATES))
    start: date = date(2025, 1, 1)
    days: int = 365

    def vendor_count(self) -> int:
        """The number of vendors in the master (default max(20, N // 10))."""
        return self.vendors if self.vendors is not None else max(20, self.invoices // 10)

    def history_count(self) -> int:
        """The number of coded history lines (default 10 per invoice)."""
        return self.history_lines if self.history_lines is not None else 10 * self.invoices


@dataclass
class Plan:
    """A planned corpus: master data and the documents in their final order."""

    vendors: list[Vendor]
    orders: list[PurchaseOrder]
    receipts: list[Receipt]
    history: list[dict[str, str]]
    docs: list[DocSpec]
    doc_ids: dict[int, str]  # plan key -> doc id


def _counts(opts: Options) -> dict[str, int]:
    unknown = set(opts.anomaly_rates) - set(ANOMALY_KINDS)
    if unknown:
        raise ValueError(f"unknown anomaly kinds: {sorted(unknown)}")
    rates = {**{k: 0.0 for k in ANOMALY_KINDS}, **opts.anomaly_rates}
    return {k: round(rates[k] * opts.invoices) for k in ANOMALY_KINDS}


def _pick_vendor(rng: random.Random, vendors: list[Vendor], cum: list[float]) -> Vendor:
    return rng.choices(vendors, cum_weights=cum)[0]


def _eligible(kind: str, vendor: Vendor) -> bool:
    if kind in ("price_variance", "qty_exceeds_received", "po_missing"):
        return CATEGORY_BY_NAME[vendor.category].uses_po
    if kind == "bank_details_changed":  # a change is only visible against a known IBAN
        return vendor.iban is not None and "iban" not in vendor.master_gaps
    return True


def _assign_header_anomalies(
    rng: random.Random, slots: list[dict], counts: dict[str, int], active: list[Vendor]
) -> None:
    """Plant header anomalies on distinct invoices; move a slot to an eligible vendor if needed."""
    free = [s for s in slots if s["kind"] == "invoice"]
    for kind in HEADER_KINDS:
        pool = [s for s in free if not s["kinds"] and _eligible(kind, s["vendor"])]
        chosen = rng.sample(pool, min(counts[kind], len(pool)))
        missing = counts[kind] - len(chosen)
        eligible = [v for v in active if _eligible(kind, v)]
        spare = [s for s in free if not s["kinds"] and s not in chosen]
        if missing > 0 and eligible and spare:
            for slot in rng.sample(spare, min(missing, len(spare))):
                slot["vendor"] = rng.choice(eligible)
                chosen.append(slot)
        for slot in chosen:
            slot["kinds"].add(kind)


def _base_documents(
    opts: Options,
    rng: random.Random,
    book: documents.Book,
    vendors: list[Vendor],
    counts: dict[str, int],
) -> list[DocSpec]:
    """Invoices, credit notes and non-invoices in date order, before duplicates."""
    n_dup = sum(counts[k] for k in DUPLICATE_KINDS)
    n_base = max(1, opts.invoices - n_dup)
    kinds = ["credit_note"] * counts["credit_note"] + ["not_an_invoice"] * counts["not_an_invoice"]
    kinds = kinds[: max(0, n_base - 1)]
    kinds += ["invoice"] * (n_base - len(kinds))
    rng.shuffle(kinds)
    when = sorted(opts.start + timedelta(days=rng.randrange(opts.days)) for _ in kinds)
    active = [v for v in vendors if v.weight > 0] or vendors
    cum, acc = [], 0.0
    for v in active:
        acc += v.weight
        cum.append(acc)
    slots = [
        {"kind": k, "when": d, "vendor": _pick_vendor(rng, active, cum), "kinds": set()}
        for k, d in zip(kinds, when, strict=True)
    ]
    _assign_header_anomalies(rng, slots, counts, active)
    taken = {v.name.casefold() for v in vendors} | {v.base_name.casefold() for v in vendors}
    by_id = {v.vendor_id: v for v in vendors}
    docs: list[DocSpec] = []
    for key, slot in enumerate(slots):
        docs.append(_one_base(opts, rng, book, key, slot, docs, taken, by_id))
    return docs


def _one_base(
    opts: Options,
    rng: random.Random,
    book: documents.Book,
    key: int,
    slot: dict,
    done: list[DocSpec],
    taken: set[str],
    by_id: dict[str, Vendor],
) -> DocSpec:
    vendor: Vendor = slot["vendor"]
    if slot["kind"] == "credit_note":
        originals = [d for d in done if d.document_type == "invoice" and not d.anomalies]
        if originals:
            original = rng.choice(originals)
            issuer = by_id[original.vendor_id or ""]
            return documents.credit_note(book, key, slot["when"], issuer, original)
        slot = {**slot, "kind": "invoice"}
    if slot["kind"] == "not_an_invoice":
        return documents.not_an_invoice(
            book, key, slot["when"], vendor, rng.choice(("statement", "reminder"))
        )
    known = "vendor_unknown" not in slot["kinds"]
    if not known:
        vendor = _unknown_vendor(opts, rng, key, vendor, taken)
    return documents.invoice(
        book, key, slot["when"], vendor, known, slot["kinds"], opts.multipage_share
    )


def _unknown_vendor(
    opts: Options, rng: random.Random, key: int, known: Vendor, taken: set[str]
) -> Vendor:
    """A vendor missing from the master; some share a known vendor's name with another legal
    form, address and identity (a look-alike the matcher must not take for the known one)."""
    if rng.random() >= LOOKALIKE_SHARE:
        return master.make_vendor(rng, f"U{key + 1:05d}", rng.choice(opts.locales), taken, 0.0)
    other = master.make_vendor(rng, f"U{key + 1:05d}", known.locale, taken, 0.0)
    forms = [f for f in LEGAL_FORMS[known.country] if f != known.legal_form] or [known.legal_form]
    form = rng.choice(forms)
    return replace(
        other,
        base_name=known.base_name,
        legal_form=form,
        aliases=tuple(name_variants(known.base_name, form)),
        resembles=known.vendor_id,
    )


def _variant_number(rng: random.Random, number: str) -> str:
    """An invoice number as a resubmission prints it: INV-1001 -> INV1001-R, 1001/1, ..."""
    compact = number.replace("-", "").replace("/", "")
    options = [
        f"{compact}-R",
        f"{number}/1",
        f"{number}-2",
        f"{number}A",
        compact,
        f"{number} (copy)",
    ]
    options = [o for o in options if o != number]
    return rng.choice(options)


def _duplicates(rng: random.Random, docs: list[DocSpec], counts: dict[str, int]) -> list[DocSpec]:
    clean = [d for d in docs if d.document_type == "invoice" and not d.anomalies and d.vendor_id]
    out: list[DocSpec] = []
    key = len(docs)
    for kind in DUPLICATE_KINDS:
        for original in rng.sample(clean, min(counts[kind], len(clean))) if clean else []:
            anomaly = Anomaly(kind, of_key=original.key)
            dup = replace(original, key=key, anomalies=(anomaly,), of_key=original.key)
            if kind == "exact_duplicate":
                dup = replace(dup, copy_of=original.key)
            elif kind == "rescanned_duplicate":
                dup = replace(dup, scanned=True, media=rng.choice(("pdf", "pdf", "jpg")))
            else:
                number = _variant_number(rng, original.number or "")
                anomaly = Anomaly(
                    kind,
                    of_key=original.key,
                    detail={"original_number": original.number, "variant_number": number},
                )
                dup = replace(dup, number=number, anomalies=(anomaly,))
            out.append(dup)
            key += 1
    return out


def _scan_choices(opts: Options, rng: random.Random, docs: list[DocSpec]) -> list[DocSpec]:
    target = round(opts.scanned_share * len(docs))
    chosen = set(rng.sample(range(len(docs)), min(target, len(docs))))
    out = []
    for i, d in enumerate(docs):
        if i in chosen:
            media = "pdf" if rng.random() >= opts.image_share else rng.choice(("png", "jpg"))
            if len(d.lines) > SINGLE_PAGE_LINES:  # an image file holds one page only
                media = "pdf"
            d = replace(d, scanned=True, media=media)
        out.append(d)
    return out


def _stamp(rng: random.Random, doc: DocSpec) -> str | None:
    """An incoming-mail stamp on some scans, dated a few days after the document."""
    if not doc.scanned or rng.random() >= STAMP_SHARE:
        return None
    return stamp_text(language(doc.locale), doc.issue_date + timedelta(days=rng.randint(1, 9)))


def plan_corpus(opts: Options) -> Plan:
    """Plan a whole corpus for a seed: master data, documents, their order and ids."""
    rng = random.Random(opts.seed)
    vendors = master.make_vendors(rng, opts.vendor_count(), opts.locales)
    history = master.make_history(rng, vendors, opts.history_count(), opts.start)
    book = documents.Book(rng)
    counts = _counts(opts)
    planned = _base_documents(opts, rng, book, vendors, counts)
    planned = assign_families(opts.family_rates, opts.seed, planned)
    base = _scan_choices(opts, rng, planned)
    dups = _duplicates(rng, base, counts)
    by_key = {d.key: d for d in base}
    dups = [
        replace(d, scanned=by_key[d.copy_of].scanned, media=by_key[d.copy_of].media)
        if d.copy_of is not None
        else d
        for d in dups
    ]
    ordered = sorted(base + dups, key=lambda d: (d.issue_date, d.key))
    final = [replace(d, render_seed=rng.randrange(2**31), stamp=_stamp(rng, d)) for d in ordered]
    doc_ids = {d.key: f"syn-{i + 1:06d}" for i, d in enumerate(final)}
    return Plan(vendors, book.orders, book.receipts, history, final, doc_ids)
