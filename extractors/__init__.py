"""Text extraction, header fields, line items, confidence and validation: see README.md."""
