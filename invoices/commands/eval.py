"""`invoices eval DIR`: score the extraction on a labelled folder (shared/eval format).

Prints per field recall and precision (all documents, and those whose label is visible in the
text), line-item F1, per-group figures, seconds per page by path, the calibration figures, and
ends with `overall: recall R precision P over N documents`.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from extractors.evaluation import APART_SUFFIX, Scores, load_manifest, score_document
from invoices.records import HEADER_FIELDS, DocumentText, Method, PageText
from invoices.settings import Settings, load_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `eval` sub-command."""
    parser = subparsers.add_parser("eval", help="score extraction on a labelled folder")
    parser.add_argument("folder", type=Path, help="folder with manifest.jsonl, labels/, docs/")
    parser.add_argument("--split", default=None, help="only documents of this split")
    parser.add_argument("--no-einvoice", action="store_true", help="score the visual path alone")
    parser.add_argument("--json", type=Path, default=None, help="write all figures to this file")
    parser.add_argument(
        "--workers", type=int, default=1, help="documents read in parallel (1: per-core timing)"
    )
    parser.add_argument("--limit", type=int, default=0, help="only the first N documents")
    parser.add_argument(
        "--predictions",
        type=Path,
        default=None,
        help="score these predictions (JSON per doc_id) instead of running",
    )
    parser.add_argument(
        "--fit-calibration",
        action="store_true",
        help="fit the confidence calibration on this folder and save it",
    )
    parser.set_defaults(handler=run)


def _read(path: Path, settings: Settings) -> DocumentText:
    from extractors.intake import describe
    from extractors.text import read_document

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
    import extractors.intake  # noqa: F401
    import extractors.text  # noqa: F401


def predict_one(job: tuple[str, str, bool]) -> dict[str, Any]:
    """Read and extract one document; return its prediction and timings (runs in a worker)."""
    from extractors.extract import extract_invoice, extract_visual_with_evidence

    doc_id, path, use_einvoice = job
    settings = load_settings(ocr_workers=1)
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


def run(args: argparse.Namespace) -> int:
    """Run the extraction over the folder and print the scores."""
    settings = load_settings()
    rows = load_manifest(args.folder, args.split)
    if args.limit:
        rows = rows[: args.limit]
    if args.predictions:
        by_id = json.loads(args.predictions.read_text())
        preds = [dict(by_id.get(r["doc_id"], {}), doc_id=r["doc_id"]) for r in rows]
    else:
        jobs = [
            (r["doc_id"], str(args.folder / r["documents"][0]), not args.no_einvoice) for r in rows
        ]
        with ProcessPoolExecutor(max_workers=max(1, args.workers), initializer=_warm_up) as pool:
            preds = list(pool.map(predict_one, jobs))
    return report(rows, preds, settings, args)


