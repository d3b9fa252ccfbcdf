"""Document type from the document's own words: invoice, credit note, correction, statement,
reminder, receipt or other.

Cheap and explainable: weighted keyword patterns in English, German and French, counted more
in the title block (the first lines) than in the body, because a reminder or a statement
mentions "invoice" many times in its body but names itself in its title. An e-invoice type code
read by the extractor wins, since it is the issuer's own declaration.
"""

from __future__ import annotations

import re
from decimal import Decimal

from classifiers.records import DocumentTypeResult
from invoices.records import DocumentType, FieldValue, Invoice, Method, Provenance

VERSION = "doctype-rules-3"
TITLE_LINES = 12
TITLE_WEIGHT = 3.0

# (pattern, weight): weights above 1 mark words that name the document rather than mention it.
_PATTERNS: dict[DocumentType, list[tuple[str, float]]] = {
    DocumentType.INVOICE: [
        (r"\b(?:tax |commercial |vat )?invoice\b", 1.0),
        (r"\w*rechnung\b", 1.0),
        (r"\bfacture\b", 1.0),
        (r"\bbill\b", 0.5),
        (r"\bself[- ]billed invoice\b|selbst ausgestellte rechnung|autofacturation", 4.0),
    ],
    DocumentType.CREDIT_NOTE: [
        (r"\bcredit[ -](?:note|memo)\b", 3.0),
        (r"\bgutschrift\b", 2.5),
        (r"\bavoir\b|\bnote de cr[ée]dit\b", 3.0),
        # the document's number label names it ("Avoir n°", "Gutschrift-Nr.", "Credit note no.")
        (r"\b(?:avoir|gutschrifts?|credit[ -]?note)[- ]?(?:n[°o]|nr|no|number|nummer)(?!\w)", 2.0),
    ],
    DocumentType.CORRECTION: [
        (r"\bcorrected invoice\b|\binvoice correction\b|\bcorrective invoice\b", 3.5),
        (r"\bkorrekturrechnung\b|\brechnungskorrektur\b|\bstornorechnung\b", 3.5),
        (r"\bfacture rectificative\b|\bfacture corrective\b", 3.5),
        (r"\breplaces invoice\b|\bersetzt (?:die )?rechnung\b|\bannule et remplace\b", 2.0),
    ],
    DocumentType.STATEMENT: [
        (r"\b(?:statement of account|account statement|customer statement)\b", 4.0),
        (r"\bkontoauszug\b|\bkontenauszug\b|\bsaldenbest[äa]tigung\b|\bsaldenliste\b", 4.0),
        (r"\brelev[ée] de compte\b|\brelev[ée] client\b", 4.0),
        (r"\bstatement\b", 2.0),
        (r"\bopening balance\b|\bclosing balance\b|\banfangssaldo\b|\bendsaldo\b", 1.5),
    ],
    DocumentType.REMINDER: [
        (r"\b(?:payment )?reminder\b|\bpast due\b|\boverdue\b|\bfinal notice\b", 3.0),
        # "...GmbH & CoZahlungserinnerung": a title glued to a long name still names a reminder
        (r"\w*erinnerung\b|\bmahnung\b|\b\w*mahnung\b|\büberf[äa]llig\b", 3.0),
        (r"\brelance\b|\brappel\b|\bmise en demeure\b|\bimpay[ée]", 3.0),
        # the fee only a reminder charges
        (r"\bmahngeb[üu]hr|\breminder fee\b|\bfrais de relance\b", 2.0),
    ],
    DocumentType.RECEIPT: [
        (
            r"\breceipt\b|\bcash sale\b|\bchange due\b"
            r"|\bthank you for (?:your )?(?:purchase|shopping)",
            3.0,
        ),
        (r"\bquittung\b|\bkassenbon\b|\bkassenbeleg\b|\bbeleg-?nr\b|\bbar bezahlt\b", 3.0),
        # "REÇU LE 17/02/2025" is an inbound mail stamp on an invoice, not a receipt, also as a
        # scan misreads it ("RECU LF 12/01/2025", "REÇU | 12.01.25")
        (r"\bre[çc]u\b(?!\s*le\b)(?![^\w\n]*(?:l\S{0,2}[^\w\n]*)?\d)|\bticket de caisse\b", 3.0),
        (r"\bcash\b|\bchange\b|\btendered\b", 0.7),
    ],
}
# What a document says of itself in a sentence, which no other type says: a reminder of the
# earlier invoice it chases, a statement of the account it lists. Counted once wherever it
# stands, not discounted in the body as a type word is: it is there when a scan lost the title.
_SENTENCES: dict[DocumentType, list[tuple[str, float]]] = {
    DocumentType.REMINDER: [
        (
            r"\bnoch (?:nicht )?(?:offen|beglichen|bezahlt)\b|\bübersehen\b"
            r"|\bstill (?:outstanding|unpaid|open)\b|\bremains? (?:unpaid|outstanding)\b"
            r"|\bhas not (?:yet )?been (?:paid|settled)\b"
            r"|\bn'a pas (?:encore )?été (?:réglée?|payée?)\b|\btoujours impayée?"
            r"|\b(?:following|below|above|listed|enclosed)\s+invoices?\b[^.\n]{0,30}?"
            r"\b(?:is|are)\s+(?:now\s+)?(?:overdue|past\s+due)\b"
            r"|\bfolgenden?\s+rechnung(?:en)?\b[^.\n]{0,30}?\büberf[äa]llig\b"
            r"|\bfactures?\s+(?:suivantes?|ci-dessous)\b[^.\n]{0,30}?"
            r"\b(?:rest(?:e|ent)\s+impay[ée]e?s?|(?:est|sont)\s+échue?s?)",
            6.0,
        ),
    ],
    DocumentType.STATEMENT: [
        (
            r"\bopen items\b|\boffene(?:n)? posten\b|\béléments ouverts\b"
            r"|\b(?:balance|items) (?:on|of) your account\b|\bauf ihrem konto\b"
            r"|\bsur votre compte\b|\bbalance brought forward\b|\bsaldovortrag\b"
            r"|\breport (?:de|du) solde\b",
            6.0,
        ),
    ],
}
# The headings of the party billed ("Rechnung an", "Invoice to", "Bill to"): every type prints
# them, so their type word names no document.
_PARTY_HEADINGS = re.compile(r"\b(?:rechnung\s+an|invoice\s+to|bill(?:ed)?\s+to)\b", re.IGNORECASE)
_COMPILED = {
    kind: [(re.compile(p, re.IGNORECASE), w) for p, w in pats] for kind, pats in _PATTERNS.items()
}
_COMPILED_SENTENCES = {
    kind: [(re.compile(p, re.IGNORECASE), w) for p, w in pats] for kind, pats in _SENTENCES.items()
}
_SELF_BILLED = _COMPILED[DocumentType.INVOICE][-1][0]


