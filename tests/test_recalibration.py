"""The confidence recalibration learned from clerks' reviews: pure cases."""

from __future__ import annotations

import random

import pytest

from extractors import recalibration as r
from extractors.recalibration import Sample


def _overconfident(n: int, seed: int = 1) -> list[Sample]:
    """Totals staged at 0.95 of which only 70% were right."""
    rng = random.Random(seed)
    return [Sample("total", 0.95, rng.random() < 0.7) for _ in range(n)]


def test_apply_and_raw_are_inverse_and_empty_is_identity():
    model = {"total": (0.5, -0.3)}
    for p in (0.1, 0.5, 0.93, 0.999):
        assert r.raw(model, "total", r.apply(model, "total", p)) == pytest.approx(p, abs=1e-5)
        assert r.apply({}, "total", p) == pytest.approx(p, abs=1e-4)
    assert r.apply(model, "iban", 0.9) == pytest.approx(0.9, abs=1e-4)  # unfitted field


def test_fit_moves_an_overconfident_field_towards_its_accuracy():
    model = r.fit(_overconfident(200))
    assert 0.6 < r.apply(model, "total", 0.95) < 0.8
    assert (
        r.score(model, _overconfident(200, 2))["brier"]
        < r.score({}, _overconfident(200, 2))["brier"]
    )


def test_few_reviews_leave_a_field_alone():
    assert r.fit(_overconfident(5), min_samples=10) == {}


def test_the_order_of_confidences_is_kept():
    reversed_evidence = [Sample("x", 0.99, False)] * 30 + [Sample("x", 0.6, True)] * 30
    a, _ = r.fit(reversed_evidence)["x"]
    assert a > 0


def test_candidate_promoted_only_when_better_and_not_worse():
    reviewed = [(doc, s) for doc, s in enumerate(_overconfident(400))]
    better = r.train_candidate(reviewed, {})
    assert better.promote and better.decision.startswith("promoted")
    again = r.train_candidate(reviewed, better.model)
    assert not again.promote  # nothing left to gain
    labelled = [Sample("total", 0.95, True)] * 100  # the labelled sets: totals are right
    guarded = r.train_candidate(reviewed, {}, labelled)
    assert not guarded.promote and guarded.metrics["fields_left_as_they_were"] == ["total"]


def _by_method(n: int, seed: int = 3) -> list[tuple[int, Sample]]:
    """Addresses staged at 0.95: read from the text layer 97% right, by OCR 55% right."""
    rng = random.Random(seed)
    out = []
    for doc in range(n):
        out.append((doc, Sample("vendor_address", 0.95, rng.random() < 0.97, "text_layer")))
        out.append((doc, Sample("vendor_address", 0.95, rng.random() < 0.55, "ocr")))
    return out


def test_a_method_that_errs_more_gets_its_own_mapping():
    model, chosen = r.fit_grouped(_by_method(120))
    assert "vendor_address@ocr" in model and chosen["vendor_address@ocr"] is not None
    ocr = r.apply(model, "vendor_address", 0.95, "ocr")
    text = r.apply(model, "vendor_address", 0.95, "text_layer")
    assert 0.45 < ocr < 0.65 and text > 0.9
    test = [s for _, s in _by_method(120, seed=4)]
    field_only = r.fit([s for _, s in _by_method(120)])
    assert r.score(model, test)["brier"] < r.score(field_only, test)["brier"]


def test_cross_validation_leaves_a_well_calibrated_field_alone():
    rng = random.Random(5)
    calibrated = [(d, Sample("total", p, rng.random() < p)) for d in range(300)
                  for p in (rng.choice((0.6, 0.8, 0.95)),)]  # fmt: skip
    model, chosen = r.fit_grouped(calibrated)
    assert chosen == {"total": None} and model == {}


def test_a_value_filled_by_rule_is_never_surer_than_its_recalibrated_source():
    """A recalibration that learns totals are over-confident lowers the total; the amount due
    filled from it (`rule:due=total`) and the subtotal computed as total less tax go down with
    it, though their own fields' mappings are the identity."""
    from decimal import Decimal

    from invoices.records import FieldValue, Invoice, Method, Provenance

    def value(amount: str, conf: float, method: Method, extractor: str) -> FieldValue:
        prov = Provenance(method=method, extractor=extractor, page=1, raw_text=amount)
        return FieldValue(value=Decimal(amount), confidence=conf, provenance=prov)

    invoice = Invoice(
        total=value("119.00", 0.99, Method.TEXT_LAYER, "label"),
        tax=value("19.00", 0.98, Method.TEXT_LAYER, "label"),
        amount_due=value("119.00", 0.99, Method.RULE, "rule:due=total"),
        subtotal=value("100.00", 0.97, Method.RULE, "rule:total-tax"),
    )
    lowered = r.recalibrate_invoice(invoice, {"total": (1.0, -4.0)})
    assert lowered.total.confidence < 0.9
    assert lowered.amount_due.confidence == lowered.total.confidence
    assert lowered.subtotal.confidence == lowered.total.confidence
    assert lowered.tax.confidence == 0.98  # not derived: left as its own mapping says


def test_labelled_values_carry_the_method_their_evidence_tells(tmp_path):
    """A labelled value filled by rule (evidence `derived`) is scored as a rule value, so a
    mapping for rule values is judged on the labelled rule values, not on text-layer ones."""
    import json

    rows = [
        ["amount_due", {"label": 1.0, "position": 1.0, "derived": 1.0, "bias": 1.0}, True, "a"],
        ["amount_due", {"label": 1.0, "position": 1.0, "ocr": 1.0, "bias": 1.0}, True, "b"],
        ["total", {"label": 1.0, "position": 1.0, "bias": 1.0}, False, "c"],
    ]
    path = tmp_path / "samples_x.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    methods = [s.method for s in r.labelled_samples([path])]
    assert methods == ["rule", "ocr", "text_layer"]


def test_a_field_mapping_is_judged_on_the_methods_it_ends_up_covering():
    """The text-layer mapping of a field is worse on the labelled text-layer values and left
    out; the field's own mapping then covers those values too, so it is judged on them (and left
    out as well) instead of on the OCR values alone: the kept model is never worse on the
    labelled values than the current one."""
    rng = random.Random(3)
    reviewed = [(doc, Sample("subtotal", 0.95, rng.random() < 0.6, method))
                for doc in range(200) for method in ("text_layer", "ocr")]  # fmt: skip
    labelled = [Sample("subtotal", 0.95, True, "text_layer") for _ in range(50)]
    labelled += [Sample("subtotal", 0.95, i < 30, "ocr") for i in range(50)]  # 60% right
    model = {"subtotal": (0.5, -1.0), "subtotal@text_layer": (0.5, -1.0)}
    kept, dropped = r._keep_if_not_worse(model, {}, labelled)
    assert dropped == ["subtotal", "subtotal@text_layer"] and kept == {}
    cand = r.train_candidate(reviewed, {}, labelled)
    assert not r.worse_on(cand.metrics["labelled"], cand.baseline["labelled"])
