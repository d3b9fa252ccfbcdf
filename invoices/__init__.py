"""The shared core: records, settings, errors, reason codes, routing, the master-data format
(README.md).
"""