def _timing(preds: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for pred in preds:
        if "path" not in pred or "seconds" not in pred:
            continue
        slot = out.setdefault(
            pred["path"], {"documents": 0, "pages": 0, "seconds": 0.0, "cpu_seconds": 0.0}
        )
        slot["documents"] += 1
        slot["pages"] += pred["pages"]
        slot["seconds"] += pred["seconds"]
        slot["cpu_seconds"] += pred.get("cpu_seconds", 0.0)
    for slot in out.values():
        slot["seconds_per_page"] = round(slot["seconds"] / max(1, slot["pages"]), 4)
        slot["cpu_seconds_per_page"] = round(slot["cpu_seconds"] / max(1, slot["pages"]), 4)
    return out


def _field_table(scores: Scores) -> list[str]:
    out = [
        f"{'field':<28}{'labelled':>9}{'extracted':>10}{'correct':>8}{'recall':>8}{'prec':>7}"
        f"{'vis.rec':>8}{'vis.prec':>9}"
    ]
    for name in sorted(scores.fields):
        t, v = scores.fields[name], scores.visible[name]
        out.append(
            f"{name:<28}{t.labelled:>9}{t.extracted:>10}{t.correct:>8}{t.recall:>8.3f}"
            f"{t.precision:>7.3f}{v.recall:>8.3f}{v.precision:>9.3f}"
        )
    c = scores.vendor_clean
    out.append(
        f"{'vendor_name (no legal form)':<28}{c.labelled:>9}{c.extracted:>10}{c.correct:>8}"
        f"{c.recall:>8.3f}{c.precision:>7.3f}"
    )
    return out


def _lines_and_groups(scores: Scores) -> list[str]:
    f1 = f"{scores.line_f1:.3f}" if scores.lines_gold else "n/a (no line items labelled)"
    lines = [
        f"line items: F1 {f1} (matched {scores.lines_tp}, "
        f"predicted {scores.lines_pred}, labelled {scores.lines_gold})",
        "",
        f"{'group':<40}{'labelled':>9}{'recall':>8}{'prec':>7}",
    ]
    for group, t in sorted(scores.groups.items()):
        lines.append(f"{group[:39]:<40}{t.labelled:>9}{t.recall:>8.3f}{t.precision:>7.3f}")
    for title, tallies in (("group", scores.groups), ("distinct invoice", scores.distinct)):
        macro = [t.recall for t in tallies.values() if t.labelled]
        if macro:
            lines.append(f"per-{title} mean recall {sum(macro) / len(macro):.3f} over {len(macro)}")
    return lines


def report(
    rows: list[dict[str, Any]],
    preds: list[dict[str, Any]],
    settings: Settings,
    args: argparse.Namespace,
) -> int:
    """Score predictions against the labels, print the tables, optionally write JSON."""
    scores = Scores()
    thresholds = {**settings.auto_accept_thresholds, **settings.confidence_thresholds}
    for row, pred in zip(rows, preds, strict=True):
        flat = dict(pred.get("fields") or {})
        flat["lines"] = pred.get("lines") or []
        score_document(scores, row["label_data"], flat, thresholds)
    lines = [*_field_table(scores), "", *_lines_and_groups(scores), ""]
    timing = _timing(preds)
    for path, slot in sorted(timing.items()):
        lines.append(
            f"seconds per page [{path}]: {slot['seconds_per_page']:.3f} "
            f"(CPU {slot['cpu_seconds_per_page']:.3f}; "
            f"{slot['pages']} pages, {slot['documents']} documents)"
        )
    share = scores.accepted / scores.scored_values if scores.scored_values else 0.0
    acc_prec = scores.accepted_correct / scores.accepted if scores.accepted else 0.0
    lines.append(
        f"calibration: {scores.accepted}/{scores.scored_values} values auto-accepted "
        f"({share:.3f}), precision of auto-accepted {acc_prec:.3f}"
    )
    straight = straight_through(preds, settings.confidence_thresholds)
    lines.append(
        f"straight-through: {straight:.3f} of documents have every routed field "
        f"({', '.join(sorted(settings.confidence_thresholds))}) at or above its threshold"
    )
    lines += [f"error {p['doc_id']}: {p['error']}" for p in preds if p.get("error")]
    overall = scores.overall
    lines.append(
        f"overall: recall {overall.recall:.3f} precision {overall.precision:.3f} "
        f"over {scores.documents} documents"
    )
    print("\n".join(lines))
    if args.fit_calibration:
        _fit(args.folder, scores)
    if args.json:
        figures = _as_json(scores, timing, preds, share, acc_prec)
        figures["straight_through"] = round(straight, 4)
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


def straight_through(preds: list[dict[str, Any]], routed: dict[str, float]) -> float:
    """The share of documents whose routed fields are all present and at/above threshold
    (what the flow passes without the exception queue, before matching and validation)."""
    if not preds:
        return 0.0
    passed = 0
    for pred in preds:
        fields = pred.get("fields") or {}
        passed += all(
            name in fields and (fields[name].get("confidence") or 0.0) >= threshold
            for name, threshold in routed.items()
        )
    return passed / len(preds)


def _fit(folder: Path, scores: Scores) -> None:
    """Keep this folder's (evidence, right?) samples and refit on every folder's samples."""
    from extractors.confidence import (
        CALIBRATION_FILE,
        fit_calibration,
        save_calibration,
        thresholds_for_every_set,
    )

    store = CALIBRATION_FILE.parent / f"samples_{folder.resolve().name}.jsonl"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text("".join(json.dumps(s) + "\n" for s in scores.samples))
    sets = {
        file.stem: [tuple(json.loads(raw)) for raw in file.read_text().splitlines()]
        for file in sorted(store.parent.glob("samples_*.jsonl"))
    }
    samples = [row for rows in sets.values() for row in rows]
    save_calibration(fit_calibration(samples))  # type: ignore[arg-type]
    print(f"calibration fitted on {len(samples)} values from {store.parent}")
    print(f"thresholds for 99% precision on every set: {thresholds_for_every_set(sets)}")  # type: ignore[arg-type]


def _as_json(
    scores: Scores,
    timing: dict[str, Any],
    preds: list[dict[str, Any]],
    share: float,
    acc_prec: float,
) -> dict[str, Any]:
    def tally(t: Any) -> dict[str, Any]:
        return {
            "labelled": t.labelled,
            "extracted": t.extracted,
            "correct": t.correct,
            "recall": round(t.recall, 4),
            "precision": round(t.precision, 4),
        }

    return {
        "documents": scores.documents,
        "overall": tally(scores.overall),
        "fields": {k: tally(v) for k, v in scores.fields.items()},
        "fields_reported_apart": [k for k in scores.fields if k.endswith(APART_SUFFIX)],
        "visible": {k: tally(v) for k, v in scores.visible.items()},
        "vendor_name_without_legal_form": tally(scores.vendor_clean),
        "groups": {k: tally(v) for k, v in scores.groups.items()},
        "line_items": {
            "f1": round(scores.line_f1, 4),
            "matched": scores.lines_tp,
            "predicted": scores.lines_pred,
            "labelled": scores.lines_gold,
        },
        "seconds_per_page": timing,
        "calibration": {
            "auto_accepted_share": round(share, 4),
            "auto_accepted_precision": round(acc_prec, 4),
            "values": scores.scored_values,
        },
        "predictions": {p["doc_id"]: p for p in preds},
    }
