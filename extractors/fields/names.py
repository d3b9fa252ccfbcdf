"""Party names as printed: whether a text can be a name, and the name cleaned of OCR noise.

Shared by the party reading (`fields_parties`) and the address reading (`fields_address`):
the first real segment of a line, labels and registration numbers cut off, OCR misreadings of
legal forms read back, specks around a name on scanned pages dropped.
"""

from __future__ import annotations

import re

from extractors.fields.labels import LEGAL_FORMS
from extractors.layout.lines import Line
from invoices.records import Method

_CUT = re.compile(r"\s*(?:[●•·|]|\s-\s|,\s*\d).*$")
_NOT_NAME = re.compile(
    r"^(?:nummer|globale|number|tel|fax|phone|e-?mail|www|http|gln|ust|vat|steuer|iban|bic|"
    r"page|seite|datum|date|invoice|rechnung|facture|receipt|tax|gst|reg|co\.?\s*no|no\.|"
    r"attn|to|bill\s*to|ship\s*to|z\.\s*hd|c/o)\b",
    re.I,
)


# a salutation printed on its own line over a person's name ("Herrn", "Madame")
SALUTATION = re.compile(r"(?:herrn?|frau|mr\.?|mrs\.?|ms\.?|m\.|mme|monsieur|madame)", re.I)

CONTACT = re.compile(
    r"\b(?:tel|fax|phone|gst|vat|ust|reg|e-?mail|www|invoice|rechnung|receipt|date|datum|"
    r"steuer-?nr|steuernummer|handelsname|siret|siren|hrb|ansprechpartner)\b",
    re.I,
)


# an e-mail or web address printed under the letterhead ("invoices @ acme.de") is no name
_WEB = re.compile(r"@|\bwww\.|https?:|\w\.(?:com|de|fr|be|at|ch|nl|net|org|eu|lu|uk|it|es|my)\b")


# the company-register small print under a letterhead ("SARL au capital de 10 000 €",
# "Stammkapital 25.000 EUR", "Registered in England No ..."): it names the company's form, not
# the company
_REGISTER = re.compile(
    r"\b(?:au\s+capital|capital\s+(?:social|de)|share\s+capital|stammkapital|grundkapital|"
    r"capitale\s+sociale|registered\s+(?:office|in)|amtsgericht|registergericht|"
    r"sitz\s+der\s+gesellschaft|gesch\u00e4ftsf\u00fchr\w*|rcs\s+\w+)\b",
    re.I,
)


