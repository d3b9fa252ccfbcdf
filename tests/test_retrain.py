"""The learning loop on the staged batch a clerk worked (tests/clerk.py, the generator's truth):
the confidence recalibration is fitted from reviewed values, promoted only when better on the
held-back documents and not worse on the labelled sets, refused when worse, and rolled back by
command."""

from __future__ import annotations

import json

import pytest
from prefect.testing.utilities import prefect_test_harness

from cli.main import main as invoices
from extractors.recalibration import is_held_back, score
from flows.retrain import CALIBRATION_SETS, retrain
from staging import corrections, db, learning, models
from synthetic import FAMILY_KINDS

pytestmark = [pytest.mark.db, pytest.mark.slow]

VISUAL = ("text_layer", "ocr", "rule")  # the methods of values read from the page


@pytest.fixture(scope="module")
def retrained(staged_batch):
    """The retrain flow once over every kind (calibration, GL history)."""
    overrides = {"database_url": staged_batch.url, "db_schema": staged_batch.schema}
    with prefect_test_harness(server_startup_timeout=120):
        return retrain(overrides=overrides)


@pytest.fixture(scope="module")
def promoted(retrained):
    return retrained["calibration"]


def test_no_links_teach_no_aliases(retrained):
    assert retrained["vendor_aliases"]["decision"].startswith("refused: nothing changed")


def test_the_gl_history_model_is_retrained_and_decided(retrained, staged_batch):
    history = retrained["history"]
    assert history["decision"].startswith(("promoted", "refused")), history
    with db.connection(staged_batch.url, staged_batch.schema) as conn:
        stored = {r["version"]: r for r in models.versions(conn, "history")}
    assert stored[history["version"]]["decision"] == history["decision"]
    assert stored[history["version"]]["metrics"] == history["metrics"]


def test_the_clerk_reviewed_and_corrected_values(staged_batch):
    """At least 50 real errors on the visual path: staged values that differ from the
    generator's truth on documents printed in the layout families, born-digital and scanned
    (none is made wrong on purpose; an e-invoice's address, which carries the country, is not
    counted)."""
    with db.connection(staged_batch.url, staged_batch.schema) as conn:
        samples = learning.reviewed_samples(conn)
    wrong = [s for _, s in samples if not s.right]
    assert staged_batch.corrected == len(wrong) and len(samples) >= 500
    assert sum(1 for s in wrong if s.method in VISUAL) >= 50
    labels = (staged_batch.corpus / "labels").iterdir()
    truths = [json.loads(p.read_text())["truth"] for p in labels]
    assert any(t["scanned"] for t in truths) and not all(t["scanned"] for t in truths)
    assert {f for t in truths for f in t["families"]} == set(FAMILY_KINDS)


def test_a_better_calibration_is_promoted_with_its_figures(promoted, staged_batch):
    assert promoted["promoted"], promoted["decision"]
    cand, base = promoted["metrics"]["held_back"], promoted["baseline"]["held_back"]
    print(
        f"\nheld back ({cand['samples']} values): Brier {cand['brier']} vs {base['brier']}, "
        f"log loss {cand['log_loss']} vs {base['log_loss']}, ECE {cand['ece']} vs {base['ece']}"
    )
    with db.connection(staged_batch.url, staged_batch.schema) as conn:
        held = [s for doc, s in learning.reviewed_samples(conn) if is_held_back(doc)]
    assert cand["samples"] == base["samples"] == len(held) > 100
    assert sum(1 for s in held if not s.right) >= 10  # the held-back slice has errors to predict
    assert cand["brier"] < base["brier"] and cand["log_loss"] < base["log_loss"]
    assert promoted["metrics"]["labelled"]["brier"] <= promoted["baseline"]["labelled"]["brier"]
    with db.connection(staged_batch.url, staged_batch.schema) as conn:
        version, model = learning.promoted_calibration(conn)
        stored = models.versions(conn, "calibration")
    assert version == promoted["version"] and model
    assert stored[0]["metrics"] == promoted["metrics"]  # the figures are kept with the version
    assert stored[0]["baseline"]["version"] == learning.IDENTITY_VERSION


def test_the_promoted_calibration_is_better_on_the_visual_path_held_back(promoted, staged_batch):
    """Judged on the held-back documents' values read from the page (text layer, OCR, rule),
    the promoted calibration (fitted on the clerk's corrections, guarded by the labelled sets)
    is better than none. (Until session 7 this was claimed for a candidate fitted on the
    corrections alone, without the guard: on this batch, whose text-layer family errors the
    extraction now reads right, that candidate is refused as worse on the held-back values,
    which is the guard doing its work.)"""
    with db.connection(staged_batch.url, staged_batch.schema) as conn:
        _, model = learning.promoted_calibration(conn)
        visual = [s for doc, s in learning.reviewed_samples(conn)
                  if is_held_back(doc) and s.method in VISUAL]  # fmt: skip
    cand, base = score(model, visual), score({}, visual)
    print(f"\nheld back, visual path ({cand['samples']} values): Brier {cand['brier']} vs "
          f"{base['brier']}, log loss {cand['log_loss']} vs {base['log_loss']}, "
          f"ECE {cand['ece']} vs {base['ece']}")  # fmt: skip
    assert sum(1 for s in visual if not s.right) >= 10
    assert cand["brier"] < base["brier"] and cand["log_loss"] < base["log_loss"]


def test_a_candidate_worse_on_a_guarded_figure_is_refused(promoted, staged_batch):
    """A careless clerk 'corrects' every right currency on the fitted documents: the candidate
    learns that currencies are wrong while the held-back documents and the labelled sets say
    they are right. Scored on the held-back documents alone it is refused as worse; with the
    labelled sets, the currency mapping is left as it was and nothing is promoted. All of it
    in a transaction rolled back afterwards."""
    conn = db.connect(staged_batch.url, staged_batch.schema)
    try:
        for doc, sample in learning.reviewed_samples(conn):
            if sample.field == "currency" and sample.right and not is_held_back(doc):
                corrections.record_field_correction(conn, doc, "currency", "XXX", clerk="careless")
        outcome = learning.retrain_calibration(conn, labelled=())
        assert not outcome["promoted"]
        assert outcome["decision"].startswith("refused: worse on held_back.brier"), outcome
        assert outcome["metrics"]["held_back"]["brier"] > outcome["baseline"]["held_back"]["brier"]
        guarded = learning.retrain_calibration(conn, CALIBRATION_SETS)
        assert not guarded["promoted"]
        assert "currency" in guarded["metrics"]["fields_left_as_they_were"]
        assert learning.promoted_calibration(conn)[0] == promoted["version"]
    finally:
        conn.rollback()
        conn.close()


def test_rollback_restores_the_previous_version(promoted, staged_batch, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", staged_batch.url)
    monkeypatch.setenv("INVOICES_DB_SCHEMA", staged_batch.schema)
    assert invoices(["rollback", "calibration"]) == 0
    assert f"rolled back {promoted['version']}" in capsys.readouterr().out
    with db.connection(staged_batch.url, staged_batch.schema) as conn:
        assert learning.promoted_calibration(conn) == (learning.IDENTITY_VERSION, {})
        rows = {r["version"]: r for r in models.versions(conn, "calibration")}
    assert rows[promoted["version"]]["rolled_back_at"] is not None
    assert invoices(["rollback", "calibration"]) == 2  # nothing earlier than the identity
