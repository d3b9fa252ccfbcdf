"""The e-invoice parser (CII and UBL) scored against the labelled ZUGFeRD/Factur-X/XRechnung set.

The labels were mapped from the very XML files parsed here, by other people, so agreement
measures the parser's mapping of every field rather than re-stating it.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from extractors.text.einvoice import EInvoiceError, parse_einvoice
from extractors.text.einvoice_xml import document_type_for, parse_date
from invoices.records import DocumentType, Method

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "zugferd"
HEADER = (
    "vendor_name",
    "vendor_vat_id",
    "buyer_name",
    "invoice_number",
    "invoice_date",
    "due_date",
    "currency",
    "subtotal",
    "tax",
    "total",
    "amount_due",
    "po_number",
)
LINE = ("description", "quantity", "unit_price", "line_total")

needs_eval = pytest.mark.skipif(not EVAL.is_dir(), reason=f"no eval set at {EVAL}")


def _norm(value: object) -> str | None:
    """Labels and predictions normalised alike: money at cents, dates ISO, text case-folded."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float | Decimal):
        return f"{Decimal(str(value)):.2f}"
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split()).casefold()


def _labelled() -> list[tuple[dict, bytes]]:
    cases = []
    for label_path in sorted((EVAL / "labels").glob("*.json")):
        label = json.loads(label_path.read_text())
        xml = EVAL / label["original_labels"]["xml_file"]
        cases.append((label, xml.read_bytes()))
    return cases


def _score(cases: list[tuple[dict, bytes]]) -> tuple[int, int, int, int, list[str]]:
    header_ok = header_n = line_ok = line_n = 0
    misses: list[str] = []
    for label, xml in cases:
        invoice = parse_einvoice(xml)
        for name in HEADER:
            header_n += 1
            got, want = _norm(invoice.value(name)), _norm(label["fields"].get(name))
            header_ok += got == want
            if got != want:
                misses.append(f"{label['doc_id']}.{name}: {got!r} != {want!r}")
        wanted = [li for li in label["line_items"] or [] if any(li[k] is not None for k in LINE)]
        for i, want_line in enumerate(wanted):
            got_line = invoice.lines[i] if i < len(invoice.lines) else None
            for key in LINE:
                fv = getattr(got_line, key, None) if got_line else None
                got, want = _norm(fv.value if fv else None), _norm(want_line[key])
                line_n += 1
                line_ok += got == want
                if got != want:
                    misses.append(f"{label['doc_id']}.line{i}.{key}: {got!r} != {want!r}")
    return header_ok, header_n, line_ok, line_n, misses


@needs_eval
def test_parser_agrees_with_zugferd_labels() -> None:
    cases = _labelled()
    assert len(cases) >= 50
    header_ok, header_n, line_ok, line_n, misses = _score(cases)
    header_rate, line_rate = header_ok / header_n, line_ok / line_n
    print(f"header agreement {header_rate:.4f} ({header_ok}/{header_n}); "
          f"line items {line_rate:.4f} ({line_ok}/{line_n})")  # fmt: skip
    assert header_rate >= 0.99, misses[:20]
    assert line_rate >= 0.97, misses[:20]


@needs_eval
def test_document_type_code_kept_as_raw_and_mapped() -> None:
    for label, xml in _labelled():
        invoice = parse_einvoice(xml)
        code = label["fields"]["document_type_code"]
        assert invoice.document_type is not None
        assert invoice.document_type.provenance.raw == code
        assert invoice.document_type.value == document_type_for(code)


@needs_eval
def test_values_carry_einvoice_provenance() -> None:
    label, xml = _labelled()[0]
    invoice = parse_einvoice(xml)
    assert invoice.total is not None
    assert invoice.total.provenance.method == Method.EINVOICE_XML
    assert invoice.total.provenance.extractor == "einvoice"
    assert invoice.total.confidence == 1.0  # structurally valid: the invoice's legal content
    assert invoice.total.provenance.raw and invoice.total.provenance.raw in xml.decode("utf-8")
    assert isinstance(invoice.total.value, Decimal)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("380", DocumentType.INVOICE),
        ("389", DocumentType.INVOICE),
        ("381", DocumentType.CREDIT_NOTE),
        ("384", DocumentType.CORRECTION),
        ("999", DocumentType.OTHER),
    ],
)
def test_type_codes(code: str, expected: DocumentType) -> None:
    assert document_type_for(code) == expected


@pytest.mark.parametrize(
    ("raw", "fmt", "expected"),
    [
        ("20130605", "102", date(2013, 6, 5)),
        ("201306", "610", date(2013, 6, 1)),
        ("2013-03-01T00:00:00", None, date(2013, 3, 1)),
        ("2024-02-30", None, None),
    ],
)
def test_parse_date(raw: str, fmt: str | None, expected: date | None) -> None:
    assert parse_date(raw, fmt) == expected


