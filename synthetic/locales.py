"""How a locale prints: numbers, dates, currencies, tax rates and the words on an invoice.

Each label has several wordings per language; a layout picks one variant index, so that the
same field reads "Invoice No." on one vendor's invoices and "Invoice Number" on another's.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

TAX_RATES = {  # country -> tax class -> percent
    "DE": {"standard": "19", "reduced": "7", "energy": "19"},
    "AT": {"standard": "20", "reduced": "10", "energy": "20"},
    "CH": {"standard": "8.1", "reduced": "2.6", "energy": "8.1"},
    "FR": {"standard": "20", "reduced": "5.5", "energy": "20"},
    "BE": {"standard": "21", "reduced": "6", "energy": "21"},
    "GB": {"standard": "20", "reduced": "0", "energy": "5"},
    "US": {"standard": "7.25", "reduced": "0", "energy": "0"},
}

MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "de": (
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
}

CURRENCY_SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF"}

CENT = Decimal("0.01")


def money(value: Decimal) -> Decimal:
    """Round to cents, half up, as invoices do."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def format_number(value: Decimal, locale: str, places: int = 2, group: bool = True) -> str:
    """A number as the locale prints it: 1,234.56 / 1.234,56 / 1 234,56 / 1'234.56."""
    q = Decimal(1).scaleb(-places)
    value = value.quantize(q, rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    text = f"{abs(value):.{places}f}"
    whole, _, frac = text.partition(".")
    seps = {
        "de_DE": (".", ","),
        "de_AT": (".", ","),
        "de_CH": ("'", "."),
        "fr_FR": (" ", ","),
        "fr_BE": (".", ","),
    }.get(locale, (",", "."))
    if group:
        chunks: list[str] = []
        while len(whole) > 3:
            chunks.insert(0, whole[-3:])
            whole = whole[:-3]
        chunks.insert(0, whole)
        whole = seps[0].join(chunks)
    return sign + whole + (seps[1] + frac if places else "")


def format_quantity(value: Decimal, locale: str) -> str:
    """A quantity or a percentage: no decimals when whole, else as few as needed (5,5 / 1,25)."""
    if value == value.to_integral_value():
        return format_number(value, locale, places=0)
    exponent = int(value.normalize().as_tuple().exponent)
    places = max(1, min(4, -exponent))
    return format_number(value, locale, places=places)


UNITS = {  # catalogue unit -> language -> printed unit
    "pcs": {"en": "pcs", "de": "Stk.", "fr": "pce"},
    "h": {"en": "h", "de": "Std.", "fr": "h"},
    "month": {"en": "month", "de": "Monat", "fr": "mois"},
    "day": {"en": "day", "de": "Tag", "fr": "jour"},
    "pers": {"en": "pers.", "de": "Pers.", "fr": "pers."},
    "user": {"en": "user", "de": "Benutzer", "fr": "util."},
    "roll": {"en": "roll", "de": "Rolle", "fr": "rouleau"},
    "pallet": {"en": "pallet", "de": "Palette", "fr": "palette"},
    "kg": {"en": "kg", "de": "kg", "fr": "kg"},
    "kWh": {"en": "kWh", "de": "kWh", "fr": "kWh"},
    "m3": {"en": "m3", "de": "m3", "fr": "m3"},
}


def unit_name(unit: str, lang: str) -> str:
    """The printed form of a catalogue unit in a language."""
    return UNITS.get(unit, {}).get(lang, unit)


def format_amount(value: Decimal, currency: str, locale: str, style: str) -> str:
    """Money with its currency: style "none", "code" (1.234,56 EUR) or "symbol" (€ 1,234.56)."""
    number = format_number(value, locale)
    if style == "none":
        return number
    if style == "code":
        return f"{number} {currency}"
    symbol = CURRENCY_SYMBOLS.get(currency, currency)
    if locale.startswith(("de", "fr")) or symbol == "CHF":
        return f"{number} {symbol}" if symbol != "CHF" else f"CHF {number}"
    return f"{symbol}{number}"


def format_date(value: date, locale: str, style: str) -> str:
    """A date as the locale prints it; style "numeric", "long" or "iso"."""
    lang = locale.split("_")[0]
    if style == "iso":
        return value.isoformat()
    if style == "long":
        month = MONTHS[lang][value.month - 1]
        if lang == "de":
            return f"{value.day}. {month} {value.year}"
        if lang == "fr":
            day = "1er" if value.day == 1 else str(value.day)
            return f"{day} {month} {value.year}"
        if locale == "en_US":
            return f"{month} {value.day}, {value.year}"
        return f"{value.day} {month} {value.year}"
    if lang == "de":
        return f"{value.day:02d}.{value.month:02d}.{value.year}"
    if locale == "en_US":
        return f"{value.month:02d}/{value.day:02d}/{value.year}"
    return f"{value.day:02d}/{value.month:02d}/{value.year}"


# label -> language -> wordings (a layout picks variant index % len)
WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "invoice": {
        "en": ("INVOICE", "Invoice", "Tax Invoice"),
        "de": ("RECHNUNG", "Rechnung"),
        "fr": ("FACTURE", "Facture"),
    },
    "credit_note": {
        "en": ("CREDIT NOTE", "Credit Note"),
        "de": ("GUTSCHRIFT", "Gutschrift"),
        "fr": ("AVOIR", "Facture d'avoir"),
    },
    "statement": {
        "en": ("STATEMENT OF ACCOUNT", "Account Statement"),
        "de": ("KONTOAUSZUG", "Kontoauszug"),
        "fr": ("RELEVÉ DE COMPTE", "Relevé de compte"),
    },
    "reminder": {
        "en": ("PAYMENT REMINDER", "Payment Reminder"),
        "de": ("ZAHLUNGSERINNERUNG", "Zahlungserinnerung"),
        "fr": ("RELANCE DE PAIEMENT", "Rappel de paiement"),
    },
    "invoice_number": {
        "en": ("Invoice No.", "Invoice Number", "Invoice #"),
        "de": ("Rechnungsnummer", "Rechnung Nr.", "Rechnungs-Nr."),
        "fr": ("N° de facture", "Facture n°", "Numéro de facture"),
    },
    "credit_number": {
        "en": ("Credit Note No.", "Credit Note Number"),
        "de": ("Gutschrift Nr.", "Gutschriftsnummer"),
        "fr": ("N° d'avoir", "Avoir n°"),
    },
    "document_number": {
        "en": ("Reference", "Statement No."),
        "de": ("Referenz", "Belegnummer"),
        "fr": ("Référence", "N° de document"),
    },
    "invoice_date": {
        "en": ("Invoice Date", "Date", "Date of issue"),
        "de": ("Rechnungsdatum", "Datum", "Belegdatum"),
        "fr": ("Date de facture", "Date", "Date d'émission"),
    },
    "due_date": {
        "en": ("Due Date", "Payment due", "Due by"),
        "de": ("Fällig am", "Fälligkeitsdatum", "Zahlbar bis"),
        "fr": ("Date d'échéance", "Échéance", "À payer avant le"),
    },
    "po_number": {
        "en": ("PO Number", "Your order", "Purchase Order"),
        "de": ("Bestellnummer", "Ihre Bestellung", "Bestell-Nr."),
        "fr": ("N° de commande", "Votre commande", "Bon de commande"),
    },
    "customer_no": {
        "en": ("Customer No.", "Account No."),
        "de": ("Kundennummer", "Kunden-Nr."),
        "fr": ("N° client", "Code client"),
    },
    "vat_id": {
        "en": ("VAT No.", "VAT Reg. No."),
        "de": ("USt-IdNr.", "UID"),
        "fr": ("N° TVA", "TVA intracom."),
    },
    "tax_id_us": {"en": ("EIN", "Tax ID")},
    "bill_to": {
        "en": ("Bill to", "Invoice to", "Customer"),
        "de": ("Rechnungsempfänger", "Rechnung an", "Kunde"),
        "fr": ("Facturé à", "Client", "Destinataire"),
    },
    "pos": {"en": ("#", "Item"), "de": ("Pos.", "Pos"), "fr": ("N°", "Pos.")},
    "sku": {
        "en": ("Item No.", "SKU", "Code"),
        "de": ("Art.-Nr.", "Artikelnummer", "Artikel"),
        "fr": ("Réf.", "Référence", "Code article"),
    },
    "description": {
        "en": ("Description", "Item description"),
        "de": ("Bezeichnung", "Beschreibung"),
        "fr": ("Désignation", "Description"),
    },
    "quantity": {"en": ("Qty", "Quantity"), "de": ("Menge", "Anzahl"), "fr": ("Qté", "Quantité")},
    "unit": {"en": ("Unit", "UoM"), "de": ("Einheit", "ME"), "fr": ("Unité", "U.")},
    "unit_price": {
        "en": ("Unit Price", "Price", "Rate"),
        "de": ("Einzelpreis", "E-Preis", "Preis"),
        "fr": ("Prix unitaire", "P.U. HT", "Prix"),
    },
    "tax_rate": {"en": ("VAT %", "Tax"), "de": ("USt. %", "MwSt."), "fr": ("TVA %", "TVA")},
    "line_total": {
        "en": ("Amount", "Total", "Line Total"),
        "de": ("Gesamtpreis", "Betrag", "Gesamt"),
        "fr": ("Montant HT", "Total HT", "Montant"),
    },
    "subtotal": {
        "en": ("Subtotal", "Net amount", "Total excl. VAT"),
        "de": ("Zwischensumme", "Nettobetrag", "Summe netto"),
        "fr": ("Total HT", "Sous-total", "Montant HT"),
    },
    "tax": {
        "en": ("VAT", "Tax", "VAT"),
        "de": ("MwSt.", "USt.", "zzgl. USt."),
        "fr": ("TVA", "TVA", "Montant TVA"),
    },
    "sales_tax": {"en": ("Sales tax", "Sales Tax")},
    "total": {
        "en": ("Total", "Invoice Total", "Total incl. VAT"),
        "de": ("Gesamtbetrag", "Rechnungsbetrag", "Summe brutto"),
        "fr": ("Total TTC", "Montant TTC", "Total TTC"),
    },
    "amount_due": {
        "en": ("Amount due", "Balance due", "Please pay"),
        "de": ("Zahlbetrag", "Offener Betrag", "Zu zahlen"),
        "fr": ("Net à payer", "Reste à payer", "Montant à régler"),
    },
    "carried_forward": {"en": ("Carried forward",), "de": ("Übertrag",), "fr": ("À reporter",)},
    "brought_forward": {"en": ("Brought forward",), "de": ("Übertrag",), "fr": ("Report",)},
    "page": {
        "en": ("Page {n} of {nb}",),
        "de": ("Seite {n} von {nb}",),
        "fr": ("Page {n} sur {nb}",),
    },
    "bank": {
        "en": ("Bank details", "Payment details"),
        "de": ("Bankverbindung", "Zahlungsinformationen"),
        "fr": ("Coordonnées bancaires", "Règlement"),
    },
    "terms": {
        "en": ("Payment terms: {d} days net.", "Please pay within {d} days."),
        "de": ("Zahlbar innerhalb von {d} Tagen ohne Abzug.", "Zahlungsziel: {d} Tage netto."),
        "fr": ("Paiement à {d} jours.", "Conditions de paiement : {d} jours net."),
    },
    "thanks": {
        "en": ("Thank you for your business.",),
        "de": ("Vielen Dank für Ihren Auftrag.",),
        "fr": ("Nous vous remercions de votre confiance.",),
    },
    "credit_ref": {
        "en": ("This credit note refers to invoice {n}.",),
        "de": ("Diese Gutschrift bezieht sich auf Rechnung {n}.",),
        "fr": ("Cet avoir se rapporte à la facture {n}.",),
    },
    "statement_intro": {
        "en": ("Open items on your account as of {d}:",),
        "de": ("Offene Posten auf Ihrem Konto zum {d}:",),
        "fr": ("Éléments ouverts sur votre compte au {d} :",),
    },
    "reminder_intro": {
        "en": (
            "Our records show that the following invoice is overdue. Please settle it promptly.",
        ),
        "de": (
            "Sicher haben Sie übersehen, dass folgende Rechnung noch offen ist. "
            "Bitte überweisen Sie den Betrag umgehend.",
        ),
        "fr": (
            "Sauf erreur de notre part, la facture suivante reste impayée. "
            "Merci de régulariser rapidement.",
        ),
    },
    "prepaid": {
        "en": ("Less deposit paid", "Prepayment received", "Less payment on account"),
        "de": ("Abzüglich Anzahlung", "Anzahlung erhalten", "abzgl. Abschlagszahlung"),
        "fr": ("Acompte versé", "Acompte reçu", "Déduction acompte"),
    },
    "currency": {"en": ("Currency",), "de": ("Währung",), "fr": ("Devise",)},
    "delivery_note": {"en": ("delivery note",), "de": ("Lieferschein",), "fr": ("BL",)},
    "fee_total": {
        "en": ("Total to pay",),
        "de": ("Zu zahlender Betrag",),
        "fr": ("Total à payer",),
    },
    "balance": {"en": ("Balance outstanding",), "de": ("Offener Saldo",), "fr": ("Solde dû",)},
    "fee": {"en": ("Reminder fee",), "de": ("Mahngebühr",), "fr": ("Frais de relance",)},
}


