"""What the CII and UBL readers share: namespace-agnostic XPath, and values as `FieldValue`s.

`_xpath` compiles a path of local names ('A/B[@x='y']/@c') into XPath on `local-name()`, so one
path serves every namespace version; `all_nodes`, `first_node` and `raw_text` find elements and
text with it. The value helpers turn text into `FieldValue`s with `Method.EINVOICE_XML`
provenance (strings, money, dates, the document type from its UNTDID 1001 code, amounts in the
invoice currency, one-line addresses). Used by `extractors.text.einvoice_cii`,
`extractors.text.einvoice_ubl` and `extractors.text.einvoice`.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from lxml import etree

from invoices.records import DocumentType, FieldValue, Method, Provenance

EXTRACTOR = "einvoice"
VERSION = "1"
CONFIDENCE = 0.99  # a value of XML that lacks one of the mandatory core elements

# UNTDID 1001 document name codes, as EN 16931 and ZUGFeRD use them.
CREDIT_NOTE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)
CORRECTION_CODES = frozenset({"384"})
INVOICE_CODES = frozenset(
    {
        "71", "80", "82", "84", "102", "130", "202", "203", "204", "211", "218", "219", "295",
        "325", "326", "331", "380", "382", "383", "386", "387", "388", "389", "390", "393",
        "394", "395", "456", "457", "527", "553", "575", "623", "633", "751", "780", "817",
        "870", "875", "876", "877", "935",
    }
)  # fmt: skip

Element = Any  # lxml's _Element; kept loose for mypy


# --- namespace-agnostic XPath -------------------------------------------------------------


@lru_cache(maxsize=512)
def _xpath(path: str) -> etree.XPath:
    """Compile 'A/B[@x='y']/@c' into './*[local-name()='A']/*[local-name()='B'][@x='y']/@c'."""
    steps = []
    for step in path.split("/"):
        match = re.fullmatch(r"([A-Za-z_][\w.-]*)(.*)", step)
        if match is None:  # '' (from //), '.', '..', '@attr', 'text()'
            steps.append(step)
        else:
            steps.append(f"*[local-name()='{match.group(1)}']{match.group(2)}")
    return etree.XPath("./" + "/".join(steps))


def all_nodes(node: Element | None, path: str) -> list[Element]:
    return [] if node is None else list(_xpath(path)(node))


def first_node(node: Element | None, *paths: str) -> Element | None:
    """The first element any of `paths` finds (in the order given)."""
    for path in paths:
        found = all_nodes(node, path)
        if found:
            return found[0]
    return None


def text_of(element: Element) -> str:
    return "".join(element.itertext()).strip()


def raw_text(node: Element | None, *paths: str) -> str | None:
    """The stripped text of the first non-empty element any of `paths` finds."""
    for path in paths:
        for element in all_nodes(node, path):
            text = text_of(element)
            if text:
                return text
    return None


# --- values -------------------------------------------------------------------------------


def _provenance(raw: str) -> Provenance:
    return Provenance(method=Method.EINVOICE_XML, extractor=EXTRACTOR, version=VERSION, raw=raw)


def field_value(value: Any, raw: str) -> FieldValue[Any]:
    return FieldValue(value=value, confidence=CONFIDENCE, provenance=_provenance(raw))


def str_field(node: Element | None, *paths: str) -> FieldValue[str] | None:
    raw = raw_text(node, *paths)
    return None if raw is None else field_value(" ".join(raw.split()), raw)


def decimal_of(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(raw.strip())
    except InvalidOperation:
        return None


def money_field(node: Element | None, *paths: str) -> FieldValue[Decimal] | None:
    raw = raw_text(node, *paths)
    value = decimal_of(raw)
    return None if value is None or raw is None else field_value(value, raw)


def parse_date(raw: str, fmt: str | None = None) -> date | None:
    """A date from CII (format 102 = YYYYMMDD, 610 = YYYYMM) or ISO text (UBL, ZUGFeRD 1 refs)."""
    text = raw.strip()
    try:
        if fmt == "610" and re.fullmatch(r"\d{6}", text):
            return date(int(text[:4]), int(text[4:6]), 1)
        if re.fullmatch(r"\d{8}", text):
            return datetime.strptime(text, "%Y%m%d").date()
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def document_type_for(code: str) -> DocumentType:
    """The document type of an UNTDID 1001 code (380 invoice, 381 credit note, 384 correction)."""
    if code in CREDIT_NOTE_CODES:
        return DocumentType.CREDIT_NOTE
    if code in CORRECTION_CODES:
        return DocumentType.CORRECTION
    if code in INVOICE_CODES:
        return DocumentType.INVOICE
    return DocumentType.OTHER


def type_field(code: str | None, default: DocumentType) -> FieldValue[DocumentType]:
    if code is None:
        return field_value(default, "")
    return field_value(document_type_for(code), code)


def amount_in_currency(
    node: Element | None, path: str, currency: str | None
) -> FieldValue[Decimal] | None:
    """The amount whose currencyID is the invoice currency (CII and UBL may repeat tax totals
    in the accounting currency); else the first one."""
    candidates = [e for e in all_nodes(node, path) if text_of(e)]
    if not candidates:
        return None
    chosen = next((e for e in candidates if currency and e.get("currencyID") == currency), None)
    if chosen is None:
        chosen = next((e for e in candidates if not e.get("currencyID")), candidates[0])
    raw = text_of(chosen)
    value = decimal_of(raw)
    return None if value is None else field_value(value, raw)


def address_field(node: Element | None, lines: tuple[str, ...], postcode: str, city: str,
             country: str) -> FieldValue[str] | None:  # fmt: skip
    """One-line postal address: street lines, then postcode and city, then country."""
    if node is None:
        return None
    parts = [raw_text(node, p) for p in lines]
    place = " ".join(p for p in (raw_text(node, postcode), raw_text(node, city)) if p)
    parts += [place, raw_text(node, country)]
    present = [p for p in parts if p]
    text = ", ".join(" ".join(p.split()) for p in present)
    return field_value(text, "\n".join(present)) if text else None


def joined_text(node: Element | None, path: str) -> FieldValue[str] | None:
    """All non-empty texts at `path`, one per line (several payment-terms descriptions)."""
    texts = [t for e in all_nodes(node, path) if (t := text_of(e))]
    if not texts:
        return None
    return field_value("\n".join(" ".join(t.split()) for t in texts), "\n".join(texts))


def attr_field(element: Element | None, attr: str) -> FieldValue[str] | None:
    value = None if element is None else (element.get(attr) or "").strip()
    return field_value(value, value) if value else None
