"""Structured e-invoices: UN/CEFACT CII (ZUGFeRD 1.0, ZUGFeRD 2.x, Factur-X, XRechnung) and UBL.

`parse_einvoice` maps the XML onto an `Invoice`: header fields, tax lines per rate and line items,
each value a `FieldValue` with `Method.EINVOICE_XML`. XPath is namespace-agnostic (matching on
`local-name()`), so the ZUGFeRD 1.0 namespaces, the CII D16B/D22B ones, the unprefixed
ZUGFeRD release candidate and UBL 2.x all go through the same code.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from lxml import etree

from invoices.records import (
    HEADER_FIELDS,
    DocumentType,
    FieldValue,
    Invoice,
    LineItem,
    Method,
    Provenance,
    TaxLine,
)

EXTRACTOR = "einvoice"
VERSION = "1"
CONFIDENCE = 0.99  # a value of XML that lacks one of the mandatory core elements
VALID_CONFIDENCE = 1.0  # the invoice's legal content, in XML that has them all
# EN 16931 core elements every invoice carries: number (BT-1), date (BT-2), currency (BT-5),
# amount with VAT (BT-112); XML without them is not a complete e-invoice
CORE_FIELDS = ("invoice_number", "invoice_date", "currency", "total")

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


class EInvoiceError(ValueError):
    """The bytes are not an e-invoice we can read (malformed XML or an unknown root)."""


def parse_einvoice(xml: bytes) -> Invoice:
    """The Invoice carried by CII (ZUGFeRD/Factur-X/XRechnung) or UBL XML.

    Raises EInvoiceError when the XML is malformed or neither syntax.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise EInvoiceError(f"malformed XML: {exc}") from exc
    if _first(root, "ExchangedDocument", "HeaderExchangedDocument") is not None:
        return _trusted(_parse_cii(root))
    if etree.QName(root).localname in ("Invoice", "CreditNote"):
        return _trusted(_parse_ubl(root))
    raise EInvoiceError(f"not a CII or UBL invoice: root <{etree.QName(root).localname}>")


def structurally_valid(invoice: Invoice) -> bool:
    """Whether the XML carried every core element (number, date, currency, total)."""
    return all(invoice.field(name) is not None for name in CORE_FIELDS)


def _trusted(invoice: Invoice) -> Invoice:
    """Structurally valid XML: its header values are the invoice itself (confidence 1.0)."""
    if not structurally_valid(invoice):
        return invoice
    update = {
        name: fv.with_confidence(VALID_CONFIDENCE)
        for name in HEADER_FIELDS
        if (fv := invoice.field(name)) is not None
    }
    return invoice.model_copy(update=update)


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


def _all(node: Element | None, path: str) -> list[Element]:
    return [] if node is None else list(_xpath(path)(node))


def _first(node: Element | None, *paths: str) -> Element | None:
    """The first element any of `paths` finds (in the order given)."""
    for path in paths:
        found = _all(node, path)
        if found:
            return found[0]
    return None


def _text_of(element: Element) -> str:
    return "".join(element.itertext()).strip()


def _raw(node: Element | None, *paths: str) -> str | None:
    """The stripped text of the first non-empty element any of `paths` finds."""
    for path in paths:
        for element in _all(node, path):
            text = _text_of(element)
            if text:
                return text
    return None


# --- values -------------------------------------------------------------------------------


def _provenance(raw: str) -> Provenance:
    return Provenance(method=Method.EINVOICE_XML, extractor=EXTRACTOR, version=VERSION, raw=raw)


def _fv(value: Any, raw: str) -> FieldValue[Any]:
    return FieldValue(value=value, confidence=CONFIDENCE, provenance=_provenance(raw))


def _str_field(node: Element | None, *paths: str) -> FieldValue[str] | None:
    raw = _raw(node, *paths)
    return None if raw is None else _fv(" ".join(raw.split()), raw)


