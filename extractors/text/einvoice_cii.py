"""CII e-invoices (ZUGFeRD 1.0, ZUGFeRD 2.x, Factur-X, XRechnung) onto an `Invoice`.

`parse_cii` reads the header (document, seller and buyer, payment, totals), the tax lines per
rate and the line items of a CrossIndustryInvoice (or ZUGFeRD 1.0 CrossIndustryDocument), with
the element names of both generations. Called by `extractors.text.einvoice.parse_einvoice`.
"""

from __future__ import annotations

from datetime import date

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
    text_of,
    type_field,
)
from invoices.records import DocumentType, FieldValue, Invoice, LineItem, TaxLine


def parse_cii(root: Element) -> Invoice:
    doc = first_node(root, "ExchangedDocument", "HeaderExchangedDocument")
    tx = first_node(root, "SupplyChainTradeTransaction", "SpecifiedSupplyChainTradeTransaction")
    agreement = first_node(
        tx, "ApplicableHeaderTradeAgreement", "ApplicableSupplyChainTradeAgreement"
    )
    settlement = first_node(
        tx, "ApplicableHeaderTradeSettlement", "ApplicableSupplyChainTradeSettlement"
    )
    seller = first_node(agreement, "SellerTradeParty")
    currency = str_field(settlement, "InvoiceCurrencyCode")
    summation = first_node(
        settlement,
        "SpecifiedTradeSettlementHeaderMonetarySummation",
        "SpecifiedTradeSettlementMonetarySummation",
    )
    means = "SpecifiedTradeSettlementPaymentMeans"
    return Invoice(
        document_type=type_field(raw_text(doc, "TypeCode"), DocumentType.INVOICE),
        vendor_name=str_field(seller, "Name"),
        vendor_address=address_field(
            first_node(seller, "PostalTradeAddress"),
            ("LineOne", "LineTwo", "LineThree"),
            "PostcodeCode",
            "CityName",
            "CountryID",
        ),
        vendor_vat_id=str_field(seller, "SpecifiedTaxRegistration/ID[@schemeID='VA']"),
        vendor_email=str_field(
            seller,
            "DefinedTradeContact/EmailURIUniversalCommunication/URIID",
            "URIUniversalCommunication/URIID[@schemeID='EM']",
        ),
        iban=str_field(settlement, f"{means}/PayeePartyCreditorFinancialAccount/IBANID"),
        bic=str_field(settlement, f"{means}/PayeeSpecifiedCreditorFinancialInstitution/BICID"),
        buyer_name=str_field(first_node(agreement, "BuyerTradeParty"), "Name"),
        invoice_number=str_field(doc, "ID"),
        invoice_date=_date_field(doc, "IssueDateTime"),
        due_date=_date_field(settlement, "SpecifiedTradePaymentTerms/DueDateDateTime"),
        payment_terms=joined_text(settlement, "SpecifiedTradePaymentTerms/Description"),
        po_number=str_field(
            agreement,
            "BuyerOrderReferencedDocument/IssuerAssignedID",
            "BuyerOrderReferencedDocument/ID",
        ),
        currency=currency,
        subtotal=money_field(summation, "TaxBasisTotalAmount"),
        tax=amount_in_currency(summation, "TaxTotalAmount", currency.value if currency else None),
        total=money_field(summation, "GrandTotalAmount"),
        amount_due=money_field(summation, "DuePayableAmount"),
        tax_lines=[_cii_tax_line(t) for t in all_nodes(settlement, "ApplicableTradeTax")],
        lines=[
            line
            for item in all_nodes(tx, "IncludedSupplyChainTradeLineItem")
            if (line := _cii_line(item)) is not None
        ],
    )


def _cii_tax_line(tax: Element) -> TaxLine:
    return TaxLine(
        rate=decimal_of(raw_text(tax, "RateApplicablePercent", "ApplicablePercent")),
        base=decimal_of(raw_text(tax, "BasisAmount")),
        amount=decimal_of(raw_text(tax, "CalculatedAmount")),
    )


def _cii_line(item: Element) -> LineItem | None:
    """One CII line item; None for a note-only line (no product, quantity or amount)."""
    product = first_node(item, "SpecifiedTradeProduct")
    agreement = first_node(
        item, "SpecifiedLineTradeAgreement", "SpecifiedSupplyChainTradeAgreement"
    )
    delivery = first_node(item, "SpecifiedLineTradeDelivery", "SpecifiedSupplyChainTradeDelivery")
    settlement = first_node(
        item, "SpecifiedLineTradeSettlement", "SpecifiedSupplyChainTradeSettlement"
    )
    quantity_el = first_node(delivery, "BilledQuantity")
    line = LineItem(
        description=str_field(product, "Name"),
        sku=str_field(product, "SellerAssignedID", "BuyerAssignedID", "GlobalID"),
        quantity=money_field(delivery, "BilledQuantity"),
        unit=attr_field(quantity_el, "unitCode"),
        unit_price=money_field(agreement, "NetPriceProductTradePrice/ChargeAmount"),
        tax_rate=money_field(
            settlement,
            "ApplicableTradeTax/RateApplicablePercent",
            "ApplicableTradeTax/ApplicablePercent",
        ),
        line_total=money_field(settlement, "*/LineTotalAmount"),
    )
    if line.description is None and line.quantity is None and line.line_total is None:
        return None
    return line


def _date_field(node: Element | None, path: str) -> FieldValue[date] | None:
    """A CII date element: its DateTimeString child, or its own text (ZUGFeRD RC style)."""
    for element in all_nodes(node, path):
        inner = first_node(element, "DateTimeString")
        target = inner if inner is not None else element
        raw = text_of(target)
        value = parse_date(raw, target.get("format")) if raw else None
        if value is not None:
            return field_value(value, raw)
    return None
