"""Document -> text, cheapest first: embedded e-invoice XML, the PDF text layer, OCR for pages
without text (`read.read_document`); intake fingerprints a file first (`intake.describe`).
"""