def word(key: str, lang: str, variant: int = 0) -> str:
    """The wording of a label in a language (falls back to English)."""
    options = WORDS[key].get(lang) or WORDS[key]["en"]
    return options[variant % len(options)]


def tax_label(lang: str, variant: int, rate: Decimal, locale: str, country: str) -> str:
    """The label of a tax line: "MwSt. 19 %", "VAT 20%", "TVA 5,5 %", "Sales tax 7.25%"."""
    key = "sales_tax" if country == "US" else "tax"
    pct = format_quantity(rate, locale)
    space = " " if lang in ("de", "fr") else ""
    return f"{word(key, lang, variant)} {pct}{space}%"


_STAMP_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_STAMP_MONTHS_DE = (
    "JAN",
    "FEB",
    "MRZ",
    "APR",
    "MAI",
    "JUN",
    "JUL",
    "AUG",
    "SEP",
    "OKT",
    "NOV",
    "DEZ",
)


def stamp_text(lang: str, when: date) -> str:
    """The text of an incoming-mail stamp as accounts payable departments use them."""
    if lang == "de":
        return f"EINGANG {when.day:02d}. {_STAMP_MONTHS_DE[when.month - 1]}. {when.year}"
    if lang == "fr":
        return f"REÇU LE {when.day:02d}/{when.month:02d}/{when.year}"
    return f"RECEIVED {when.day:02d} {_STAMP_MONTHS[when.month - 1]} {when.year}"