def _decimal(raw: str | None) -> Decimal | None:
    if raw is None:
        return None
    try:
        return Decimal(raw.strip())
    except InvalidOperation:
        return None


def _money_field(node: Element | None, *paths: str) -> FieldValue[Decimal] | None:
    raw = _raw(node, *paths)
    value = _decimal(raw)
    return None if value is None or raw is None else _fv(value, raw)


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


def _date_field(node: Element | None, path: str) -> FieldValue[date] | None:
    """A CII date element: its DateTimeString child, or its own text (ZUGFeRD RC style)."""
    for element in _all(node, path):
        inner = _first(element, "DateTimeString")
        target = inner if inner is not None else element
        raw = _text_of(target)
        value = parse_date(raw, target.get("format")) if raw else None
        if value is not None:
            return _fv(value, raw)
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


def _type_field(code: str | None, default: DocumentType) -> FieldValue[DocumentType]:
    if code is None:
        return _fv(default, "")
    return _fv(document_type_for(code), code)


def _amount_in_currency(
    node: Element | None, path: str, currency: str | None
) -> FieldValue[Decimal] | None:
    """The amount whose currencyID is the invoice currency (CII and UBL may repeat tax totals
    in the accounting currency); else the first one."""
    candidates = [e for e in _all(node, path) if _text_of(e)]
    if not candidates:
        return None
    chosen = next((e for e in candidates if currency and e.get("currencyID") == currency), None)
    if chosen is None:
        chosen = next((e for e in candidates if not e.get("currencyID")), candidates[0])
    raw = _text_of(chosen)
    value = _decimal(raw)
    return None if value is None else _fv(value, raw)


def _address(node: Element | None, lines: tuple[str, ...], postcode: str, city: str,
             country: str) -> FieldValue[str] | None:  # fmt: skip
    """One-line postal address: street lines, then postcode and city, then country."""
    if node is None:
        return None
    parts = [_raw(node, p) for p in lines]
    place = " ".join(p for p in (_raw(node, postcode), _raw(node, city)) if p)
    parts += [place, _raw(node, country)]
    present = [p for p in parts if p]
    text = ", ".join(" ".join(p.split()) for p in present)
    return _fv(text, "\n".join(present)) if text else None


# --- CII ----------------------------------------------------------------------------------