def name_like(text: str) -> bool:
    """Whether a text can be a party's name: mostly letters, short, not a label, contact or
    web address, and not a legal form alone."""
    letters = sum(ch.isalpha() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return (
        letters >= 3
        and digits <= letters / 3
        and len(text) <= 80
        and not _NOT_NAME.match(text)
        and not _WEB.search(text)
        and not _REGISTER.search(text)
        and not LEGAL_FORMS.fullmatch(text.strip(" .,"))  # "Inc." alone: the name is lost
    )


_SPECKS = " |_.,:;'‘’‚„\"“”«»~—=-"


def is_noise(text: str) -> bool:
    """A segment OCR made of a stamp, a rule or a speck ("=", "|", "oe"): no word in it."""
    return sum(ch.isalnum() for ch in text) < 3


def lead(line: Line) -> tuple[str, int]:
    """The first segment of a line that is not OCR noise, and its offset in the line's text."""
    offset = 0
    for seg in line.segments:
        if not is_noise(seg.text):
            text = seg.text.lstrip(_SPECKS)  # "| Rechnungsempfänger"
            return text, offset + len(seg.text) - len(text)
        offset += len(seg.text) + 1
    return (line.segments[0].text, 0) if line.segments else (line.text, 0)


# OCR misreadings of the Malaysian legal form ("SON BHD", "5DN. BHD") read back as printed
_SDN_BHD = re.compile(
    r"\b(?:s|5)[od0]n\.?\s*(?:b|8)(?:h|e|el|il|ei|l|u)[dpo0]\.?(?![\w])|"
    r"(?<=\bSDN )(?:BH0|BHO|BLD|BUD|BED)(?![\w])",
    re.I,
)
# a registration number printed after the name: "(139386-X)", "(CO. REG 12345)"
REG_NO = re.compile(r"\s*[(\[]\s*(?:co\.?\s*(?:reg\.?|no\.?)\s*)?\d[\w\s-]*[)\]]?\s*$", re.I)


def clean_name(text: str) -> str:
    """A name as printed without a "Name:" label, a registration number or what follows a
    separator; OCR misreadings of "SDN BHD" and spacing inside brackets repaired."""
    text = re.sub(r"^name\s*:\s*", "", text.strip(), flags=re.I)
    text = _SDN_BHD.sub(lambda m: "SDN BHD" if m.group(0).isupper() else "Sdn Bhd", text)
    text = REG_NO.sub("", text)
    # OCR spacing inside brackets: "(KL )SDN" -> "(KL) SDN"
    text = re.sub(r"\(\s+", "(", re.sub(r"\s+\)", ")", text))
    text = re.sub(r"\)(?=[^\W\d_])", ") ", text)
    return _CUT.sub("", text).strip(" :,")


# OCR specks before a name: tokens without letters ("0.0.", "__") and short lower-case
# fragments ("a", "re ou") in front of a capitalised word; name particles ("de", "van") stay
_PARTICLES = "de|da|di|du|del|der|den|des|la|le|van|von|zu|het|el|al|y"
_NOISE_TOKEN = r"(?:(?![&+]\s)[\W\d_]*[\W_][\W\d_]*|(?!(?:" + _PARTICLES + r")\s)[a-zäöüéè]{1,3})"
_LEAD_NOISE = re.compile(rf"^(?:{_NOISE_TOKEN}\s+)+(?=[A-ZÄÖÜÀ-Ý])")
# a detached speck after a name ("GmbH .", "Inc. —") or attached junk ("Gartenweg -")
_TRAILING_NOISE = re.compile(r"(?:\s+[\W_]+|[-_:;|'\"~—=]+)$")
# the legal form with its last letter lost at the edge of a stamp or the page ("... GMB")
_GMBH_CUT = re.compile(r"(?<=\w )(?:GMB|Gmb)$")
# a dot OCR put after a legal form that is never written with one ("Terratrade OG.")
_FORM_DOT = re.compile(r"\b(KG|OG|AG|SE|SA|SAS|SARL|SRL|EURL|BV|NV|GmbH|GMBH|LLP|PLC)\.$")
# the document's title OCR read into the line of the name ("GUTSCHRIFT Deltatrade GmbH")
_LEADING_TITLE = re.compile(r"^(?:RECHNUNG|INVOICE|FACTURE|FACTUUR|GUTSCHRIFT|AVOIR|RECEIPT)\s+")
_TRAILING_TITLE = re.compile(
    r"\s+(?:RECHNUNG|INVOICE|FACTURE|FACTUUR|GUTSCHRIFT|AVOIR|CREDIT NOTE|RECEIPT)\W*$"
)


def party_text(text: str, line: Line) -> str:
    """A name as printed, cleaned; on OCR lines also without the specks OCR put around it."""
    value = clean_name(text)
    if line.method != Method.OCR:
        return value
    value = _TRAILING_TITLE.sub("", _LEAD_NOISE.sub("", value.lstrip(_SPECKS)))
    value = _FORM_DOT.sub(r"\1", _LEADING_TITLE.sub("", value))
    value = _GMBH_CUT.sub(lambda m: m.group(0) + "H", value)
    return _TRAILING_NOISE.sub("", value).strip()


# the vendor's own e-mail or web domain ("invoices@mueller-buero.de", "www.mueller-buero.de")
_DOMAIN = re.compile(r"(?:@\s*|\bwww\.)([\w-]+(?:\.[\w-]+)*)", re.I)
_UMLAUT = {"a": "ä", "o": "ö", "u": "ü", "A": "Ä", "O": "Ö", "U": "Ü"}


def web_domains(text: str) -> list[str]:
    """The e-mail and web domains printed in a text, lower-case."""
    return [m.group(1).casefold() for m in _DOMAIN.finditer(text)]


def umlauts_from_domain(name: str, domains: list[str]) -> str:
    """A German name with the umlauts OCR dropped ("Gebaudereinigung") put back where the
    company's domain spells them out ("gebaeudereinigung.de": "ae" for "ä"). A vowel is
    restored only where the word around it, six letters at least, is spelled so there."""
    if not domains:
        return name
    words = name.split(" ")
    for w, word in enumerate(words):
        chars = list(word)
        for i, ch in enumerate(word):
            if ch not in _UMLAUT or i < 1 or len(word) < i + 4:
                continue
            spelled = (word[: i + 1] + "e" + word[i + 1 : i + 4]).casefold()
            if len(spelled) >= 6 and any(spelled in domain for domain in domains):
                chars[i] = _UMLAUT[ch]
        words[w] = "".join(chars)
    return " ".join(words)
