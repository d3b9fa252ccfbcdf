"""The printed labels that announce each header field, in English, German, French and Dutch.

Each entry is a regular expression and a weight (how surely the label announces that field).
No vendor's layout is encoded here: only words any invoice in these languages uses.
"""

from __future__ import annotations

import re

LABELS: dict[str, list[tuple[str, float]]] = {
    "invoice_number": [
        (r"rechnungs?[\s-]?(?:nummer|nr\.?|no\.?)", 1.0),
        (
            r"\w*(?:rechnung|gutschrift|korrektur\w*|beleg)(?:\s\w+){0,2}?(?:\s*\([^)]{0,40}\))*[\s-]*"
            r"(?:nr\.?|nummer|no\.?|#)(?![\w])",
            1.0,
        ),
        # the noun and its "No." joined by a hyphen ("Invoice-No.", "Credit-No.")
        (r"invoice[\s-]*(?:no\.?|number|num\.?|nr\.?|#|id)", 1.0),
        (r"r[eg]\.?[\s-]*(?:nr\.?|nummer)(?![\w])|dokument(?:en)?[\s-]*(?:nummer|nr\.?)", 0.9),
        (r"inv(?:oice|\.)?\s*ref(?:erence|\.)?(?!\w)", 0.9),
        (r"r[ée]f(?:[ée]rence|\.)?\s*(?:de\s*(?:la\s*)?)?facture", 1.0),
        (r"(?:n\s?[°º]|num[ée]ro)\s*(?:de\s*)?pi[èe]ce|pi[èe]ce\s*n\s?[°º]", 0.8),
        (r"(?:tax\s)?invoice\s*:", 0.6),
        (
            r"(?:credit(?:[\s-]*note)?|bill|receipt|document|doc)[\s-]*(?:no(?!\w)\.?|number|#|nr\.?)",
            0.8,
        ),
        # OCR reads "°" as "*" or "º", or loses it with the spaces ("Ndefacture")
        (r"(?:n\s?[°*º]|no\.?|num[ée]ro)\s*(?:de\s?)?facture|n\s?de\s?facture", 1.0),
        (r"facture\s*(?:n\s?[°*º]|no\.?|num[ée]ro|nr)", 1.0),
        (r"factuur\s?(?:nummer|nr\.?)", 1.0),
        (r"faktura\s*(?:vat\s*)?(?:nr\.?|numer)", 1.0),
        (r"belegnummer", 0.8),
        (r"gutschrifts?nummer|(?:n°|no\.?|num[ée]ro)\s*d'\s?avoir|avoir\s*(?:n°|no\.?)", 1.0),
        (r"booking\s*(?:id|no\.?|number)", 0.6),
        (r"inv\s?(?:no|#)\.?", 0.8),
        # a title followed by its number ("Invoice 2025-17", "Credit note 12345", "Avoir 881")
        (
            r"(?:^|\s)(?:invoice|rechnung|facture|factuur|credit\s*note|gutschrift|avoir)"
            r"(?=\s+[A-Z#]*[\w/-]*\d)",
            0.45,
        ),
        # "Numéro" alone heads the invoice number; "Numéro de TVA", "numéro client" name others
        (
            r"num[ée]ro(?!\s*(?:de|d'|du|des|client|clt|tva|siret|siren|t[ée]l|fax|\w*commande))",
            0.5,
        ),
    ],
    "invoice_date": [
        (r"rechnungs?datum", 1.0),
        (r"invoice\s*date|date\s*of\s*invoice|(?:bill|document|receipt)\s*date", 1.0),
        (r"date\s*(?:de\s*(?:la\s*)?)?facture|date\s*d'?\s*[ée]mission", 1.0),
        (r"factuurdatum", 1.0),
        (r"data\s*wystawienia", 1.0),
        (r"(?:beleg|ausstellungs)datum", 0.8),
        (r"issue\s*date|date\s*(?:of\s*)?issued?|issued\s*(?:on|date)|billing\s*date", 1.0),
        (r"ausgestellt\s*am|r[eg]\.?[\s-]*datum|datum\s*der\s*rechnung|rechnung\s*vom", 1.0),
        (r"[ée]mise?\s*le|factur[ée]e?\s*le|fait\s*le", 0.8),
        (
            r"\w*(?:rechnung|invoice|gutschrift|facture)(?:\s*\([^)]{0,40}\))*\s*(?:\w+\s+){0,2}"
            r"(?:nr\.?|no\.?|n°|#)\s*\S+\s+(?:vom|du|dated|of)(?![\w])",
            0.9,
        ),
        # not the "date" of "Due Date", "Date due", "Date d'échéance"
        (
            r"(?<![\w-])(?<!due\s)(?<!due\s\s)(?:datum|date|dated|tarikh)(?![\w-])"
            r"(?!\s*(?:due(?!\s*date)|d'?\s*[ée]ch[ée]ance|limite|"
            r"of\s*(?:delivery|supply|service|order|shipment)|de\s*(?:livraison|commande|prestation)))",
            0.55,
        ),
    ],
    "due_date": [
        (r"due\s*date|payment\s*due|date\s*due(?!\s*date)|pay(?:able)?\s*by|due\s*by(?![\w])", 1.0),
        (r"zahlbar\s*bis(?:\s*(?:zum|spätestens))?|[àa]\s*payer\s*avant(?:\s*le)?", 1.0),
        # OCR reads the "m" of "datum" as "rn"
        (r"f[äa]llig(?:keits)?(?:datu(?:m|rn)|\s*am)|zahlungsziel", 1.0),
        (r"(?:date\s*d'?)?[ée]ch[ée]ance", 1.0),
        (r"vervaldatum|uiterste\s*betaaldatum|date\s*limite\s*de\s*paiement", 1.0),
        (r"termin\s*p[łl]atno[śs]ci", 1.0),
        (r"(?:überweisen|zahlen)\s*sie(?:\s*bitte)?\s*bis\s*(?:zum)?", 0.8),
        # "Fälligkeit:" or a caption ("Fälligkeit  Ihre Bestellung"), not "Fälligkeit der ..."
        (r"f[äa]lligkeit(?=\s*(?::|$|teilzahlung|betrag|(?-i:[A-ZÄÖÜ])))", 0.9),
        (r"(?:remit|pay|payable|due)\s*(?:by|until|before|no\s*later\s*than)(?![\w])", 1.0),
        (r"payment\s*(?:deadline|due\s*by)|last\s*day\s*of\s*payment", 1.0),
        (r"payment\s*date", 0.8),
        (r"(?:spätestens\s*)?zahlbar\s*(?:am|spätestens(?:\s*(?:am|bis))?)", 1.0),
        (
            r"spätestens\s*(?:am|bis)(?:\s*zum)?|zahlungs(?:frist|termin)|f[äa]llig\s*(?:am|bis|zum)",
            0.9,
        ),
        (
            r"(?:[àa]\s*r[ée]gler|r[èe]glement|[àa]\s*payer|payable|paiement)\s*"
            r"(?:avant|au\s*plus\s*tard|jusqu'au|le)(?:\s*le)?",
            1.0,
        ),
    ],
    "po_number": [
        # OCR puts a space before the hyphen ("Bestell -Nr.")
        (r"bestell(?:ung|nummer|\s?-?\s?nr\.?)(?:\s*(?:nr\.?|nummer))?", 1.0),
        (
            r"(?:p\.?\s?o\.?(?!(?!no|nr|num)[a-z])|purchase\s*order)\s*(?:no\.?|number|#|nr\.?|ref\w*)?",
            0.9,
        ),
        (r"(?:your\s*)?order\s*(?:no\.?|number|#|ref\w*)", 0.8),
        (r"your\s*order|votre\s*commande|ihre\s*bestellung", 0.8),
        # OCR drops a letter of "commande" when the words run together ("Bondecommane")
        (r"(?:bon|n°)\s*de\s*commande|bon\s*de\s*comm?an?d?e|commande\s*n°", 1.0),
        (r"ordernummer|bestelnummer", 0.8),
        # the buyer's own reference, which AP documents carry their order number in
        (r"your\s*ref(?:erence|\.)?(?:\s*(?:no\.?|number))?|customer\s*(?:po|order)\b", 0.7),
        (r"ihr(?:e)?\s*(?:zeichen|referenz|bestellnummer|auftragsnummer)", 0.7),
        (r"votre\s*r[ée]f(?:[ée]rence|\.)?|v/\s?r[ée]f\.?", 0.7),
    ],
    "vendor_vat_id": [
        (r"ust\.?[\s-]*id(?:ent)?\.?[\s-]*(?:nr|nummer)?\.?", 1.0),
        (r"umsatzsteuer[\s-]*id\w*", 1.0),
        (r"vat\s*(?:reg\w*\.?\s*)?(?:no\.?|number|id|#)|vat\s*:", 1.0),
        (r"(?:n°\s*)?tva(?:\s*intra\w*)?|num[ée]ro\s*de\s*tva", 0.9),
        (r"btw(?:[\s-]*(?:nr\.?|nummer|id))?", 0.8),
        (r"(?:gst|sst)\s*(?:reg\w*\.?\s*)?(?:no\.?|id)", 0.8),
        (r"\bnip\b|\buid\b", 0.7),
    ],
    "subtotal": [
        (r"sub[\s-]?total|subtotaal|sous[\s-]total", 1.0),
        (
            r"(?:total|totaal|summe|betrag|montant)\s*(?:excl\.?|exkl\.?|hors|without|before|ohne|netto|net|ht\b)",
            1.0,
        ),
        (
            r"rechnungssumme\s*(?:netto|ohne)|nettobetrag|netto(?:summe|betrag)|gesamt\s*netto|summe\s*netto",
            1.0,
        ),
        (r"net\s*(?:total|amount)|total\s*ht|montant\s*ht|exclusief\s*btw|total\s*net", 1.0),
        (r"total\s*excl\w*", 0.8),
    ],
    "tax": [
        (
            r"steuerbetrag|mehrwertsteuer|umsatzsteuer|ust\.?(?:[\s-]*betrag)?|mwst\.?|zuzügl\.?\s*ust",
            0.8,
        ),
        (r"(?:total\s*)?(?:vat|tax|gst|sst)(?:\s*amount|\s*total)?", 0.8),
        (r"(?:montant\s*)?tva|btw(?:[\s-]*bedrag)?", 0.8),
    ],
    "total": [
        # an English "net total" before the tax is none: see NET_TOTAL
        (r"(?:rounded|nett?)\s*total|total\s*(?:rounded|payable)|grand\s*total", 1.1),
        (
            r"grand\s*total|total\s*(?:amount|due|payable|incl\w*|ttc|inkl\w*|sales|\(incl)|amount\s*payable",
            1.0,
        ),
        (
            r"bruttosumme|gesamtbetrag|rechnungs(?:summe|betrag)\s*(?:brutto|inkl)|summe\s*(?:brutto|inkl\w*)|endbetrag|brutto(?:betrag|summe)?",
            1.0,
        ),
        (
            r"montant\s*ttc|total\s*ttc|net\s*[àa]\s*payer|totaal\s*(?:incl\.?|bedrag)|te\s*betalen",
            1.0,
        ),
        (r"amount\s*to\s*(?:be\s*)?pa(?:id|y)|total\s*to\s*pay", 1.0),
        (r"gross\s*(?:amount|total)|invoice\s*(?:amount|total)|amount\s*\(?\s*incl", 1.0),
        (r"\w*endbetrag|gesamt\s*brutto|rechnungsbetrag\s*brutto", 1.0),
        (r"total\s*[àa]\s*payer|montant\s*ttc|total\s*(?:de\s*la\s*)?facture", 1.0),
        (r"rechnungsbetrag|gesamtsumme|montant\s*total", 0.9),
        (r"total\s*\(?rm\)?", 0.9),
        (
            r"(?<![\w-])(?:total|totaal|summe|gesamt|betrag|amount|razem|do\s*zap[łl]aty)(?![\w-])",
            0.6,
        ),
    ],
    "amount_due": [
        (r"zahlbetrag|zu\s*zahlen(?:der\s*betrag)?|offener\s*betrag|restbetrag", 1.0),
        (r"montant\s*[àa]\s*payer|solde\s*(?:d[ûu]|[àa]\s*payer)", 0.9),
        (r"amount\s*due|balance\s*due|amount\s*payable|total\s*due|balance", 0.9),
        (r"montant\s*d[ûu]|reste\s*[àa]\s*payer|net\s*[àa]\s*payer|te\s*betalen", 0.9),
        (
            r"please\s*pay(?!\s*(?:within|by|before|until|to|in|on|the|via|at)\b)|bitte\s*zahlen|veuillez\s*r[ée]gler|montant\s*[àa]\s*r[ée]gler",
            0.8,
        ),
    ],
    "iban": [(r"iban(?:[\s-]*nr\.?)?", 1.0)],
    "bic": [(r"bic|swift(?:[\s-]*code)?", 1.0)],
    "payment_terms": [
        (
            r"zahlungsbedingung\w*|payment\s*terms?|terms\s*of\s*payment|conditions?\s*de\s*(?:paiement|r[èe]glement)|betalingstermijn",
            1.0,
        ),
        (
            r"zahlbar\s*(?:innerhalb|sofort|bis)|payable\s*within|net\s*\d+\s*days|due\s*(?:upon|on)\s*receipt",
            0.8,
        ),
    ],
    "vendor_name": [
        (r"verk[äa]ufer|rechnungs(?:steller|ersteller)|lieferant|leistungserbringer", 1.0),
        (r"seller|supplier|vendor|sold\s*by|billed\s*by|from", 0.8),
        (r"vendeur|fournisseur|[ée]metteur|leverancier|sprzedawca", 1.0),
    ],
    "buyer_name": [
        (
            r"k[äa]ufer|rechnungsempf[äa]nger|leistungsempf[äa]nger|kunde(?![\w])|rechnung\s*an(?![\w])",
            1.0,
        ),
        (r"bill(?:ed)?\s*to|invoice\s*to|sold\s*to|customer|buyer|client", 0.9),
        (r"acheteur|factur[ée]\s*[àa]|destinataire|klant|nabywca", 1.0),
        # the billing address heading: the buyer's name is its first line
        (
            r"factuuradres|rechnungsadresse|adresse\s*de\s*facturation|"
            r"billing\s*address|invoice\s*address",
            0.9,
        ),
    ],
}

