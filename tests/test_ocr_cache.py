"""The OCR cache for evaluations: a reading is reused only for the same file, page and OCR."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from extractors.text import ocr, ocr_cache
from invoices.records import Word
from invoices.settings import Settings


@pytest.fixture
def reader(monkeypatch: pytest.MonkeyPatch) -> list[ocr.OcrJob]:
    """Tesseract replaced by a recorder: each job read returns one word naming its page."""
    read: list[ocr.OcrJob] = []

    def fake_pages(jobs: list[ocr.OcrJob], workers: int) -> list[ocr.OcrResult | BaseException]:
        read.extend(jobs)
        return [
            ocr.OcrResult(
                index=job.index,
                words=[Word(text=f"page{job.index}", bbox=(1.0, 2.0, 3.0, 4.0), confidence=0.8)],
                width=595.0,
                height=842.0,
                confidence=0.8,
                seconds=1.5,
                notes=["deskewed +1.2"],
            )
            for job in jobs
        ]

    monkeypatch.setattr(ocr, "ocr_pages", fake_pages)
    monkeypatch.setattr(ocr_cache, "tesseract_version", lambda: "5.3.0")
    return read


def _job(path: Path, **changes: object) -> ocr.OcrJob:
    job = ocr.OcrJob(path=str(path), is_pdf=True, index=0, languages="eng+deu", dpi=300)
    return replace(job, **changes)  # type: ignore[arg-type]


def test_a_second_reading_of_the_same_page_comes_from_the_cache(
    tmp_path: Path, reader: list[ocr.OcrJob]
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 a scan")
    cache = tmp_path / "cache"
    jobs = [_job(scan), _job(scan, index=1)]
    first = ocr_cache.ocr_pages_cached(jobs, 1, cache)
    again = ocr_cache.ocr_pages_cached(jobs, 1, cache)
    assert len(reader) == 2  # only the first call read the pages
    for a, b in zip(first, again, strict=True):
        assert isinstance(a, ocr.OcrResult) and isinstance(b, ocr.OcrResult)
        assert (b.index, b.words, b.width, b.confidence) == (a.index, a.words, a.width, 0.8)
        assert "from the OCR cache" in b.notes


@pytest.mark.parametrize(
    "changes",
    [
        {"dpi": 200},
        {"languages": "eng"},
        {"skip": ("table",)},
        {"max_pixels": 1_000_000},
        {"index": 3},
    ],
)
def test_a_changed_ocr_setting_is_a_miss(
    tmp_path: Path, reader: list[ocr.OcrJob], changes: dict[str, object]
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 a scan")
    ocr_cache.ocr_pages_cached([_job(scan)], 1, tmp_path / "cache")
    ocr_cache.ocr_pages_cached([_job(scan, **changes)], 1, tmp_path / "cache")
    assert len(reader) == 2


def test_another_tesseract_other_content_or_other_ocr_code_is_a_miss(
    tmp_path: Path, reader: list[ocr.OcrJob], monkeypatch: pytest.MonkeyPatch
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 a scan")
    cache = tmp_path / "cache"
    ocr_cache.ocr_pages_cached([_job(scan)], 1, cache)
    monkeypatch.setattr(ocr_cache, "tesseract_version", lambda: "5.4.1")
    ocr_cache.ocr_pages_cached([_job(scan)], 1, cache)
    assert len(reader) == 2
    scan.write_bytes(b"%PDF-1.4 another scan under the same name")
    ocr_cache.ocr_pages_cached([_job(scan)], 1, cache)
    assert len(reader) == 3
    monkeypatch.setattr(ocr_cache, "ocr_code_digest", lambda: "the OCR procedure changed")
    ocr_cache.ocr_pages_cached([_job(scan)], 1, cache)
    assert len(reader) == 4


def test_the_key_covers_the_ocr_code_and_version() -> None:
    before = ocr_cache.ocr_code_digest()
    ocr_cache.ocr_code_digest.cache_clear()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ocr, "VERSION", ocr.VERSION + "-changed")
            assert ocr_cache.ocr_code_digest() != before
    finally:
        ocr_cache.ocr_code_digest.cache_clear()


@pytest.mark.parametrize("damage", ["", "{not json", '{"key": "another", "result": {}}', "[1, 2]",
                                    '{"key": "KEY", "result": {"words": 3}}'])  # fmt: skip
def test_a_corrupt_entry_is_ignored_and_written_again(
    tmp_path: Path, reader: list[ocr.OcrJob], damage: str
) -> None:
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 a scan")
    cache = tmp_path / "cache"
    ocr_cache.ocr_pages_cached([_job(scan)], 1, cache)
    key = ocr_cache.cache_key(_job(scan))
    (entry,) = cache.rglob("*.json")
    assert entry.name == f"{key}.json"
    entry.write_text(damage.replace("KEY", key))
    (result,) = ocr_cache.ocr_pages_cached([_job(scan)], 1, cache)
    assert len(reader) == 2  # read again
    assert isinstance(result, ocr.OcrResult) and result.words[0].text == "page0"
    assert ocr_cache.load(cache, key) is not None  # and the entry is whole again


def test_a_failed_or_cut_short_reading_is_not_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr_cache, "tesseract_version", lambda: "5.3.0")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 a scan")
    cut = ocr.OcrResult(index=1, words=[], width=1.0, height=1.0, confidence=None, seconds=9.0,
                        notes=["binarised: no time left"])  # fmt: skip
    monkeypatch.setattr(ocr, "ocr_pages", lambda jobs, workers: [ocr.OcrTimeout("late"), cut])
    cache = tmp_path / "cache"
    first = ocr_cache.ocr_pages_cached([_job(scan), _job(scan, index=1)], 1, cache)
    assert isinstance(first[0], ocr.OcrTimeout) and first[1] is cut
    assert not list(cache.rglob("*.json"))


def test_the_nightly_batch_keeps_no_ocr_cache_unless_configured() -> None:
    assert Settings().ocr_cache_dir == ""


@pytest.mark.slow
@pytest.mark.ocr
def test_invoices_eval_keeps_the_readings_of_scans_and_reuses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from PIL import Image, ImageDraw, ImageFont

    from cli.main import main

    folder = tmp_path / "set"
    (folder / "docs").mkdir(parents=True)
    (folder / "labels").mkdir()
    page = Image.new("L", (1240, 1754), 255)
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=36)
    for i, row in enumerate(["Muster Elektro GmbH", "Invoice number: RE-77", "Total 119.00 EUR"]):
        draw.text((100, 150 + 70 * i), row, fill=0, font=font)
    page.save(folder / "docs" / "a.png")
    label = {"schema": "eval-label/v1", "doc_id": "a", "label_coverage": "complete",
             "fields": {"invoice_number": "RE-77", "total": 119.0}, "line_items": None,
             "group": "muster"}  # fmt: skip
    (folder / "labels" / "a.json").write_text(json.dumps(label))
    row = {"doc_id": "a", "documents": ["docs/a.png"], "label": "labels/a.json", "split": "dev"}
    (folder / "manifest.jsonl").write_text(json.dumps(row) + "\n")
    cache = tmp_path / "ocr-cache"
    command = ["eval", str(folder), "--no-einvoice", "--ocr-cache", str(cache)]
    assert main(command) == 0
    first = capsys.readouterr().out.splitlines()[-1]
    (entry,) = cache.rglob("*.json")
    stored = entry.read_text()
    assert "RE-77" in stored
    assert main(command) == 0
    assert capsys.readouterr().out.splitlines()[-1] == first
    assert entry.read_text() == stored  # read back, not written again
    assert main([*command, "--no-ocr-cache"]) == 0
    assert len(list(cache.rglob("*.json"))) == 1
