"""Intake: fingerprint one input file before any parsing.

`describe` streams the file once for its sha256 and size, and sniffs the media type from the
magic bytes (never from the file name: a text file named `.pdf` is refused, and told apart).
It refuses what the later stages cannot take: a vanished, empty, oversized or unsupported file.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from invoices.errors import (
    DocumentEmpty,
    DocumentMissing,
    DocumentTooLarge,
    DocumentUnreadable,
    UnsupportedMediaType,
)
from invoices.records import Document
from invoices.settings import Settings

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
TIFF = "image/tiff"
XML = "application/xml"

SUPPORTED_MEDIA_TYPES: frozenset[str] = frozenset({PDF, PNG, JPEG, TIFF, XML})
IMAGE_MEDIA_TYPES: frozenset[str] = frozenset({PNG, JPEG, TIFF})

# Local names of the root element of the e-invoice syntaxes we read (CII, ZUGFeRD 1, UBL).
EINVOICE_ROOTS: frozenset[str] = frozenset(
    {"CrossIndustryInvoice", "CrossIndustryDocument", "Invoice", "CreditNote"}
)

_HEAD_BYTES = 4096
_CHUNK = 1 << 20

# Things people drop into an invoice folder that we do not read, so the error can say what
# the file looks like rather than only "unsupported".
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"PK\x03\x04", "a ZIP container (zip, docx, xlsx, odt)"),
    (b"\xd0\xcf\x11\xe0", "an OLE2 Office file (doc, xls, msg)"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a BMP image"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
)
_XML_ROOT = re.compile(rb"<(?![?!])(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)")


def describe(path: Path, settings: Settings) -> Document:
    """Fingerprint `path`: sha256, size and sniffed media type, or a typed DocumentError.

    Raises DocumentMissing, DocumentEmpty, DocumentTooLarge or UnsupportedMediaType.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise DocumentMissing(path, "file not found (it may have been moved or deleted)") from exc
    if not path.is_file():
        raise UnsupportedMediaType(path, "not a regular file")
    if size == 0:
        raise DocumentEmpty(path, "the file is empty (0 bytes)")
    if size > settings.max_file_bytes:
        raise DocumentTooLarge(
            path, f"{size} bytes is over the limit of {settings.max_file_bytes} bytes"
        )
    sha256, head, size = _hash_and_head(path)
    if size == 0:
        raise DocumentEmpty(path, "the file is empty (0 bytes)")
    media_type = sniff_media_type(head)
    if media_type is None:
        raise UnsupportedMediaType(
            path, f"not a PDF, image or e-invoice XML: it looks like {looks_like(head)}"
        )
    return Document(path=path, sha256=sha256, media_type=media_type, size_bytes=size)


def _hash_and_head(path: Path) -> tuple[str, bytes, int]:
    """Stream the file once: its sha256, its first bytes and its size as read."""
    digest = hashlib.sha256()
    head = b""
    size = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                if len(head) < _HEAD_BYTES:
                    head += chunk[: _HEAD_BYTES - len(head)]
                digest.update(chunk)
                size += len(chunk)
    except FileNotFoundError as exc:
        raise DocumentMissing(path, "file vanished while it was being read") from exc
    except PermissionError as exc:
        raise DocumentUnreadable(path, f"no permission to read the file: {exc}") from exc
    return digest.hexdigest(), head, size


def sniff_media_type(head: bytes) -> str | None:
    """The media type from a file's first bytes, or None when it is none we read."""
    if head.startswith((b"\x89PNG\r\n\x1a\n",)):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return TIFF
    # PDF readers accept the header anywhere in the first KiB (junk before it is common).
    if b"%PDF-" in head[:1024]:
        return PDF
    if xml_root_name(head) in EINVOICE_ROOTS:
        return XML
    return None


def xml_root_name(head: bytes) -> str | None:
    """The local name of the root element when `head` starts like an XML document."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text.startswith(b"<"):
        return None
    # skip the prolog: declaration, comments, processing instructions, doctype
    text = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>", b"", text, flags=re.S)
    match = _XML_ROOT.search(text)
    return match.group(1).decode("ascii", "replace") if match else None


def looks_like(head: bytes) -> str:
    """A short human description of what an unsupported file seems to be."""
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            return what
    root = xml_root_name(head)
    if root is not None:
        if root.lower() == "html":
            return "an HTML page"
        return f"an XML document with root <{root}> (not an e-invoice)"
    stripped = head.lstrip()
    if stripped[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    text = _decode_utf8_prefix(head)
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text.rstrip("\x00")):
        sample = " ".join(text.split())[:40]
        return f'plain text ("{sample}...")'
    return f"unknown binary data (starts with {head[:8].hex(' ')})"


def _decode_utf8_prefix(head: bytes) -> str | None:
    """`head` as UTF-8, allowing a character cut at the end; None when it is not UTF-8."""
    for cut in range(4):
        try:
            return head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None
