"""`invoices eval-classification` on a small generated folder and on the ZUGFeRD samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main

pytestmark = pytest.mark.slow

ZUGFERD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "zugferd"


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from synthetic.corpus import generate_corpus

    out = tmp_path_factory.mktemp("corpus") / "c"
    generate_corpus(out, 40, seed=5, workers=1, scanned_share=0.0, history_lines=3000)
    return out


def test_eval_classification_on_a_generated_folder(generated: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "figures.json"
    assert (
        main(["eval-classification", str(generated), "--embedder", "hashing", "--out", str(out)])
        == 0
    )
    figures = json.loads(out.read_text())
    assert figures == json.loads(capsys.readouterr().out)
    assert figures["documents"] == len(list((generated / "labels").glob("*.json")))
    assert figures["document_type_accuracy"] >= 0.9
    assert figures["lines_with_history"] > 20
    assert figures["gl_top1_with_history"] >= 0.85
    assert figures["gl_top3_with_history"] >= figures["gl_top1_with_history"]
    assert figures["approval_route_accuracy"] >= 0.8
    assert figures["llm_share_of_lines"] == 0.0 and figures["llm_calls_per_1000_invoices"] == 0.0


@pytest.mark.skipif(not ZUGFERD.exists(), reason="shared/eval/zugferd is not beside the repo")
def test_zugferd_document_types(tmp_path: Path) -> None:
    out = tmp_path / "z.json"
    assert main(["eval-classification", str(ZUGFERD), "--out", str(out)]) == 0
    figures = json.loads(out.read_text())
    assert figures["documents"] >= 70
    assert figures["document_type_accuracy"] >= 0.95
