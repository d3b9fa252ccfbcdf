"""Inputs for batch tests: real documents from the shared eval set and every kind of bad file."""

from __future__ import annotations

import io
import shutil
import struct
import zlib
from pathlib import Path

from pypdf import PdfReader, PdfWriter

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
ZUGFERD_DOCS = EVAL / "zugferd" / "docs"
SROIE_DOCS = EVAL / "sroie" / "docs"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png(path: Path, width: int = 20000, height: int = 20000) -> Path:
    """A valid 1-bit PNG of width x height: tiny on disk, 400 megapixels when decoded."""
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    return path


def encrypted_pdf(source: Path, path: Path, password: str = "s3cret") -> Path:
    """A copy of a real PDF that opens only with a user password."""
    writer = PdfWriter()
    for page in PdfReader(source).pages:
        writer.add_page(page)
    writer.encrypt(user_password=password, owner_password=password + "-owner")
    buf = io.BytesIO()
    writer.write(buf)
    path.write_bytes(buf.getvalue())
    return path


def bad_inputs(folder: Path, real_pdf: Path) -> dict[str, Path]:
    """Every bad input of the batch issue, written into `folder`; keyed by its case."""
    folder.mkdir(parents=True, exist_ok=True)
    cases = {
        "empty": folder / "empty.pdf",
        "truncated": folder / "truncated.pdf",
        "encrypted": folder / "encrypted.pdf",
        "text_named_pdf": folder / "notes.pdf",
        "huge_image": folder / "huge.png",
    }
    cases["empty"].write_bytes(b"")
    data = real_pdf.read_bytes()
    cases["truncated"].write_bytes(data[: len(data) // 3])
    encrypted_pdf(real_pdf, cases["encrypted"])
    cases["text_named_pdf"].write_text("Dear AP team,\nplease find attached...\n", encoding="utf-8")
    huge_png(cases["huge_image"])
    return cases


def copy_real(names: list[str], src: Path, folder: Path) -> list[Path]:
    """Copy real documents from the shared eval set into a test inbox."""
    folder.mkdir(parents=True, exist_ok=True)
    return [Path(shutil.copy(src / n, folder / n)) for n in names]
