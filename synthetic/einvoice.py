"""Structured e-invoices: the CII XML (Factur-X / ZUGFeRD, profile EN 16931) of an invoice.

Some EU vendors attach it to their PDF, as German and French suppliers increasingly do. The
XML states exactly what the PDF prints, so the visual path and the XML path can be compared
on the same documents.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date
from decimal import Decimal

from synthetic.identity import Address
from synthetic.model import DocSpec, Line

NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
for _prefix, _uri in NS.items():
    ET.register_namespace(_prefix, _uri)

ATTACHMENT_NAME = {"DE": "zugferd-invoice.xml", "AT": "zugferd-invoice.xml"}
DEFAULT_ATTACHMENT = "factur-x.xml"
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
UNIT_CODES = {
    "h": "HUR",
    "Std.": "HUR",
    "kg": "KGM",
    "kWh": "KWH",
    "m3": "MTQ",
    "day": "DAY",
    "Tag": "DAY",
    "jour": "DAY",
    "month": "MON",
    "Monat": "MON",
    "mois": "MON",
}


def _q(tag: str) -> str:
    prefix, name = tag.split(":")
    return f"{{{NS[prefix]}}}{name}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, _q(tag), attrs)
    if text is not None:
        el.text = text
    return el


def _date(parent: ET.Element, tag: str, value: date) -> None:
    holder = _sub(parent, tag)
    _sub(holder, "udt:DateTimeString", value.strftime("%Y%m%d"), format="102")


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _party(
    parent: ET.Element, tag: str, name: str, spec_address: Address, vat_id: str | None
) -> None:
    party = _sub(parent, tag)
    _sub(party, "ram:Name", name)
    addr = _sub(party, "ram:PostalTradeAddress")
    _sub(addr, "ram:PostcodeCode", spec_address.postcode)
    _sub(addr, "ram:LineOne", spec_address.street)
    _sub(addr, "ram:CityName", spec_address.city)
    _sub(addr, "ram:CountryID", spec_address.country)
    if vat_id:
        _sub(_sub(party, "ram:SpecifiedTaxRegistration"), "ram:ID", vat_id, schemeID="VA")


def _line(parent: ET.Element, ln: Line) -> None:
    item = _sub(parent, "ram:IncludedSupplyChainTradeLineItem")
    _sub(_sub(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(ln.line_no))
    product = _sub(item, "ram:SpecifiedTradeProduct")
    _sub(product, "ram:SellerAssignedID", ln.sku)
    _sub(product, "ram:Name", ln.description)
    price = _sub(_sub(item, "ram:SpecifiedLineTradeAgreement"), "ram:NetPriceProductTradePrice")
    _sub(price, "ram:ChargeAmount", _amount(ln.unit_price))
    _sub(
        _sub(item, "ram:SpecifiedLineTradeDelivery"),
        "ram:BilledQuantity",
        str(ln.quantity),
        unitCode=UNIT_CODES.get(ln.unit, "C62"),
    )
    settlement = _sub(item, "ram:SpecifiedLineTradeSettlement")
    tax = _sub(settlement, "ram:ApplicableTradeTax")
    _sub(tax, "ram:TypeCode", "VAT")
    _sub(tax, "ram:CategoryCode", "S" if ln.tax_rate else "Z")
    _sub(tax, "ram:RateApplicablePercent", str(ln.tax_rate))
    total = _sub(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
    _sub(total, "ram:LineTotalAmount", _amount(ln.total))


def _settlement(parent: ET.Element, spec: DocSpec) -> None:
    t = spec.totals
    assert t is not None
    settle = _sub(parent, "ram:ApplicableHeaderTradeSettlement")
    _sub(settle, "ram:InvoiceCurrencyCode", spec.currency)
    if spec.iban:
        means = _sub(settle, "ram:SpecifiedTradeSettlementPaymentMeans")
        _sub(means, "ram:TypeCode", "58")
        _sub(_sub(means, "ram:PayeePartyCreditorFinancialAccount"), "ram:IBANID", spec.iban)
    for rate, base, amount in t.tax_lines:
        tax = _sub(settle, "ram:ApplicableTradeTax")
        _sub(tax, "ram:CalculatedAmount", _amount(amount))
        _sub(tax, "ram:TypeCode", "VAT")
        _sub(tax, "ram:BasisAmount", _amount(base))
        _sub(tax, "ram:CategoryCode", "S" if rate else "Z")
        _sub(tax, "ram:RateApplicablePercent", str(rate))
    if spec.due_date and spec.document_type == "invoice":
        _date(_sub(settle, "ram:SpecifiedTradePaymentTerms"), "ram:DueDateDateTime", spec.due_date)
    sums = _sub(settle, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _sub(sums, "ram:LineTotalAmount", _amount(t.subtotal))
    _sub(sums, "ram:TaxBasisTotalAmount", _amount(t.subtotal))
    _sub(sums, "ram:TaxTotalAmount", _amount(t.tax), currencyID=spec.currency)
    if t.rounding:
        _sub(sums, "ram:RoundingAmount", _amount(t.rounding))
    _sub(sums, "ram:GrandTotalAmount", _amount(t.total))
    _sub(sums, "ram:TotalPrepaidAmount", _amount(t.prepaid))
    _sub(sums, "ram:DuePayableAmount", _amount(t.amount_due))


def cii_xml(spec: DocSpec) -> bytes:
    """The CII XML of an invoice or credit note, stating what its PDF prints."""
    root = ET.Element(_q("rsm:CrossIndustryInvoice"))
    context = _sub(root, "rsm:ExchangedDocumentContext")
    guideline = _sub(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _sub(guideline, "ram:ID", "urn:cen.eu:en16931:2017")
    doc = _sub(root, "rsm:ExchangedDocument")
    _sub(doc, "ram:ID", spec.number or "")
    _sub(doc, "ram:TypeCode", TYPE_CODES[spec.document_type])
    _date(doc, "ram:IssueDateTime", spec.issue_date)
    trade = _sub(root, "rsm:SupplyChainTradeTransaction")
    for ln in spec.lines:
        _line(trade, ln)
    agreement = _sub(trade, "ram:ApplicableHeaderTradeAgreement")
    _party(
        agreement, "ram:SellerTradeParty", spec.vendor.name, spec.vendor.address, spec.vendor_vat_id
    )
    _party(agreement, "ram:BuyerTradeParty", spec.buyer.name, spec.buyer.address, None)
    if spec.po_number:
        order = _sub(agreement, "ram:BuyerOrderReferencedDocument")
        _sub(order, "ram:IssuerAssignedID", spec.po_number)
    _sub(trade, "ram:ApplicableHeaderTradeDelivery")
    _settlement(trade, spec)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def attachment_name(spec: DocSpec) -> str:
    """The file name the standard of the vendor's country uses for the attachment."""
    return ATTACHMENT_NAME.get(spec.vendor.address.country, DEFAULT_ATTACHMENT)