def _parse_cii(root: Element) -> Invoice:
    doc = _first(root, "ExchangedDocument", "HeaderExchangedDocument")
    tx = _first(root, "SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
    agreement = _first(tx, "ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement")
    settlement = _first(
        tx, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement"
    )
    seller = _first(agreement, "SellerTradeParty")
    currency = _str_field(settlement, "InvoiceCurrencyCode")
    summation = _first(
        settlement,
        "SpecifiedTradeSettlementHeaderMonetarySummation",
        "SpecifiedTradeSettlementMonetarySummation",
    )
    means = "SpecifiedTradeSettlementPaymentMeans"
    return Invoice(
        document_type=_type_field(_raw(doc, "TypeCode"), DocumentType.INVOICE),
        vendor_name=_str_field(seller, "Name"),
        vendor_address=_address(
            _first(seller, "PostalTradeAddress"),
            ("LineOne", "LineTwo", "LineThree"),
            "PostcodeCode",
            "CityName",
            "CountryID",
        ),
        vendor_vat_id=_str_field(seller, "SpecifiedTaxRegistration/ID[@schemeID='VA']"),
        vendor_email=_str_field(
            seller,
            "DefinedTradeContact/EmailURIUniversalCommunication/URIID",
            "URIUniversalCommunication/URIID[@schemeID='EM']",
        ),
        iban=_str_field(settlement, f"{means}/PayeePartyCreditorFinancialAccount/IBANID"),
        bic=_str_field(settlement, f"{means}/PayeeSpecifiedCreditorFinancialInstitution/BICID"),
        buyer_name=_str_field(_first(agreement, "BuyerTradeParty"), "Name"),
        invoice_number=_str_field(doc, "ID"),
        invoice_date=_date_field(doc, "IssueDateTime"),
        due_date=_date_field(settlement, "SpecifiedTradePaymentTerms/DueDateDateTime"),
        payment_terms=_joined(settlement, "SpecifiedTradePaymentTerms/Description"),
        po_number=_str_field(
            agreement,
            "BuyerOrderReferencedDocument/IssuerAssignedID",
            "BuyerOrderReferencedDocument/ID",
        ),
        currency=currency,
        subtotal=_money_field(summation, "TaxBasisTotalAmount"),
        tax=_amount_in_currency(summation, "TaxTotalAmount", currency.value if currency else None),
        total=_money_field(summation, "GrandTotalAmount"),
        amount_due=_money_field(summation, "DuePayableAmount"),
        tax_lines=[_cii_tax_line(t) for t in _all(settlement, "ApplicableTradeTax")],
        lines=[
            line
            for item in _all(tx, "IncludedSupplyChainTradeLineItem")
            if (line := _cii_line(item)) is not None
        ],
    )


def _joined(node: Element | None, path: str) -> FieldValue[str] | None:
    """All non-empty texts at `path`, one per line (several payment-terms descriptions)."""
    texts = [t for e in _all(node, path) if (t := _text_of(e))]
    if not texts:
        return None
    return _fv("\n".join(" ".join(t.split()) for t in texts), "\n".join(texts))


def _cii_tax_line(tax: Element) -> TaxLine:
    return TaxLine(
        rate=_decimal(_raw(tax, "RateApplicablePercent", "ApplicablePercent")),
        base=_decimal(_raw(tax, "BasisAmount")),
        amount=_decimal(_raw(tax, "CalculatedAmount")),
    )


def _cii_line(item: Element) -> LineItem | None:
    """One CII line item; None for a note-only line (no product, quantity or amount)."""
    product = _first(item, "SpecifiedTradeProduct")
    agreement = _first(item, "SpecifiedLineTradeAgreement", "SpecifiedSupplyChainTradeAgreement")
    delivery = _first(item, "SpecifiedLineTradeDelivery", "SpecifiedSupplyChainTradeDelivery")
    settlement = _first(item, "SpecifiedLineTradeSettlement", "SpecifiedSupplyChainTradeSettlement")
    quantity_el = _first(delivery, "BilledQuantity")
    line = LineItem(
        description=_str_field(product, "Name"),
        sku=_str_field(product, "SellerAssignedID", "BuyerAssignedID", "GlobalID"),
        quantity=_money_field(delivery, "BilledQuantity"),
        unit=_attr_field(quantity_el, "unitCode"),
        unit_price=_money_field(agreement, "NetPriceProductTradePrice/ChargeAmount"),
        tax_rate=_money_field(
            settlement,
            "ApplicableTradeTax/RateApplicablePercent",
            "ApplicableTradeTax/ApplicablePercent",
        ),
        line_total=_money_field(settlement, "*/LineTotalAmount"),
    )
    if line.description is None and line.quantity is None and line.line_total is None:
        return None
    return line


def _attr_field(element: Element | None, attr: str) -> FieldValue[str] | None:
    value = None if element is None else (element.get(attr) or "").strip()
    return _fv(value, value) if value else None


# --- UBL ----------------------------------------------------------------------------------


def _parse_ubl(root: Element) -> Invoice:
    is_credit = etree.QName(root).localname == "CreditNote"
    seller = _first(root, "AccountingSupplierParty/Party")
    currency = _str_field(root, "DocumentCurrencyCode")
    totals = _first(root, "LegalMonetaryTotal")
    code = _raw(root, "InvoiceTypeCode", "CreditNoteTypeCode")
    document_type = _type_field(
        code, DocumentType.CREDIT_NOTE if is_credit else DocumentType.INVOICE
    )
    if is_credit and document_type.value == DocumentType.INVOICE:
        document_type = _fv(DocumentType.CREDIT_NOTE, code or "")
    account = "PaymentMeans/PayeeFinancialAccount"
    tax_total = next(
        (t for t in _all(root, "TaxTotal") if _first(t, "TaxSubtotal") is not None), None
    )
    return Invoice(
        document_type=document_type,
        vendor_name=_str_field(seller, "PartyName/Name", "PartyLegalEntity/RegistrationName"),
        vendor_address=_address(
            _first(seller, "PostalAddress"),
            ("StreetName", "AdditionalStreetName", "AddressLine/Line"),
            "PostalZone",
            "CityName",
            "Country/IdentificationCode",
        ),
        vendor_vat_id=_ubl_vat_id(seller),
        vendor_email=_str_field(seller, "Contact/ElectronicMail"),
        iban=_str_field(root, f"{account}/ID"),
        bic=_str_field(root, f"{account}/FinancialInstitutionBranch/ID"),
        buyer_name=_str_field(
            _first(root, "AccountingCustomerParty/Party"),
            "PartyName/Name",
            "PartyLegalEntity/RegistrationName",
        ),
        invoice_number=_str_field(root, "ID"),
        invoice_date=_ubl_date(root, "IssueDate"),
        due_date=_ubl_date(root, "DueDate", "PaymentMeans/PaymentDueDate"),
        payment_terms=_joined(root, "PaymentTerms/Note"),
        po_number=_str_field(root, "OrderReference/ID"),
        currency=currency,
        subtotal=_money_field(totals, "TaxExclusiveAmount"),
        tax=_amount_in_currency(root, "TaxTotal/TaxAmount", currency.value if currency else None),
        total=_money_field(totals, "TaxInclusiveAmount"),
        amount_due=_money_field(totals, "PayableAmount"),
        tax_lines=[_ubl_tax_line(t) for t in _all(tax_total, "TaxSubtotal")],
        lines=[
            _ubl_line(item) for item in _all(root, "InvoiceLine") + _all(root, "CreditNoteLine")
        ],
    )


def _ubl_vat_id(party: Element | None) -> FieldValue[str] | None:
    """The party's VAT registration (TaxScheme ID 'VAT'), else its first tax registration."""
    schemes = _all(party, "PartyTaxScheme")
    vat = [s for s in schemes if (_raw(s, "TaxScheme/ID") or "").upper() == "VAT"]
    for scheme in vat + schemes:
        field = _str_field(scheme, "CompanyID")
        if field is not None:
            return field
    return None


def _ubl_date(node: Element, *paths: str) -> FieldValue[date] | None:
    raw = _raw(node, *paths)
    value = parse_date(raw) if raw else None
    return None if value is None or raw is None else _fv(value, raw)


def _ubl_tax_line(subtotal: Element) -> TaxLine:
    return TaxLine(
        rate=_decimal(_raw(subtotal, "TaxCategory/Percent", "Percent")),
        base=_decimal(_raw(subtotal, "TaxableAmount")),
        amount=_decimal(_raw(subtotal, "TaxAmount")),
    )


def _ubl_line(line: Element) -> LineItem:
    item = _first(line, "Item")
    quantity_el = _first(line, "InvoicedQuantity", "CreditedQuantity")
    return LineItem(
        description=_str_field(item, "Name", "Description"),
        sku=_str_field(
            item,
            "SellersItemIdentification/ID",
            "BuyersItemIdentification/ID",
            "StandardItemIdentification/ID",
        ),
        quantity=_money_field(line, "InvoicedQuantity", "CreditedQuantity"),
        unit=_attr_field(quantity_el, "unitCode"),
        unit_price=_money_field(line, "Price/PriceAmount"),
        tax_rate=_money_field(item, "ClassifiedTaxCategory/Percent"),
        line_total=_money_field(line, "LineExtensionAmount"),
    )
