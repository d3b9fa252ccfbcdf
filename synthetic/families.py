"""Layout families: ways real invoices print the same facts that the ten layouts do not.

Each family is a named option with a share (`Options.family_rates`, `invoices generate
--family-rate KIND=SHARE`): the share of the documents the family can apply to that get it.
All shares are 0 by default, and the families are drawn from a random stream of their own, so
a seed without families gives the same corpus as before they existed.

- `label_variants`: other wordings of the invoice number, date, due date and total labels
  (en/de/fr: "Invoice-No.", "Rg.-Nr.", "Issued on", "Règlement avant le", "Bruttobetrag", ...);
  the document details are printed as values with their label as a caption under them.
- `unheaded_parties`: the buyer's address block printed with no heading ("Bill to" missing).
- `two_row_items`: each line item on two rows, the code and the numbers on the first, the
  description on the second.
- `totals_table`: net, tax and gross in a table with one row per tax rate and the column heads
  as labels, then an unlabelled sum row.
- `prepayment`: an amount already paid printed after the total (amount due < total), in other
  wordings than the deposit every generated corpus has now and then.
- `cash_rounding`: the amount due rounded to 0.05 with a signed rounding line (both directions).
- `credit_note_sign`: a credit note printing its amounts negative. Labelled positive all the
  same: EN 16931 keeps a credit note's amounts positive and lets the type give the direction.
- `month_first_dates`: an English vendor outside the US printing numeric dates month first.

Money labels follow EN 16931: `total` = subtotal + tax, `amount_due` = total - prepaid +
rounding.
"""

from __future__ import annotations

import random
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from synthetic.layouts import LAYOUT_BY_NAME
from synthetic.locales import money
from synthetic.model import DocSpec

FAMILY_KINDS: tuple[str, ...] = (
    "label_variants",
    "unheaded_parties",
    "two_row_items",
    "totals_table",
    "prepayment",
    "cash_rounding",
    "credit_note_sign",
    "month_first_dates",
)
DEFAULT_FAMILY_RATES: dict[str, float] = {k: 0.0 for k in FAMILY_KINDS}
CASH_STEP = Decimal("0.05")

# label -> language -> wordings the ten layouts never print (the vendor's variant picks one)
VARIANT_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "invoice_number": {
        "en": ("Invoice-No.", "Document No.", "Bill number", "Inv. ref."),
        "de": ("Rg.-Nr.", "Beleg-Nr.", "Rechnung-Nr.", "Dokumentnummer"),
        "fr": ("Facture no", "N° pièce", "Réf. facture", "Numéro"),
    },
    "credit_number": {
        "en": ("Credit-No.", "Document No."),
        "de": ("Gutschrift-Nr.", "Beleg-Nr."),
        "fr": ("Avoir no", "N° pièce"),
    },
    "invoice_date": {
        "en": ("Issue date", "Dated", "Issued on", "Billing date"),
        "de": ("Ausstellungsdatum", "Ausgestellt am", "Rg.-Datum", "Datum der Rechnung"),
        "fr": ("Émise le", "Date de la facture", "Fait le", "Date d'émission"),
    },
    "due_date": {
        "en": ("Remit by", "Payable by", "Pay before", "Payment date"),
        "de": ("Zahlungsfrist", "Spätestens zahlbar am", "Fälligkeit", "Zahlungstermin"),
        "fr": ("Règlement avant le", "Date limite de paiement", "Payable le", "Échéance"),
    },
    "total": {
        "en": ("Gross amount", "Total payable", "Invoice amount", "Amount (incl. VAT)"),
        "de": ("Bruttobetrag", "Endbetrag", "Rechnungsendbetrag", "Gesamt brutto"),
        "fr": ("Montant total", "Total à payer", "Montant TTC dû", "Total facture"),
    },
}
# the heads of a totals table: rate, net, tax, gross
TABLE_HEADS: dict[str, tuple[str, str, str, str]] = {
    "en": ("VAT rate", "Net", "VAT", "Gross"),
    "de": ("USt.-Satz", "Netto", "USt.", "Brutto"),
    "fr": ("Taux TVA", "HT", "TVA", "TTC"),
}
US_TABLE_HEADS = ("Tax rate", "Net", "Sales tax", "Total")
PREPAID_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("Already paid", "Payment received", "Paid on account"),
    "de": ("Bereits bezahlt", "Geleistete Zahlung", "Erhaltene Vorauszahlung"),
    "fr": ("Déjà réglé", "Paiement reçu", "Acompte déjà versé"),
}
ROUNDING_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("Rounding", "Cash rounding"),
    "de": ("Rundungsdifferenz", "Rundung"),
    "fr": ("Arrondi", "Écart d'arrondi"),
}


