"""The document type as the document's title names it, not as any word on the page does.

A type word turns up in much besides the title: a letterhead line ("Invoices and credit notes
to: ..."), an e-mail address ("invoices@..."), a label ("Rechnungsdatum"), the rows of a
statement. The title is a segment that is the type phrase alone (with a qualifier such as "Tax"
or "1." and its number: "Invoice No. 123", "Gutschrift-Nr."), the largest of them when several
are printed. Without a title, another type word elsewhere still gives the type, with weaker
evidence (its confidence stays below auto-accept); else the document is taken for an invoice.
"""

from __future__ import annotations

import re

from extractors.fields.search import Candidate
from extractors.layout.lines import Line, Segment
from invoices.records import DocumentType

HEAD_LINES = 40
TITLE_WEIGHT = 0.9  # a title, or the type word of the number's label
MENTION_WEIGHT = 0.2  # a type word elsewhere, read past the words around it: weak evidence
DEFAULT_WEIGHT = 0.3  # no type word at all

# checked in this order: a correction's title contains "Rechnung", a credit note's "note"
DOC_TYPES: list[tuple[DocumentType, str]] = [
    (DocumentType.CREDIT_NOTE, r"gutschrift|credit\s*note|avoir|creditnota|korekta|storno"),
    (
        DocumentType.CORRECTION,
        r"rechnungskorrektur|korrekturrechnung|corrected\s*invoice|facture\s*rectificative",
    ),
    (
        DocumentType.REMINDER,
        r"zahlungserinnerung|mahnung|(?:payment\s*)?reminder|"
        r"(?:relance|rappel)\s*de\s*paiement|relance",
    ),
    (
        DocumentType.STATEMENT,
        r"kontoauszug|(?:account\s*)?statement(?:\s*of\s*account)?|relev[ée](?:\s*de\s*compte)?",
    ),
    (DocumentType.INVOICE, r"rechnung|invoice|facture|factuur|faktura|bill\b|fattura"),
    (DocumentType.RECEIPT, r"receipt|quittung|kassenbon|re[çc]u|cash\s*sale|tax\s*invoice"),
]
_COMPILED = [(t, re.compile(rf"(?<![\w@.]){p}", re.I)) for t, p in DOC_TYPES]

# words a title carries besides the type ("Tax invoice", "1. Mahnung", "Final reminder")
_QUALIFIER = re.compile(
    r"\b(?:tax|vat|commercial|pro\s*-?\s*forma|proforma|final|first|second|third|1st|2nd|3rd|"
    r"erste|zweite|dritte|letzte|premi[eè]re|deuxi[eè]me|derni[eè]re|copy|kopie|copie|"
    r"duplicate|duplikat|duplicata|original)\b|\b\d\.\s*",
    re.I,
)
# the number's label after the type word ("Rechnungsnummer", "Invoice No. 123", "Avoir n°")
_NUMBER_AFTER = re.compile(
    r"^s?[\s.-]*(?:n[°or]\.?|nr\.?|no\.?|nummer|number|num[ée]ro|#)\s*[:.]?\s*(?:\S*\d\S*)?\s*$",
    re.I,
)
# the number's label before it ("N° d'avoir", "Numéro de facture")
_NUMBER_BEFORE = re.compile(r"(?:n[°o]\.?|num[ée]ro)\s*(?:de\s+|d['’]\s*)?$", re.I)
_WEB = re.compile(r"@|\bwww\.|https?:|\.(?:com|de|fr|net|org|eu)\b", re.I)
# an inbound mail stamp ("REÇU LE 17/02/2025", misread "RECU LF 12/01/2025"): no receipt's title
_MAIL_STAMP = re.compile(r"\bre[çc]u[^\w\n]*(?:l\S{0,2}[^\w\n]*)?\d", re.I)


def _type_of(text: str) -> tuple[DocumentType, re.Match[str]] | None:
    for doc_type, pattern in _COMPILED:
        match = pattern.search(text)
        if match is not None:
            return doc_type, match
    return None


