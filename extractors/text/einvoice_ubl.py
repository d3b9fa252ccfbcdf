"""UBL 2.x e-invoices (Invoice and CreditNote) onto an `Invoice`.

`parse_ubl` reads the header (document type, supplier and customer, payment, totals), the tax
subtotals per rate and the invoice or credit-note lines. Called by
`extractors.text.einvoice.parse_einvoice`.
"""

from __future__ import annotations

from datetime import date

from lxml import etree

from extractors.text.einvoice_xml import (
    Element,
    address_field,
    all_nodes,
    amount_in_currency,
    attr_field,
    decimal_of,
    field_value,
    first_node,
    joined_text,
    money_field,
    parse_date,
    raw_text,
    str_field,
    type_field,
)
from invoices.records import DocumentType, FieldValue, Invoice, LineItem, TaxLine


def parse_ubl(root: Element) -> Invoice:
    is_credit = etree.QName(root).localname == "CreditNote"
    seller = first_node(root, "AccountingSupplierParty/Party")
    currency = str_field(root, "DocumentCurrencyCode")
    totals = first_node(root, "LegalMonetaryTotal")
    code = raw_text(root, "InvoiceTypeCode", "CreditNoteTypeCode")
    document_type = type_field(
        code, DocumentType.CREDIT_NOTE if is_credit else DocumentType.INVOICE
    )
    if is_credit and document_type.value == DocumentType.INVOICE:
        document_type = field_value(DocumentType.CREDIT_NOTE, code or "")
    account = "PaymentMeans/PayeeFinancialAccount"
    tax_total = next(
        (t for t in all_nodes(root, "TaxTotal") if first_node(t, "TaxSubtotal") is not None), None
    )
    return Invoice(
        document_type=document_type,
        vendor_name=str_field(seller, "PartyName/Name", "PartyLegalEntity/RegistrationName"),
        vendor_address=address_field(
            first_node(seller, "PostalAddress"),
            ("StreetName", "AdditionalStreetName", "AddressLine/Line"),
            "PostalZone",
            "CityName",
            "Country/IdentificationCode",
        ),
        vendor_vat_id=_ubl_vat_id(seller),
        vendor_email=str_field(seller, "Contact/ElectronicMail"),
        iban=str_field(root, f"{account}/ID"),
        bic=str_field(root, f"{account}/FinancialInstitutionBranch/ID"),
        buyer_name=str_field(
            first_node(root, "AccountingCustomerParty/Party"),
            "PartyName/Name",
            "PartyLegalEntity/RegistrationName",
        ),
        invoice_number=str_field(root, "ID"),
        invoice_date=_ubl_date(root, "IssueDate"),
        due_date=_ubl_date(root, "DueDate", "PaymentMeans/PaymentDueDate"),
        payment_terms=joined_text(root, "PaymentTerms/Note"),
        po_number=str_field(root, "OrderReference/ID"),
        currency=currency,
        subtotal=money_field(totals, "TaxExclusiveAmount"),
        tax=amount_in_currency(root, "TaxTotal/TaxAmount", currency.value if currency else None),
        total=money_field(totals, "TaxInclusiveAmount"),
        amount_due=money_field(totals, "PayableAmount"),
        tax_lines=[_ubl_tax_line(t) for t in all_nodes(tax_total, "TaxSubtotal")],
        lines=[
            _ubl_line(item)
            for item in all_nodes(root, "InvoiceLine") + all_nodes(root, "CreditNoteLine")
        ],
    )


def _ubl_vat_id(party: Element | None) -> FieldValue[str] | None:
    """The party's VAT registration (TaxScheme ID 'VAT'), else its first tax registration."""
    schemes = all_nodes(party, "PartyTaxScheme")
    vat = [s for s in schemes if (raw_text(s, "TaxScheme/ID") or "").upper() == "VAT"]
    for scheme in vat + schemes:
        field = str_field(scheme, "CompanyID")
        if field is not None:
            return field
    return None


def _ubl_date(node: Element, *paths: str) -> FieldValue[date] | None:
    raw = raw_text(node, *paths)
    value = parse_date(raw) if raw else None
    return None if value is None or raw is None else field_value(value, raw)


def _ubl_tax_line(subtotal: Element) -> TaxLine:
    return TaxLine(
        rate=decimal_of(raw_text(subtotal, "TaxCategory/Percent", "Percent")),
        base=decimal_of(raw_text(subtotal, "TaxableAmount")),
        amount=decimal_of(raw_text(subtotal, "TaxAmount")),
    )


def _ubl_line(line: Element) -> LineItem:
    item = first_node(line, "Item")
    quantity_el = first_node(line, "InvoicedQuantity", "CreditedQuantity")
    return LineItem(
        description=str_field(item, "Name", "Description"),
        sku=str_field(
            item,
            "SellersItemIdentification/ID",
            "BuyersItemIdentification/ID",
            "StandardItemIdentification/ID",
        ),
        quantity=money_field(line, "InvoicedQuantity", "CreditedQuantity"),
        unit=attr_field(quantity_el, "unitCode"),
        unit_price=money_field(line, "Price/PriceAmount"),
        tax_rate=money_field(item, "ClassifiedTaxCategory/Percent"),
        line_total=money_field(line, "LineExtensionAmount"),
    )
