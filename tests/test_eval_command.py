"""`invoices eval` end to end on a tiny generated folder, and the confidence calibration."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from extractors.confidence import (
    choose_thresholds,
    confidence,
    fit_calibration,
    out_of_fold,
    read_samples,
    thresholds_for_every_set,
    thresholds_on_scores,
    vendor_folds,
    with_defaults,
)

ROWS = [
    "Muster Elektro GmbH",
    "Rechnungsnummer: RE-77",
    "Rechnungsdatum: 05.03.2024",
    "Nettobetrag 100,00 EUR",
    "USt. 19 % 19,00 EUR",
    "Bruttosumme 119,00 EUR",
]


def _folder(tmp_path: Path) -> Path:
    from fpdf import FPDF

    (tmp_path / "docs").mkdir()
    (tmp_path / "labels").mkdir()
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    for row in ROWS:
        pdf.cell(0, 8, row, new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(tmp_path / "docs" / "a.pdf"))
    label = {
        "schema": "eval-label/v1",
        "doc_id": "a",
        "label_coverage": "complete",
        "fields": {
            "vendor_name": "Muster Elektro GmbH",
            "invoice_number": "RE-77",
            "invoice_date": "2024-03-05",
            "total": 119.0,
            "tax": 19.0,
            "subtotal": 100.0,
            "currency": "EUR",
            "po_number": None,
        },
        "line_items": None,
        "group": "muster",
    }
    (tmp_path / "labels" / "a.json").write_text(json.dumps(label))
    row = {"doc_id": "a", "documents": ["docs/a.pdf"], "label": "labels/a.json", "split": "dev"}
    (tmp_path / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    return tmp_path


@pytest.mark.slow
def test_eval_prints_the_overall_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path)
    out_json = tmp_path / "out.json"
    assert (
        main(["eval", str(folder), "--no-einvoice", "--workers", "1", "--json", str(out_json)]) == 0
    )
    printed = capsys.readouterr().out.strip().splitlines()
    assert printed[-1] == "overall: recall 1.000 precision 1.000 over 1 documents"
    assert any(line.startswith("seconds per page [text_layer]") for line in printed)
    figures = json.loads(out_json.read_text())
    assert figures["fields"]["total"]["correct"] == 1


def test_calibration_orders_evidence_and_thresholds_hit_the_target() -> None:
    strong = {"label": 1.0, "position": 1.0, "agreement": 1.0, "arithmetic": 1.0}
    weak = {"label": 0.4, "position": 0.6, "agreement": 0.5, "arithmetic": 0.0}
    samples = [("total", strong, True)] * 60 + [("total", weak, i % 2 == 0) for i in range(40)]
    model = fit_calibration(samples)
    assert confidence("total", strong, model) > 0.9 > confidence("total", weak, model)
    thresholds = choose_thresholds(samples, model=model)
    # values carry their confidence rounded to 4 places, and thresholds are chosen on those
    accepted = [
        ok for f, ev, ok in samples if round(confidence(f, ev, model), 4) >= thresholds["total"]
    ]
    assert len(accepted) == 60 and all(accepted)


def test_joint_thresholds_keep_every_set_at_the_target_and_accept_the_clean_values() -> None:
    clean = {"label": 1.0, "position": 1.0, "agreement": 1.0, "bias": 1.0}
    skipped = dict(clean, skipped=1.0)
    weak = {"label": 0.4, "position": 0.6, "agreement": 0.5, "bias": 1.0}
    sets = {
        # a small set where a value after skipped text was wrong, clean ones right
        "small": [("invoice_number", clean, True)] * 8 + [("invoice_number", skipped, False)] * 4,
        "large": [("invoice_number", clean, True)] * 200
        + [("invoice_number", skipped, True)] * 4
        + [("total", weak, i % 2 == 0) for i in range(40)]
        + [("total", clean, True)] * 100,
    }
    model = fit_calibration([row for rows in sets.values() for row in rows])
    chosen = thresholds_for_every_set(sets, 0.99, model=model)
    for rows in sets.values():
        accepted = [
            ok for f, ev, ok in rows if round(confidence(f, ev, model), 4) >= chosen.get(f, 1.01)
        ]
        assert accepted and sum(accepted) / len(accepted) >= 0.99
    assert round(confidence("invoice_number", clean, model), 4) >= chosen["invoice_number"]
    assert round(confidence("total", weak, model), 4) < chosen["total"]


def test_vendor_folds_put_each_vendor_in_one_fold_and_balance_them() -> None:
    groups = ["a"] * 50 + ["b"] * 30 + ["c"] * 30 + ["d"] * 10 + ["e"] * 10 + ["f"]
    folds = vendor_folds(groups, folds=3)
    assert set(folds) == set(groups) and set(folds.values()) == {0, 1, 2}
    load = [sum(groups.count(g) for g, f in folds.items() if f == k) for k in range(3)]
    assert max(load) - min(load) <= 10  # largest first, each to the lightest fold
    assert vendor_folds(list(reversed(groups)), folds=3) == folds  # the order never matters
    assert vendor_folds(["x", "y"], folds=5) == {"x": 0, "y": 1}  # no empty folds
    alone = vendor_folds(groups, folds=0)  # leave one vendor out
    assert sorted(alone.values()) == list(range(6)) and set(alone) == set(groups)


def _vendor_with_its_own_habit() -> list[tuple[str, dict[str, float], bool, str]]:
    """Four vendors whose clean values are right, and one whose values all carry a trait
    nobody else's do (text skipped between label and value) and are all wrong."""
    clean = {"label": 1.0, "position": 1.0, "agreement": 1.0, "bias": 1.0}
    weak = {"label": 0.4, "position": 0.5, "agreement": 0.5, "bias": 1.0}
    rows = []
    for vendor in ("v1", "v2", "v3", "v4"):
        rows += [("total", clean, True, vendor)] * 40
        rows += [("total", weak, i % 3 == 0, vendor) for i in range(15)]
    rows += [("total", dict(clean, skipped=1.0), False, "odd")] * 12
    return rows