def is_title(text: str, match: re.Match[str]) -> bool:
    """Whether a segment is a title: the type phrase alone, with qualifiers, a number label
    and the number around it, and nothing else."""
    before, after = text[: match.start()], text[match.end() :]
    if re.match(r"[^\W\d_]", after) and not _NUMBER_AFTER.match(after):
        return False  # the word goes on: "Invoices", "Rechnungsdatum"
    before = _NUMBER_BEFORE.sub("", _QUALIFIER.sub(" ", before))
    after = _QUALIFIER.sub(" ", after)
    if _NUMBER_AFTER.match(after):
        after = ""
    return not re.search(r"[^\W\d_]", before + after.split(":")[0])


def names_a_number(text: str, match: re.Match[str]) -> bool:
    """Whether a title's type word is the label of a number ("Rechnungs-Nr.", "Invoice No. 12",
    "N° d'avoir") rather than the type phrase alone: such a label also heads the column of
    the invoices a statement or a reminder lists, so a title naming the document alone is
    preferred to it."""
    after = _QUALIFIER.sub(" ", text[match.end() :])
    return bool(_NUMBER_AFTER.match(after) or _NUMBER_BEFORE.search(text[: match.start()]))


def heads_a_column(seg: Segment, line: Line) -> bool:
    """Whether a segment without a number stands in a row of column heads (two more segments,
    none with a number): "Numéro de facture  Date  Montant" over the invoices a statement
    lists, which names those invoices, not the document."""
    others = [s for s in line.segments or [] if s is not seg]
    return len(others) >= 2 and not any(re.search(r"\d", s.text) for s in (seg, *others))


def _height(seg: Segment) -> float:
    return seg.bbox[3] - seg.bbox[1] if seg.bbox is not None else 0.0


def document_type_candidate(lines: list[Line]) -> Candidate | None:
    """The document type its title names (a title naming the document alone before a number's
    label, then the largest when several are printed, the first of equal ones; a number's
    label heading a column is no title); else the first type word in the upper part of the
    first page, as weaker evidence; else an invoice."""
    if not lines:
        return None
    head = [ln for ln in lines if ln.page == lines[0].page][:HEAD_LINES]
    titles: list[tuple[bool, float, int, DocumentType, Line]] = []
    mention: tuple[DocumentType, Line] | None = None
    for line in head:
        for seg in line.segments or []:
            if _WEB.search(seg.text):
                continue  # "invoices@acme.de", "www.rechnung-online.de"
            text = seg.text.strip(" :*|")
            found = _type_of(text)
            if found is None:
                continue
            doc_type, match = found
            if doc_type == DocumentType.RECEIPT and _MAIL_STAMP.search(line.text):
                continue
            alone = not names_a_number(text, match)
            if is_title(text, match) and (alone or not heads_a_column(seg, line)):
                titles.append((alone, _height(seg), -line.index, doc_type, line))
            elif mention is None:
                mention = (doc_type, line)
    if titles:
        *_, doc_type, line = max(titles, key=lambda t: (t[0], round(t[1], 1), t[2]))
        return Candidate(
            "document_type", doc_type, line.text[:60], line, line.bbox, TITLE_WEIGHT, 1.0
        )
    if mention is not None and mention[0] != DocumentType.INVOICE:
        doc_type, line = mention
        return Candidate(
            "document_type",
            doc_type,
            line.text[:60],
            line,
            line.bbox,
            MENTION_WEIGHT,
            1.0,
            {"skipped": 1.0},
        )
    # an invoice named only in passing is as likely as one not named: most of AP is invoices
    line = mention[1] if mention is not None else lines[0]
    raw = line.text[:60] if mention is not None else ""
    return Candidate("document_type", DocumentType.INVOICE, raw, line, None, DEFAULT_WEIGHT, 1.0)
