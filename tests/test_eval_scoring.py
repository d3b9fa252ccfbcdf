"""The evaluation scorer: normalisation, recall/precision, issuer names apart, line F1."""

from __future__ import annotations

from extractors.evaluation.scoring import (
    Scores,
    normalise,
    score_document,
    score_lines,
    strip_legal,
)


def test_normalisation() -> None:
    assert normalise("total", 27.8) == "27.80"
    assert normalise("total", "1234.5") == "1234.50"
    assert normalise("invoice_date", "2018-03-05") == "2018-03-05"
    assert normalise("vendor_name", "  Lieferant   GmbH ") == "lieferant gmbh"
    assert normalise("vendor_vat_id", "DE 232 446 240") == "de232446240"
    assert strip_legal("unihakka international sdn bhd") == "unihakka international"


def _label(fields: dict, complete: bool = True, **extra) -> dict:
    return {
        "fields": fields,
        "label_coverage": "complete" if complete else "partial",
        "group": "g",
        "line_items": None,
        **extra,
    }


def test_recall_and_precision() -> None:
    scores = Scores()
    label = _label({"total": 10.0, "invoice_number": "A1", "due_date": None})
    prediction = {
        "total": {"value": "10.00", "confidence": 0.99},
        "invoice_number": {"value": "B2", "confidence": 0.99},
        "due_date": {"value": "2020-01-01", "confidence": 0.1},
    }
    score_document(scores, label, prediction, {"total": 0.9, "invoice_number": 0.9})
    overall = scores.overall
    assert (overall.labelled, overall.extracted, overall.correct) == (2, 3, 1)
    assert scores.accepted == 2 and scores.accepted_correct == 1


def test_partial_labels_do_not_count_unlabelled_extractions() -> None:
    scores = Scores()
    score_document(
        scores,
        _label({"total": 5.0}, complete=False),
        {"total": {"value": "5.00"}, "due_date": {"value": "2020-01-01"}},
        {},
    )
    assert scores.overall.extracted == 1 and scores.overall.correct == 1


def test_issuer_short_name_is_reported_apart() -> None:
    scores = Scores()
    label = _label(
        {"vendor_name": "Coolblue", "vendor_legal_name": "Coolblue B.V."},
        complete=False,
        original_labels={"issuer": "Coolblue"},
    )
    score_document(scores, label, {"vendor_name": {"value": "Coolblue B.V."}}, {})
    assert scores.fields["vendor_name"].correct == 1
    assert scores.fields["vendor_name[issuer]"].correct == 0
    assert scores.overall.labelled == 1


def test_line_matching_is_one_to_one() -> None:
    gold = [
        {"description": "Kabel", "line_total": 10.0},
        {"description": "Dose", "line_total": 10.0},
    ]
    pred = [
        {"description": "Kabel NYM", "line_total": "10.00"},
        {"description": "Kabel NYM", "line_total": "10.00"},
        {"description": "Dose weiß", "line_total": "10.00"},
    ]
    assert score_lines(pred, gold) == 2


def test_leave_vendor_out_shows_what_in_sample_calibration_hides() -> None:
    """Vendor B prints a strong label before a wrong value: a calibration fitted with B's
    documents has learnt that; one fitted without B accepts B's wrong values."""
    from extractors.confidence import fit_calibration
    from extractors.evaluation.grouped import leave_vendor_out

    def ev(label: float, position: float) -> dict[str, float]:
        return {"label": label, "position": position, "bias": 1.0}

    samples, groups = [], []
    for vendor in ("A", "C"):  # a strong label means a right value
        for i in range(30):
            samples.append(("total", ev(1.0, 0.9), True))
            samples.append(("total", ev(0.2, 0.1 + (i % 3) * 0.1), False))
            groups += [vendor, vendor]
    for _ in range(20):  # vendor B: its strong label sits beside the wrong amount
        samples.append(("total", ev(1.0, 0.2), False))
        groups.append("B")
    stored = fit_calibration(samples)
    in_sample, grouped = leave_vendor_out(samples, groups, [], {"total": 0.5}, stored)
    assert in_sample.scored == grouped.scored == len(samples)
    assert in_sample.accepted == 60 and in_sample.precision == 1.0
    assert grouped.accepted == 80 and grouped.precision == 0.75  # B's 20 wrong values accepted


def test_leave_vendor_out_also_leaves_the_vendor_out_of_the_other_sets() -> None:
    """Vendor B's scans are scored while its PDFs sit in another labelled set: a model that
    kept those would know B's habit; the vendor leaves every set."""
    from extractors.confidence import fit_calibration
    from extractors.evaluation.grouped import leave_vendor_out

    def ev(label: float, position: float) -> dict[str, float]:
        return {"label": label, "position": position, "bias": 1.0}

    samples, groups = [], []
    for vendor in ("A", "C"):
        for i in range(30):
            samples.append(("total", ev(1.0, 0.9), True))
            samples.append(("total", ev(0.2, 0.1 + (i % 3) * 0.1), False))
            groups += [vendor, vendor]
    scans = [("total", ev(1.0, 0.2), False)] * 20
    samples += scans
    groups += ["B"] * 20
    others = [(*s, "B") for s in scans]  # the same vendor's PDFs, in another set
    stored = fit_calibration(samples + [o[:3] for o in others])
    _, grouped = leave_vendor_out(samples, groups, others, {"total": 0.5}, stored)
    assert grouped.accepted == 80 and grouped.precision == 0.75
