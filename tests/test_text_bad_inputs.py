"""Bad input files, each made at test time: every one must raise its typed DocumentError."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfWriter

from extractors.text.intake import PDF, PNG, XML, describe, sniff_media_type
from extractors.text.read import read_document
from invoices.errors import (
    DocumentEmpty,
    DocumentEncrypted,
    DocumentMissing,
    DocumentTooLarge,
    DocumentUnreadable,
    UnsupportedMediaType,
)
from invoices.records import ReasonCode
from invoices.settings import Settings, load_settings

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
SAMPLE_PDF = EVAL / "zugferd" / "docs" / "v2_intarsys_EN16931_zugferd_2p0_EN16931_Einfach.pdf"
SAMPLE_JPEG = EVAL / "sroie" / "docs" / "train_030.jpg"

needs_eval = pytest.mark.skipif(not SAMPLE_PDF.is_file(), reason=f"no eval set at {EVAL}")


@pytest.fixture
def text_settings() -> Settings:
    return load_settings(ocr_workers=1)


def _read(path: Path, settings: Settings) -> object:
    return read_document(describe(path, settings), settings)


def test_empty_file(tmp_path: Path, text_settings: Settings) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(DocumentEmpty) as err:
        describe(path, text_settings)
    assert err.value.reason == ReasonCode.DOCUMENT_EMPTY
    assert err.value.path == path


def test_missing_file(tmp_path: Path, text_settings: Settings) -> None:
    with pytest.raises(DocumentMissing):
        describe(tmp_path / "nowhere.pdf", text_settings)


def test_text_file_named_pdf_says_what_it_is(tmp_path: Path, text_settings: Settings) -> None:
    path = tmp_path / "invoice.pdf"
    path.write_text("Invoice 4711\nTotal 100.00 EUR\n")
    with pytest.raises(UnsupportedMediaType) as err:
        describe(path, text_settings)
    assert "plain text" in str(err.value)
    assert "Invoice 4711" in str(err.value)


def test_zip_named_pdf(tmp_path: Path, text_settings: Settings) -> None:
    path = tmp_path / "invoice.pdf"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(UnsupportedMediaType, match="ZIP"):
        describe(path, text_settings)


def test_file_over_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.pdf"
    path.write_bytes(b"%PDF-1.7\n" + b"0" * 2000)
    with pytest.raises(DocumentTooLarge):
        describe(path, load_settings(max_file_bytes=1000))


@needs_eval
def test_truncated_pdf(tmp_path: Path, text_settings: Settings) -> None:
    data = SAMPLE_PDF.read_bytes()
    path = tmp_path / "half.pdf"
    path.write_bytes(data[: len(data) // 2])
    document = describe(path, text_settings)
    assert document.media_type == PDF
    with pytest.raises(DocumentUnreadable, match="truncated"):
        read_document(document, text_settings)


@needs_eval
def test_password_protected_pdf(tmp_path: Path, text_settings: Settings) -> None:
    writer = PdfWriter(clone_from=str(SAMPLE_PDF))
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="AES-256")
    path = tmp_path / "locked.pdf"
    writer.write(path)
    with pytest.raises(DocumentEncrypted) as err:
        _read(path, text_settings)
    assert err.value.reason == ReasonCode.DOCUMENT_ENCRYPTED


@needs_eval
def test_pdf_encrypted_with_empty_user_password_opens(
    tmp_path: Path, text_settings: Settings
) -> None:
    writer = PdfWriter(clone_from=str(SAMPLE_PDF))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-128")
    path = tmp_path / "restricted.pdf"
    writer.write(path)
    text = _read(path, text_settings)
    assert "471102" in text.full_text  # type: ignore[attr-defined]
    assert text.einvoice_xml is not None  # type: ignore[attr-defined]


@needs_eval
def test_too_many_pages(text_settings: Settings) -> None:
    settings = load_settings(max_pages=1)
    with pytest.raises(DocumentTooLarge, match="pages"):
        _read(SAMPLE_PDF, settings)


def _bilevel_png(path: Path, width: int, height: int) -> None:
    """A white 1-bit PNG written row by row: tens of KB on disk whatever its pixel count."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    row = b"\x00" + b"\xff" * ((width + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_decompression_bomb_png_refused_before_decoding(
    tmp_path: Path, text_settings: Settings
) -> None:
    path = tmp_path / "huge.png"
    _bilevel_png(path, 20000, 20000)
    assert path.stat().st_size < 1_000_000
    document = describe(path, text_settings)
    assert document.media_type == PNG
    with pytest.raises(DocumentTooLarge) as err:
        read_document(document, text_settings)
    assert err.value.reason == ReasonCode.DOCUMENT_TOO_LARGE


def test_image_over_pixel_limit(tmp_path: Path) -> None:
    path = tmp_path / "large.png"
    _bilevel_png(path, 3000, 2000)
    settings = load_settings(max_image_pixels=5_000_000, ocr_workers=1)
    with pytest.raises(DocumentTooLarge, match="3000x2000"):
        _read(path, settings)


def test_broken_image(tmp_path: Path, text_settings: Settings) -> None:
    path = tmp_path / "cut.jpg"
    image = Image.new("L", (400, 300), 255)
    image.save(path, "JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DocumentUnreadable):
        _read(path, text_settings)


def test_file_disappears_between_describe_and_read(tmp_path: Path, text_settings: Settings) -> None:
    path = tmp_path / "gone.png"
    Image.new("L", (50, 50), 255).save(path)
    document = describe(path, text_settings)
    path.unlink()
    with pytest.raises(DocumentMissing) as err:
        read_document(document, text_settings)
    assert err.value.reason == ReasonCode.DOCUMENT_MISSING


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.4\n", PDF),
        (b"garbage\n%PDF-1.4\n", PDF),
        (b"\x89PNG\r\n\x1a\n....", PNG),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"II*\x00", "image/tiff"),
        (b"MM\x00*", "image/tiff"),
        (b'<?xml version="1.0"?>\n<!-- c -->\n<rsm:CrossIndustryInvoice xmlns:rsm="x">', XML),
        (b"\xef\xbb\xbf<Invoice xmlns='urn:oasis:names:specification:ubl'>", XML),
        (b"<?xml version='1.0'?><Order/>", None),
        (b"<html><body>", None),
        (b"plain text", None),
    ],
)
def test_sniff_media_type(head: bytes, expected: str | None) -> None:
    assert sniff_media_type(head) == expected