def keyword_scores(text: str) -> dict[DocumentType, float]:
    """Weighted keyword score of every document type; title lines count `TITLE_WEIGHT` times,
    a sentence only one type says (`_SENTENCES`) once wherever it stands, and the headings of
    the party billed not at all."""
    text, scores = _sentence_scores(_PARTY_HEADINGS.sub(" ", text))
    lines = [ln for ln in text.splitlines() if ln.strip()]
    title = "\n".join(lines[:TITLE_LINES])
    body = "\n".join(lines[TITLE_LINES:])
    for kind, patterns in _COMPILED.items():
        score = scores.get(kind, 0.0)
        for pattern, weight in patterns:
            score += TITLE_WEIGHT * weight * min(len(pattern.findall(title)), 2)
            score += weight * min(len(pattern.findall(body)), 3) * 0.5
        scores[kind] = score
    # A self-billed invoice calls itself "Gutschrift" in German: it is still an invoice.
    if _SELF_BILLED.search(text):
        scores[DocumentType.CREDIT_NOTE] = 0.0
    return scores


def _sentence_scores(text: str) -> tuple[str, dict[DocumentType, float]]:
    """The score of each `_SENTENCES` type found, and the text without those sentences: the
    invoice a reminder speaks of ("the following invoice is overdue") is not its own type."""
    scores: dict[DocumentType, float] = {}
    for kind, patterns in _COMPILED_SENTENCES.items():
        for pattern, weight in patterns:
            found = pattern.search(text)
            if found is None:
                continue
            scores[kind] = scores.get(kind, 0.0) + weight
            start = max(text.rfind(".", 0, found.start()), text.rfind("\n", 0, found.start()))
            ends = [
                i for i in (text.find(".", found.end()), text.find("\n", found.end())) if i >= 0
            ]
            end = min(ends) if ends else len(text)
            text = text[: start + 1] + "-" + text[end:]
    return text, scores


