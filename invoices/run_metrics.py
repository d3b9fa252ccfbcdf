"""Run metrics: one record per processed document, summed into the figures of a batch run.

Pure logic over plain values, so the flow, the run report and a test all read the same
numbers: counts, pages by how they were read, exceptions by reason code, straight-through and
auto-accept rates, seconds per stage (p50, p95, max), LLM usage, and the cost per 1,000
invoices from CPU-seconds and LLM tokens times the configured prices.
"""

from __future__ import annotations

import math
from collections import Counter
from decimal import Decimal
from typing import Any

from invoices.records import DocumentResult, FieldValue, Method, Status
from invoices.settings import Settings

OCR_METHODS = {Method.OCR.value}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by the nearest-rank rule; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def spread(values: list[float]) -> dict[str, float]:
    """p50, p95, max and total of a list of seconds."""
    return {
        "p50": round(percentile(values, 50), 4),
        "p95": round(percentile(values, 95), 4),
        "max": round(max(values), 4) if values else 0.0,
        "total": round(sum(values), 4),
    }


def accepted_fields(result: DocumentResult, settings: Settings) -> tuple[int, int]:
    """(fields present, fields at or above their auto-accept threshold) of one document."""
    if result.invoice is None:
        return 0, 0
    thresholds = {**settings.auto_accept_thresholds, **settings.confidence_thresholds}
    present = accepted = 0
    for name, threshold in thresholds.items():
        fv = getattr(result.invoice, name, None)
        if not isinstance(fv, FieldValue):
            continue
        present += 1
        accepted += fv.confidence >= threshold
    return present, accepted


def document_record(
    result: DocumentResult, settings: Settings, page_methods: list[str]
) -> dict[str, Any]:
    """The figures of one processed document that the run metrics sum (JSON-ready)."""
    present, accepted = accepted_fields(result, settings)
    usage = (result.classification or {}).get("llm") or {}
    versions = (result.classification or {}).get("model_versions") or {}
    return {
        "file": result.document.path.name,
        "status": result.status.value,
        "exception": result.is_exception,
        "reasons": sorted(r.value for r in result.reasons),
        "timings": dict(result.timings),
        "pages_ocr": sum(1 for m in page_methods if m in OCR_METHODS),
        "pages_text_layer": sum(1 for m in page_methods if m not in OCR_METHODS),
        "fields_present": present,
        "fields_accepted": accepted,
        "llm_calls": int(usage.get("calls", 0)),
        "llm_tokens": int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0)),
        "llm_prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "llm_completion_tokens": int(usage.get("completion_tokens", 0)),
        "llm_seconds": float(usage.get("seconds", 0.0)),
        "llm_call_seconds": [float(s) for s in usage.get("call_seconds") or []],
        "model_versions": dict(versions),
    }


def cost(cpu_seconds: float, llm_tokens: int, invoices: int, settings: Settings) -> dict[str, Any]:
    """What the run cost at the configured prices, in total and per 1,000 invoices."""
    cpu = Decimal(str(round(cpu_seconds, 3))) * settings.cpu_price_per_hour / Decimal(3600)
    llm = Decimal(llm_tokens) * settings.llm_cost_per_1k_tokens / Decimal(1000)
    total = cpu + llm
    per_1000 = total * 1000 / invoices if invoices else Decimal(0)
    return {
        "cpu_seconds": round(cpu_seconds, 2),
        "llm_tokens": llm_tokens,
        "cpu": round(cpu, 6),
        "llm": round(llm, 6),
        "total": round(total, 6),
        "per_1000_invoices": round(per_1000, 4),
        "currency": settings.cost_currency,
    }


def _call_seconds(record: dict[str, Any]) -> list[float]:
    """Each LLM call's seconds in one document; a record without them (written before they
    were kept) counts its mean once per call."""
    if record.get("llm_call_seconds"):
        return list(record["llm_call_seconds"])
    calls = record["llm_calls"]
    return [record["llm_seconds"] / calls] * calls if calls else []


def _per_call(total: int, calls: int) -> float:
    return round(total / calls, 1) if calls else 0.0


def _llm(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's LLM calls: tokens (prompt, completion), seconds in all and per call."""
    calls = sum(r["llm_calls"] for r in records)
    tokens = sum(r["llm_tokens"] for r in records)
    prompt = sum(r.get("llm_prompt_tokens", 0) for r in records)
    completion = sum(r.get("llm_completion_tokens", 0) for r in records)
    return {
        "calls": calls,
        "tokens": tokens,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "seconds": round(sum(r["llm_seconds"] for r in records), 3),
        "seconds_per_call": spread([s for r in records for s in _call_seconds(r)]),
        "tokens_per_call": _per_call(tokens, calls),
        "prompt_tokens_per_call": _per_call(prompt, calls),
        "completion_tokens_per_call": _per_call(completion, calls),
    }


def summarise(
    records: list[dict[str, Any]], settings: Settings, cpu_seconds: float = 0.0
) -> dict[str, Any]:
    """The run metrics of the documents processed in a run (see `document_record`)."""
    stages: dict[str, list[float]] = {}
    for r in records:
        for stage, seconds in r["timings"].items():
            stages.setdefault(stage, []).append(float(seconds))
    per_document = [sum(float(s) for s in r["timings"].values()) for r in records]
    present = sum(r["fields_present"] for r in records)
    reasons = Counter(code for r in records for code in r["reasons"])
    llm = _llm(records)
    versions: dict[str, str] = {}
    for r in records:
        versions.update(r["model_versions"])
    return {
        "processed": len(records),
        "pages": {
            "text_layer": sum(r["pages_text_layer"] for r in records),
            "ocr": sum(r["pages_ocr"] for r in records),
        },
        "failures": sum(1 for r in records if r["status"] == Status.FAILED.value),
        "exceptions_by_reason": dict(sorted(reasons.items())),
        "straight_through_rate": (
            round(sum(1 for r in records if not r["exception"]) / len(records), 4)
            if records
            else 0.0
        ),
        "auto_accept_rate": (
            round(sum(r["fields_accepted"] for r in records) / present, 4) if present else 0.0
        ),
        "stage_percentiles": {k: spread(v) for k, v in sorted(stages.items())},
        "seconds_per_document": spread(per_document),
        "llm": llm,
        "cost": cost(cpu_seconds, llm["tokens"], len(records), settings),
        "model_versions": dict(sorted(versions.items())),
    }
