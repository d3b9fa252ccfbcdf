"""The evaluation report: predictions scored against labels, as the tables `invoices eval`
prints and the figures it writes as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from extractors.evaluation.grouped import leave_vendor_out, other_sets
from extractors.evaluation.predict import predict_folder
from extractors.evaluation.scoring import APART_SUFFIX, Scores, load_manifest, score_document
from invoices.settings import Settings


@dataclass
class Evaluation:
    """What an evaluation prints (`text`) and what it writes as JSON (`figures`)."""

    text: str
    figures: dict[str, Any]
    scores: Scores


def evaluate_folder(
    folder: Path,
    settings: Settings,
    *,
    split: str | None = None,
    limit: int = 0,
    predictions: Path | None = None,
    use_einvoice: bool = True,
    workers: int = 1,
    fit_calibration: bool = False,
    ocr_cache: Path | None = None,
) -> Evaluation:
    """Run the extraction over a labelled folder (or score saved `predictions`, JSON per
    doc_id) and score it; with `fit_calibration`, also refit the confidence calibration.
    With `ocr_cache`, OCR readings are kept in and reused from that folder."""
    rows = load_manifest(folder, split)
    if limit:
        rows = rows[:limit]
    if predictions:
        by_id = json.loads(predictions.read_text())
        preds = [dict(by_id.get(r["doc_id"], {}), doc_id=r["doc_id"]) for r in rows]
    else:
        preds = predict_folder(
            folder, rows, use_einvoice=use_einvoice, workers=workers, ocr_cache=ocr_cache
        )
    evaluation = score(rows, preds, settings, folder)
    if fit_calibration:
        evaluation.text += "\n" + _fit(folder, evaluation.scores)
    return evaluation


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


def score(
    rows: list[dict[str, Any]], preds: list[dict[str, Any]], settings: Settings, folder: Path
) -> Evaluation:
    """Score predictions against the labels: the printed tables and the JSON figures."""
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
    in_sample, grouped = leave_vendor_out(
        scores.samples, scores.sample_groups, other_sets(folder), thresholds
    )
    lines.append(
        f"calibration, leave-vendor-out ({len(set(scores.sample_groups))} vendors, each scored "
        f"by a model fitted without it): {grouped.accepted}/{grouped.scored} values "
        f"auto-accepted ({grouped.share:.3f}), precision of auto-accepted {grouped.precision:.3f}"
        f" (in-sample on the same values: {in_sample.share:.3f}, {in_sample.precision:.3f})"
    )
    lines.append(
        f"recall, leave-vendor-out: {scores.overall.recall:.3f}, the same as in-sample: the"
        " extraction fits nothing on labelled documents (its rules are code), only the"
        " confidence calibration is fitted, and that is scored leave-vendor-out above"
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
    figures = _as_json(scores, timing, preds, share, acc_prec)
    figures["straight_through"] = round(straight, 4)
    figures["calibration"]["in_sample"] = in_sample.as_dict()
    figures["calibration"]["leave_vendor_out"] = grouped.as_dict()
    figures["leave_vendor_out_recall"] = round(scores.overall.recall, 4)
    return Evaluation("\n".join(lines), figures, scores)


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


def _fit(folder: Path, scores: Scores) -> str:
    """Keep this folder's (evidence, right?, vendor) samples and refit on every folder's
    samples (`refit_stored`); returns what was done, for printing."""
    from extractors.confidence import CALIBRATION_FILE

    store = CALIBRATION_FILE.parent / f"samples_{folder.resolve().name}.jsonl"
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(
        "".join(
            json.dumps([*s, g]) + "\n"
            for s, g in zip(scores.samples, scores.sample_groups, strict=True)
        )
    )
    return refit_stored(store.parent)


def refit_stored(store: Path) -> str:
    """Refit the calibration on every samples file in `store` and choose the thresholds on
    out-of-fold confidences (each vendor, in every set, scored by a model fitted without it:
    the figure `invoices eval` prints as leave-vendor-out); returns what was done, for
    printing."""
    from extractors.confidence import (
        CALIBRATION_FILE,
        FIELD_TARGET,
        GENERATED_TARGET,
        TARGET,
        fit_calibration,
        out_of_fold,
        read_samples,
        save_calibration,
        set_targets,
        thresholds_on_scores,
    )

    sets = {file.stem: read_samples(file) for file in sorted(store.glob("samples_*.jsonl"))}
    tagged = [(name, row) for name, rows in sets.items() for row in rows]
    save_calibration(fit_calibration([row[:3] for _, row in tagged]), store / CALIBRATION_FILE.name)
    held_out = out_of_fold([row for _, row in tagged])
    scored: dict[str, dict[str, list[tuple[float, bool]]]] = {}
    for (name, (field_name, _, ok, _)), conf in zip(tagged, held_out, strict=True):
        scored.setdefault(name, {}).setdefault(field_name, []).append((conf, ok))
    for per_set in scored.values():
        for pairs in per_set.values():
            pairs.sort(key=lambda r: -r[0])
    targets = set_targets(list(scored))
    thresholds = thresholds_on_scores(scored, targets=targets, field_target=FIELD_TARGET)
    lines = [
        f"calibration fitted on {len(tagged)} values from {store}",
        f"thresholds for a precision of {TARGET} on every real set, {GENERATED_TARGET} on every"
        f" generated one and {FIELD_TARGET} on every field's values, on out-of-fold"
        " confidences (each vendor"
        f" scored by a model fitted without it): {thresholds}",
    ]
    for name, per_set in scored.items():
        accepted = [ok for f, pairs in per_set.items() for c, ok in pairs
                    if c >= thresholds.get(f, 1.01)]  # fmt: skip
        values = sum(len(pairs) for pairs in per_set.values())
        lines.append(
            f"  {name}: {len(accepted)}/{values} auto-accepted out of fold"
            f" ({len(accepted) / max(1, values):.3f}),"
            f" precision {sum(accepted) / max(1, len(accepted)):.3f}"
        )
    return "\n".join(lines)


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
