"""Writes the golden sample PDFs (run once, from the repository root; the PDFs are committed)."""

from pathlib import Path

from fpdf import FPDF

out = Path(__file__).parent


def pdf(rows_per_page, path):
    doc = FPDF()
    doc.set_font("helvetica", size=10)
    for rows in rows_per_page:
        doc.add_page()
        for row in rows:
            x = 15
            for cell, width in row:
                doc.set_x(x)
                doc.cell(width, 6, cell)
                x += width
            doc.ln(6)
    doc.output(str(path))


german = [
    [
        [("Elektro Huber GmbH", 100)],
        [("Ringstraße 7, 80331 München", 100)],
        [("", 10)],
        [("Rechnungsempfänger", 90), ("Rechnungsnummer:", 40), ("RE-2031", 40)],
        [("Baufirma Klein KG", 90), ("Rechnungsdatum:", 40), ("14. Februar 2024", 40)],
        [("Am Hang 3, 90402 Nürnberg", 90), ("Bestellnummer:", 40), ("B-77", 40)],
        [("", 10)],
        [("Pos", 12), ("Beschreibung", 78), ("Menge", 25), ("Einzelpreis", 30), ("Betrag", 30)],
        [("1", 12), ("Kabel NYM-J 3x1,5", 78), ("100", 25), ("0,85", 30), ("85,00", 30)],
        [("2", 12), ("Abzweigdose AP", 78), ("12", 25), ("2,40", 30), ("28,80", 30)],
        [("", 12), ("Übertrag", 133), ("113,80", 30)],
    ],
    [
        [("Pos", 12), ("Beschreibung", 78), ("Menge", 25), ("Einzelpreis", 30), ("Betrag", 30)],
        [("3", 12), ("Montage Elektriker", 78), ("3", 25), ("62,00", 30), ("186,00", 30)],
        [("", 10)],
        [("Nettobetrag", 145), ("299,80", 30)],
        [("USt. 19 % auf 299,80", 145), ("56,96", 30)],
        [("Gesamtbetrag", 145), ("356,76", 30)],
        [("Zahlbar innerhalb 14 Tagen ohne Abzug.", 175)],
        [("IBAN: DE89 3704 0044 0532 0130 00   BIC: COBADEFFXXX   USt-IdNr.: DE136695976", 175)],
    ],
]
english = [
    [
        [("Northwind Traders Ltd", 100)],
        [("12 Harbour Road, Bristol BS1 4RN", 100)],
        [("VAT Reg No: GB 123 4567 89", 100)],
        [("", 10)],
        [("Bill To:", 60), ("Invoice No:", 40), ("NW-5521", 40)],
        [("Contoso Retail plc", 60), ("Invoice Date:", 40), ("14th Dec, 2023", 40)],
        [("", 60), ("Due Date:", 40), ("13/01/2024", 40)],
        [("", 10)],
        [("Description", 90), ("Qty", 20), ("Unit Price", 30), ("Amount", 30)],
        [("Widget, blue", 90), ("4", 20), ("1,250.00", 30), ("5,000.00", 30)],
        [("Delivery", 90), ("1", 20), ("45.50", 30), ("45.50", 30)],
        [("Subtotal", 140), ("5,045.50", 30)],
        [("VAT 20%", 140), ("1,009.10", 30)],
        [("Total GBP", 140), ("6,054.60", 30)],
        [("Payment terms: 30 days net", 170)],
    ]
]
pdf(german, out / "german_two_pages_carry_over.pdf")
pdf(english, out / "english_thousands_written_date.pdf")
