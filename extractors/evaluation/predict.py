"""Predictions for an evaluation: read and extract each labelled document, in worker processes.

Each prediction is plain JSON (header fields with confidence and evidence, line items) with the
seconds and CPU seconds it took, so that the scorer never needs the extractors again.
"""

from __future__ import annotations

import json
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from invoices.records import HEADER_FIELDS, DocumentText, Method, PageText
from invoices.settings import Settings, load_settings


def _read(path: Path, settings: Settings) -> DocumentText:
    from extractors.text.intake import describe
    from extractors.text.read import read_document

    if path.suffix.lower() == ".txt":  # published as extracted text only
        started = time.perf_counter()
        text = path.read_text(errors="replace")
        return DocumentText(
            pages=[
                PageText(
                    number=1,
                    method=Method.TEXT_LAYER,
                    text=text,
                    seconds=time.perf_counter() - started,
                )
            ]
        )
    return read_document(describe(path, settings), settings)


def _warm_up() -> None:
    """Import the readers and extractors once per worker, so start-up is not billed per page."""
    import extractors.extract  # noqa: F401
    import extractors.text.intake  # noqa: F401
    import extractors.text.read  # noqa: F401


def predict_one(job: tuple[str, str, bool, str]) -> dict[str, Any]:
    """Read and extract one document; return its prediction and timings (runs in a worker).
    The job: doc_id, path, whether to read embedded XML, the OCR cache folder ("" for none)."""
    from extractors.extract import extract_invoice, extract_visual_with_evidence

    doc_id, path, use_einvoice, ocr_cache = job
    settings = load_settings(ocr_workers=1, ocr_cache_dir=ocr_cache)
    started = time.perf_counter()
    cpu_started = _cpu_seconds()
    try:
        text = _read(Path(path), settings)
        read_seconds = time.perf_counter() - started
        xml_used = bool(use_einvoice and text.einvoice_xml)
        t0 = time.perf_counter()
        invoice, evidence = extract_visual_with_evidence(text, settings)
        if xml_used:  # what the pipeline runs: XML merged over the visual reading
            t0 = time.perf_counter()
            invoice = extract_invoice(text, settings, use_einvoice=True)
        extract_seconds = time.perf_counter() - t0
    except Exception as exc:  # one bad document is reported, the evaluation goes on
        return {
            "doc_id": doc_id,
            "error": f"{type(exc).__name__}: {exc}",
            "fields": {},
            "lines": [],
        }
    methods = sorted({p.method.value for p in text.pages})
    path_name = "einvoice_xml" if xml_used else ("ocr" if "ocr" in methods else "text_layer")
    return {
        "doc_id": doc_id,
        **_prediction(invoice, None if xml_used else evidence),
        "path": path_name,
        "pages": max(1, len(text.pages)),
        "seconds": read_seconds + extract_seconds,
        "cpu_seconds": _cpu_seconds() - cpu_started,
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (tesseract runs as a child)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _prediction(invoice: Any, evidence: dict[str, Any] | None) -> dict[str, Any]:
    """An invoice as plain JSON values: header fields with confidence and evidence, lines."""
    fields = {}
    for name in HEADER_FIELDS:
        fv = invoice.field(name)
        if fv is not None:
            fields[name] = {
                "value": fv.value.isoformat() if hasattr(fv.value, "isoformat") else fv.value,
                "confidence": fv.confidence,
                "evidence": (evidence or {}).get(name),
            }
    lines = [
        {
            k: (getattr(item, k).value if getattr(item, k) is not None else None)
            for k in ("description", "quantity", "unit_price", "line_total")
        }
        for item in invoice.lines
    ]
    return {
        "fields": json.loads(json.dumps(fields, default=str)),
        "lines": json.loads(json.dumps(lines, default=str)),
    }


def predict_folder(
    folder: Path,
    rows: list[dict[str, Any]],
    *,
    use_einvoice: bool,
    workers: int = 1,
    ocr_cache: Path | None = None,
) -> list[dict[str, Any]]:
    """One prediction per manifest row (its first document), `workers` documents at once;
    OCR readings kept in and reused from `ocr_cache` when given."""
    cache = str(ocr_cache) if ocr_cache else ""
    jobs = [(r["doc_id"], str(folder / r["documents"][0]), use_einvoice, cache) for r in rows]
    with ProcessPoolExecutor(max_workers=max(1, workers), initializer=_warm_up) as pool:
        return list(pool.map(predict_one, jobs))