# The fields whose labels open a row of the totals block that follows an item table.
SUMMARY_FIELDS = ("subtotal", "tax", "total", "amount_due")
# What else opens such a row without labelling one of those fields alone: a sum of any kind
# ("Zwischensumme", "Warensumme"), an order total, a tax base, a tax added or included.
SUMMARY_WORDS = [
    r"totals|sum|\w*summe|order\s*total|sous[\s-]*total|(?:net\s*|reste\s*)?[àa]\s*payer",
    r"base\s*(?:ht|imposable)|sales\s*tax|u\.?st\.?",
    r"(?:zzgl|inkl|incl|plus)\.?\s*(?:\d+[.,]?\d*\s*%\s*)?(?:mwst|ust|vat|tva|tax)",
]

# Words that mark a line as being about another quantity than the field it names.
NOT_TOTAL = re.compile(
    r"sub[\s-]?total|zwischensumme|positionssumme|ohne|excl|exkl|hors|netto|before|"
    r"qty|quantity|menge|items?\b|discount|rabatt|abschl|zuschl|steuer(?!\w*brutto)|"
    r"vat|tax|gst|sst|tva|btw|mwst|ust|savings?|change|cash|tendered|(?<!be\s)paid|rounding|"
    r"anzahlung|erhalten|supplies|total\s+\d{1,2}(?:[.,]\d+)?\s?%",
    re.IGNORECASE,
)