def classify_document_type(invoice: Invoice | None, text: str) -> DocumentTypeResult:
    """The document type of one document, with a confidence and the evidence behind it."""
    declared = invoice.document_type if invoice is not None else None
    if declared is not None and declared.provenance.method == Method.EINVOICE_XML:
        return DocumentTypeResult(
            value=declared.value,
            confidence=max(declared.confidence, 0.95),
            evidence="e-invoice type code",
            backend="einvoice",
            model_version=VERSION,
        )
    scores = keyword_scores(text or "")
    if _is_negative(invoice):
        scores[DocumentType.CREDIT_NOTE] = scores.get(DocumentType.CREDIT_NOTE, 0.0) + 3.0
    if declared is not None:
        scores[declared.value] = scores.get(declared.value, 0.0) + 2.0 * declared.confidence
    if not any(scores.values()) and _has_invoice_fields(invoice):
        # No words to go by (a scan not yet read, a bare layout): what was extracted from it
        # has an invoice's shape, and most of what reaches AP is an invoice.
        return DocumentTypeResult(
            value=DocumentType.INVOICE,
            confidence=0.5,
            evidence="invoice fields, no keyword",
            model_version=VERSION,
        )
    return _decide(scores)


def _has_invoice_fields(invoice: Invoice | None) -> bool:
    if invoice is None:
        return False
    return bool(invoice.lines) or (
        invoice.value("total") is not None and invoice.value("invoice_number") is not None
    )


def _is_negative(invoice: Invoice | None) -> bool:
    total = invoice.value("total") if invoice is not None else None
    return isinstance(total, Decimal) and total < 0


def _decide(scores: dict[DocumentType, float]) -> DocumentTypeResult:
    best = max(scores, key=lambda k: scores[k]) if scores else DocumentType.OTHER
    if scores.get(best, 0.0) <= 0.0:
        return DocumentTypeResult(
            value=DocumentType.OTHER, confidence=0.5, evidence="no keyword", model_version=VERSION
        )
    # The winner's share of all the evidence, damped when there is little of it.
    confidence = scores[best] / (sum(scores.values()) + 1.0)
    evidence = ", ".join(f"{k.value}={v:.1f}" for k, v in sorted(scores.items()) if v > 0)
    return DocumentTypeResult(
        value=best, confidence=round(confidence, 4), evidence=evidence, model_version=VERSION
    )


# UNTDID 1001 document name codes used by EN 16931 / ZUGFeRD / Factur-X / XRechnung.
_CREDIT_CODES = {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
_CORRECTION_CODES = {"384", "385", "386"}
_INVOICE_CODES = {
    "71",
    "80",
    "82",
    "84",
    "102",
    "130",
    "202",
    "203",
    "204",
    "211",
    "218",
    "219",
    "295",
    "325",
    "326",
    "331",
    "380",
    "382",
    "383",
    "387",
    "388",
    "389",
    "390",
    "393",
    "394",
    "395",
    "456",
    "457",
    "527",
    "575",
    "623",
    "633",
    "751",
    "780",
    "817",
    "870",
    "875",
    "876",
    "877",
    "935",
}


def document_type_from_code(code: str) -> DocumentType:
    """The document type of an e-invoice type code (UNTDID 1001)."""
    code = code.strip()
    if code in _CREDIT_CODES:
        return DocumentType.CREDIT_NOTE
    if code in _CORRECTION_CODES:
        return DocumentType.CORRECTION
    if code in _INVOICE_CODES:
        return DocumentType.INVOICE
    return DocumentType.OTHER


def reconcile_document_type(
    extracted: FieldValue[DocumentType] | None, classified: DocumentTypeResult
) -> tuple[FieldValue[DocumentType] | None, bool]:
    """The type to record when the extraction's reading (the title) and the classifier's
    (which weighed that reading with every type word of the text and the total's sign)
    disagree, and whether they did.

    The classifier's answer is kept, since the cascade already routes and codes by it (a
    statement is no bill whatever its title said), but at a confidence no higher than the
    doubt the extraction leaves about its own reading: a type two readers disagree on is
    never auto-accepted, and the document goes to a clerk (DOCUMENT_TYPE_UNCERTAIN) before an
    invoice is booked as a credit note or the other way round. An e-invoice's type code is
    the issuer's declaration: nothing to reconcile.
    """
    if extracted is None or extracted.provenance.method == Method.EINVOICE_XML:
        return extracted, False
    if classified.value == extracted.value:
        return extracted, False
    confidence = min(classified.confidence, 1.0 - extracted.confidence)
    return (
        FieldValue(
            value=classified.value,
            confidence=round(max(0.0, confidence), 4),
            provenance=Provenance(
                method=Method.RULE,
                extractor=f"classifiers.{classified.backend}",
                version=classified.model_version,
                raw=(
                    f"title read as {extracted.value.value} ({extracted.confidence:.4f}); "
                    f"text: {classified.evidence}"
                )[:200],
            ),
        ),
        True,
    )
