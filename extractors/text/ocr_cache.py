"""A cache of OCR readings on disk, so that a repeated evaluation of scans costs minutes.

A page's reading is stored under a key made of everything that decides it: the file's sha256,
the page, and the OCR as it runs (tesseract's version, the languages, the render resolution and
pixel limit, the passes left out, and a digest of the OCR code itself, so that any change to the
procedure, its passes or its tesseract config never reuses a reading made another way). The
time budget is not part of the key: a reading that ran out of time (a retry given up) depends on
the machine's load and is not stored.

Off unless a folder is given (`settings.ocr_cache_dir`; `invoices eval` sets one by default, the
nightly batch only when configured). An entry that cannot be read back (truncated, not JSON,
another shape) counts as a miss and is written again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from extractors.text import ocr
from invoices.records import Word

FORMAT = 1
# The modules whose code decides a reading: the procedure, the image preparation, tesseract's
# calls and the table check that triggers the single-block reading.
_CODE = ("extractors/text/ocr.py", "extractors/text/ocr_preprocess.py",
         "extractors/text/ocr_tesseract.py", "extractors/layout/rows.py")  # fmt: skip
_ROOT = Path(__file__).resolve().parent.parent.parent
_OUT_OF_TIME = "no time left"


@lru_cache(maxsize=1)
def ocr_code_digest() -> str:
    """A digest of the OCR code and its version (computed once per process)."""
    digest = hashlib.sha256(f"{FORMAT}:{ocr.VERSION}".encode())
    for name in _CODE:
        digest.update(name.encode())
        digest.update((_ROOT / name).read_bytes())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def tesseract_version() -> str:
    """The installed tesseract's version (computed once per process)."""
    import pytesseract

    return str(pytesseract.get_tesseract_version())


@lru_cache(maxsize=256)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    """The sha256 of a file, hashed again only when its size or modification time changes."""
    stat = os.stat(path)
    return _file_sha256(path, stat.st_size, stat.st_mtime_ns)


def cache_key(job: ocr.OcrJob, engine: str | None = None) -> str:
    """The key of one page's reading: the file's content, the page and how OCR reads it."""
    parts = {
        "file": file_sha256(job.path),
        "pdf": job.is_pdf,
        "page": job.index,
        "languages": job.languages,
        "dpi": job.dpi,
        "max_pixels": job.max_pixels,
        "skip": sorted(job.skip),
        "tesseract": engine if engine is not None else tesseract_version(),
        "code": ocr_code_digest(),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _entry(folder: Path, key: str) -> Path:
    return folder / key[:2] / f"{key}.json"


def load(folder: Path, key: str) -> ocr.OcrResult | None:
    """The stored reading of `key`, or None when there is none or it cannot be read back."""
    try:
        data = json.loads(_entry(folder, key).read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return _result(data["result"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(folder: Path, key: str, result: ocr.OcrResult) -> bool:
    """Keep a reading (atomically: a reader never sees half an entry); a reading that ran out
    of time is not kept. Returns whether it was stored."""
    if any(_OUT_OF_TIME in note for note in result.notes):
        return False
    path = _entry(folder, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps({"key": key, "result": _plain(result)})
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def ocr_pages_cached(
    jobs: list[ocr.OcrJob], workers: int, folder: Path
) -> list[ocr.OcrResult | BaseException]:
    """`ocr.ocr_pages` with each page first looked up in the cache `folder`; pages read now
    are stored. Order kept; a page that fails is returned as its exception and not stored."""
    keys = [cache_key(job) for job in jobs]
    found = [load(folder, key) for key in keys]
    missing = [i for i, hit in enumerate(found) if hit is None]
    fresh = dict(zip(missing, ocr.ocr_pages([jobs[i] for i in missing], workers), strict=True))
    out: list[ocr.OcrResult | BaseException] = []
    for i, hit in enumerate(found):
        if hit is not None:
            hit.notes.append("from the OCR cache")
            out.append(hit)
            continue
        result = fresh[i]
        if isinstance(result, ocr.OcrResult):
            store(folder, keys[i], result)
        out.append(result)
    return out


def _plain(result: ocr.OcrResult) -> dict[str, Any]:
    return {
        "index": result.index,
        "words": [[w.text, list(w.bbox), w.confidence] for w in result.words],
        "width": result.width,
        "height": result.height,
        "confidence": result.confidence,
        "seconds": result.seconds,
        "rotation": result.rotation,
        "skew": result.skew,
        "binarised": result.binarised,
        "notes": list(result.notes),
    }


def _result(data: dict[str, Any]) -> ocr.OcrResult:
    words = [Word(text=t, bbox=tuple(b), confidence=c) for t, b, c in data["words"]]
    return ocr.OcrResult(
        index=int(data["index"]),
        words=words,
        width=float(data["width"]),
        height=float(data["height"]),
        confidence=None if data["confidence"] is None else float(data["confidence"]),
        seconds=float(data["seconds"]),
        rotation=int(data["rotation"]),
        skew=float(data["skew"]),
        binarised=bool(data["binarised"]),
        notes=[str(n) for n in data["notes"]],
    )