UBL_CREDIT_NOTE = b"""<?xml version="1.0" encoding="UTF-8"?>
<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID>CN-77</cbc:ID><cbc:IssueDate>2024-05-02</cbc:IssueDate>
 <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
 <cac:OrderReference><cbc:ID>PO-9</cbc:ID></cac:OrderReference>
 <cac:AccountingSupplierParty><cac:Party>
  <cac:PostalAddress><cbc:StreetName>Main St 1</cbc:StreetName><cbc:CityName>Berlin</cbc:CityName>
   <cbc:PostalZone>10115</cbc:PostalZone><cac:Country><cbc:IdentificationCode>DE</cbc:IdentificationCode></cac:Country>
  </cac:PostalAddress>
  <cac:PartyTaxScheme><cbc:CompanyID>DE111</cbc:CompanyID><cac:TaxScheme><cbc:ID>FC</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
  <cac:PartyTaxScheme><cbc:CompanyID>DE123456789</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
  <cac:PartyLegalEntity><cbc:RegistrationName>Seller AG</cbc:RegistrationName></cac:PartyLegalEntity>
  <cac:Contact><cbc:ElectronicMail>ap@seller.example</cbc:ElectronicMail></cac:Contact>
 </cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party><cac:PartyName><cbc:Name>Buyer Ltd</cbc:Name></cac:PartyName></cac:Party></cac:AccountingCustomerParty>
 <cac:PaymentMeans><cac:PayeeFinancialAccount><cbc:ID>DE89370400440532013000</cbc:ID>
  <cac:FinancialInstitutionBranch><cbc:ID>COBADEFFXXX</cbc:ID></cac:FinancialInstitutionBranch></cac:PayeeFinancialAccount></cac:PaymentMeans>
 <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">19.00</cbc:TaxAmount>
  <cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">100.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="EUR">19.00</cbc:TaxAmount>
   <cac:TaxCategory><cbc:Percent>19</cbc:Percent></cac:TaxCategory></cac:TaxSubtotal></cac:TaxTotal>
 <cac:LegalMonetaryTotal><cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
  <cbc:TaxInclusiveAmount currencyID="EUR">119.00</cbc:TaxInclusiveAmount><cbc:PayableAmount currencyID="EUR">119.00</cbc:PayableAmount>
 </cac:LegalMonetaryTotal>
 <cac:CreditNoteLine><cbc:CreditedQuantity unitCode="H87">4</cbc:CreditedQuantity>
  <cbc:LineExtensionAmount currencyID="EUR">100.00</cbc:LineExtensionAmount>
  <cac:Item><cbc:Name>Widget</cbc:Name><cac:SellersItemIdentification><cbc:ID>W-1</cbc:ID></cac:SellersItemIdentification>
   <cac:ClassifiedTaxCategory><cbc:Percent>19</cbc:Percent></cac:ClassifiedTaxCategory></cac:Item>
  <cac:Price><cbc:PriceAmount currencyID="EUR">25.00</cbc:PriceAmount></cac:Price></cac:CreditNoteLine>
</CreditNote>"""  # noqa: E501


def test_ubl_credit_note() -> None:
    invoice = parse_einvoice(UBL_CREDIT_NOTE)
    assert invoice.value("document_type") == DocumentType.CREDIT_NOTE
    assert invoice.value("invoice_number") == "CN-77"
    assert invoice.value("invoice_date") == date(2024, 5, 2)
    assert invoice.value("vendor_name") == "Seller AG"
    assert invoice.value("vendor_vat_id") == "DE123456789"
    assert invoice.value("vendor_email") == "ap@seller.example"
    assert invoice.value("vendor_address") == "Main St 1, 10115 Berlin, DE"
    assert invoice.value("buyer_name") == "Buyer Ltd"
    assert invoice.value("iban") == "DE89370400440532013000"
    assert invoice.value("bic") == "COBADEFFXXX"
    assert invoice.value("po_number") == "PO-9"
    assert (invoice.value("subtotal"), invoice.value("tax"), invoice.value("total")) == (
        Decimal("100.00"),
        Decimal("19.00"),
        Decimal("119.00"),
    )
    assert invoice.tax_lines[0].rate == Decimal("19")
    (line,) = invoice.lines
    assert line.description and line.description.value == "Widget"
    assert line.sku and line.sku.value == "W-1"
    assert line.quantity and line.quantity.value == Decimal("4")
    assert line.unit and line.unit.value == "H87"
    assert line.unit_price and line.unit_price.value == Decimal("25.00")


def test_malformed_xml_raises_typed_error() -> None:
    with pytest.raises(EInvoiceError):
        parse_einvoice(b"<CrossIndustryInvoice><unclosed>")
    with pytest.raises(EInvoiceError):
        parse_einvoice(b"<Order/>")


def test_xml_without_a_core_element_is_not_fully_trusted() -> None:
    xml = (
        b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
        b'CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:'
        b'ReusableAggregateBusinessInformationEntity:100"><rsm:ExchangedDocument>'
        b"<ram:ID>R-1</ram:ID><ram:TypeCode>380</ram:TypeCode></rsm:ExchangedDocument>"
        b"</rsm:CrossIndustryInvoice>"
    )
    invoice = parse_einvoice(xml)
    assert invoice.invoice_number is not None and invoice.invoice_number.value == "R-1"
    assert invoice.invoice_number.confidence < 1.0
