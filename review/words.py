"""The words printed on a page, with their boxes, for re-capture: a clerk clicks words on the
page image to fill the focused field.

Staging keeps the extracted values and their boxes, not every word, so the words are read again
from the document by the same text stage the batch ran (`extractors.text.read`: the text layer,
OCR where the batch OCR'd), once per file version, and cached as JSON beside the page images.
Boxes are PDF points with a top-left origin, like every other box on the page.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from extractors.text.intake import describe
from extractors.text.read import read_document
from invoices.settings import Settings

CACHE_VERSION = "words-1"


def _key(source: Path) -> str:
    stat = source.stat()
    raw = f"{source.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{CACHE_VERSION}"
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def document_words(source: Path, settings: Settings, cache_dir: Path) -> dict[int, list[Any]]:
    """{page number: [{"t": text, "b": [x0, top, x1, bottom]}]} for every page of the file,
    from the cache or read now. Raises FileNotFoundError for a missing file."""
    path = cache_dir / f"{_key(source)}.words.json"
    if path.exists():
        return {int(k): v for k, v in json.loads(path.read_text(encoding="utf-8")).items()}
    text = read_document(describe(source, settings), settings)
    pages = {p.number: [{"t": w.text, "b": [round(float(x), 2) for x in w.bbox]}
                        for w in p.words] for p in text.pages}
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(pages), encoding="utf-8")
    tmp.replace(path)
    return pages