# An English "net total": the amount before tax where tax follows it (on a receipt, printed
# after the other totals and the rounding, the amount paid).
NET_TOTAL = re.compile(r"(?<![\w])net\s*total(?![\w])", re.IGNORECASE)

LEGAL_FORMS = re.compile(
    r"(?<![\w])(gmbh|ag|a\.\s?g\.|kg|ohg|e\.\s?k\.|e\.\s?v\.|ug|se|ltd\.?|limited|llc|llp|inc\.?|corp\.?|"
    r"corporation|company|co\.|plc|s\.a\.?|sa|sas|sarl|s\.a\.r\.l\.|eurl|b\.v\.?|bv|n\.v\.?|"
    r"s\.p\.a\.?|spa|srl|s[do]n\.?\s*b\w{0,2}d\.?|bhd\.?|s/b|enterprise|trading|sp\.\s?z\s?o\.?\s?o\.?|"
    r"sp[óo][łl]ka\s*akcyjna|pvt\.?|private\s*limited|gesellschaft\s*mit\s*beschr[äa]nkter\s*haftung|"
    r"aktiengesellschaft|kommanditgesellschaft|soci[ée]t[ée]\s*(?:anonyme|par\s*actions\s*simplifi[ée]e|"
    r"[àa]\s*responsabilit[ée]\s*limit[ée]e)|public\s*limited\s*company)(?![\w])",
    re.IGNORECASE,
)


def _flexible(pattern: str) -> str:
    """Allow the stray space text layers put after a label's first letter ("F actuurnummer")."""
    if pattern[:1].isalpha() and pattern[1:2].isalpha():
        return pattern[0] + r"\s?" + pattern[1:]
    return pattern


COMPILED: dict[str, list[tuple[re.Pattern[str], float]]] = {
    name: [
        (re.compile(rf"(?<![\w])(?:{_flexible(p)})\s*[:#.]?", re.IGNORECASE), w) for p, w in entries
    ]
    for name, entries in LABELS.items()
}

ANY_LABEL = re.compile(
    "(?<![\\w])(?:"
    + "|".join(f"(?:{p})" for entries in LABELS.values() for p, _ in entries if len(p) > 6)
    + ")",
    re.IGNORECASE,
)

# A row that opens with a summary label, as a whole word (after any position number or sign).
SUMMARY_START = re.compile(
    "^(?:"
    + "|".join(
        [f"(?:{_flexible(p)})" for name in SUMMARY_FIELDS for p, _ in LABELS[name]]
        + [f"(?:{p})" for p in SUMMARY_WORDS]
    )
    + ")(?![\\w])",
    re.IGNORECASE,
)
