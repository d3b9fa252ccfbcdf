"""Header fields without per-vendor templates: labels, label-to-value search, ids with checksums,
money chosen jointly, parties, addresses, order references.
"""