def family_word(table: dict[str, tuple[str, ...]], lang: str, variant: int) -> str:
    """One wording of a family's label in a language (falls back to English)."""
    options = table.get(lang) or table["en"]
    return options[variant % len(options)]


def cash_rounding(amount: Decimal) -> Decimal:
    """What rounding `amount` to the nearest 0.05 adds (negative when it rounds down)."""
    rounded = (amount / CASH_STEP).quantize(Decimal(1), rounding=ROUND_HALF_UP) * CASH_STEP
    return money(rounded - amount)


def _invoice_like(d: DocSpec) -> bool:
    return d.document_type in ("invoice", "credit_note")


def _plain_invoice(d: DocSpec) -> bool:
    planted = any(a.kind == "arithmetic_error" for a in d.anomalies)
    return d.document_type == "invoice" and not planted and d.totals is not None


def eligible(kind: str, d: DocSpec) -> bool:
    """Whether a family can apply to a planned document."""
    if kind == "prepayment":
        return _plain_invoice(d) and not (d.totals and d.totals.prepaid)
    if kind == "cash_rounding":
        return _plain_invoice(d) and bool(d.totals and cash_rounding(d.totals.amount_due))
    if kind == "credit_note_sign":
        return d.document_type == "credit_note"
    if kind == "month_first_dates":
        numeric = LAYOUT_BY_NAME[d.layout].date_style == "numeric"
        return _invoice_like(d) and d.locale.startswith("en") and d.locale != "en_US" and numeric
    return _invoice_like(d)


def _apply(kind: str, d: DocSpec, rng: random.Random) -> DocSpec:
    """The document with the family added (and its money changed where the family is money)."""
    d = replace(d, families=(*d.families, kind))
    t = d.totals
    if t is None:
        return d
    if kind == "prepayment":
        share = rng.choice((Decimal(20), Decimal(30), Decimal(40), Decimal(50)))
        prepaid = money(t.total * share / 100)
        return replace(d, totals=replace(t, prepaid=prepaid, amount_due=t.total - prepaid))
    if kind == "cash_rounding":
        rounding = cash_rounding(t.amount_due)
        return replace(d, totals=replace(t, rounding=rounding, amount_due=t.amount_due + rounding))
    return d


def assign_families(rates: dict[str, float], seed: int, docs: list[DocSpec]) -> list[DocSpec]:
    """The planned documents with each family given to its share of the documents it can
    apply to, drawn from a stream of their own (so shares of 0 change nothing)."""
    unknown = set(rates) - set(FAMILY_KINDS)
    if unknown:
        raise ValueError(f"unknown layout families: {sorted(unknown)}")
    rng = random.Random(f"families-{seed}")
    by_key = {d.key: d for d in docs}
    for kind in FAMILY_KINDS:
        rate = rates.get(kind, 0.0)
        if rate <= 0:
            continue
        pool = [k for k, d in by_key.items() if eligible(kind, d)]
        for key in sorted(rng.sample(pool, min(len(pool), round(rate * len(pool))))):
            by_key[key] = _apply(kind, by_key[key], rng)
    return [by_key[d.key] for d in docs]