def test_out_of_fold_scores_a_vendor_with_a_model_that_never_saw_it() -> None:
    rows = _vendor_with_its_own_habit()
    in_sample = fit_calibration([r[:3] for r in rows])
    odd = next(r for r in rows if r[3] == "odd")
    # fitted on everything, the model has learnt the odd vendor's trait from its own errors
    assert confidence("total", odd[1], in_sample) < 0.5
    held_out = out_of_fold(rows, folds=5)
    odd_scores = {c for c, r in zip(held_out, rows, strict=True) if r[3] == "odd"}
    # without them, its wrong values look as good as anybody's clean ones
    assert min(odd_scores) > 0.9
    clean_scores = [c for c, r in zip(held_out, rows, strict=True) if r[3] != "odd" and r[2]]
    assert min(odd_scores) >= sorted(clean_scores)[len(clean_scores) // 2]


def test_thresholds_on_out_of_fold_scores_refuse_what_a_new_vendor_gets_wrong() -> None:
    rows = _vendor_with_its_own_habit()
    model = fit_calibration([r[:3] for r in rows])
    sets = {"real": [r[:3] for r in rows]}
    # chosen in-sample, values pass: the odd vendor's errors sit below the clean ones there
    in_sample = thresholds_for_every_set(sets, 0.99, model=model)["total"]
    assert in_sample < 1.0
    held_out = out_of_fold(rows, folds=5)
    odd = [c for c, r in zip(held_out, rows, strict=True) if r[3] == "odd"]
    # but a vendor like it that the model has not seen passes that threshold, every value wrong
    assert all(c >= in_sample for c in odd)
    pairs = sorted(((c, r[2]) for c, r in zip(held_out, rows, strict=True)), key=lambda p: -p[0])
    chosen = thresholds_on_scores({"real": {"total": pairs}}, 0.99)["total"]
    assert all(c < chosen for c in odd)
    accepted = [ok for c, ok in pairs if c >= chosen]
    assert not accepted or sum(accepted) / len(accepted) >= 0.99


def test_samples_files_carry_the_vendor_and_old_lines_stand_alone(tmp_path: Path) -> None:
    ev = {"label": 1.0, "bias": 1.0}
    path = tmp_path / "samples_x.jsonl"
    path.write_text(
        json.dumps(["total", ev, True, "Acme"]) + "\n" + json.dumps(["total", ev, False]) + "\n"
    )
    rows = read_samples(path)
    read = with_defaults(ev)  # the evidence as written, completed for features added since
    assert rows[0] == ("total", read, True, "Acme")
    assert rows[1][:3] == ("total", read, False) and rows[1][3] == "samples_x#1"


def test_straight_through_needs_every_routed_field_at_its_threshold() -> None:
    from extractors.evaluation.report import straight_through

    routed = {"total": 0.9, "currency": 0.95}
    preds = [
        {"fields": {"total": {"confidence": 0.95}, "currency": {"confidence": 0.95}}},
        {"fields": {"total": {"confidence": 0.95}, "currency": {"confidence": 0.94}}},
        {"fields": {"total": {"confidence": 0.99}}},
        {"error": "unreadable", "fields": {}},
    ]
    assert straight_through(preds, routed) == 0.25
    assert straight_through([], routed) == 0.0
