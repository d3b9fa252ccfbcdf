"""Structured e-invoices: UN/CEFACT CII (ZUGFeRD 1.0, ZUGFeRD 2.x, Factur-X, XRechnung) and UBL.

`parse_einvoice` maps the XML onto an `Invoice`: header fields, tax lines per rate and line items,
each value a `FieldValue` with `Method.EINVOICE_XML`. XPath is namespace-agnostic (matching on
`local-name()`), so the ZUGFeRD 1.0 namespaces, the CII D16B/D22B ones, the unprefixed
ZUGFeRD release candidate and UBL 2.x all go through the same code.

This module holds the entry point: it tells the two syntaxes apart and trusts the header values
of structurally valid XML. The CII mapping is in `extractors.text.einvoice_cii`, the UBL one in
`extractors.text.einvoice_ubl`, the XPath and value helpers both use in
`extractors.text.einvoice_xml`.
"""

from __future__ import annotations

from lxml import etree

from extractors.text.einvoice_cii import parse_cii
from extractors.text.einvoice_ubl import parse_ubl
from extractors.text.einvoice_xml import first_node
from invoices.records import HEADER_FIELDS, Invoice

VALID_CONFIDENCE = 1.0  # the invoice's legal content, in XML that has them all
# EN 16931 core elements every invoice carries: number (BT-1), date (BT-2), currency (BT-5),
# amount with VAT (BT-112); XML without them is not a complete e-invoice
CORE_FIELDS = ("invoice_number", "invoice_date", "currency", "total")


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
    if first_node(root, "ExchangedDocument", "HeaderExchangedDocument") is not None:
        return _trusted(parse_cii(root))
    if etree.QName(root).localname in ("Invoice", "CreditNote"):
        return _trusted(parse_ubl(root))
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
