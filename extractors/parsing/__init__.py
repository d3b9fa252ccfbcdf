"""Locale-aware parsing of printed amounts (`amounts`) and dates (`dates`)."""
