"""Words -> visual rows (`rows`) and lines with column segments (`lines`): the geometry that OCR,
header fields and line items share.
"""
