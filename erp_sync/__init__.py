"""See README.md in this folder: what the package is, its entry points and what it may import."""
