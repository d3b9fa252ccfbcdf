"""Reading documents: PDF text layer, embedded e-invoice XML, OCR of images and scanned pages."""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from extractors.text import ocr, ocr_preprocess, ocr_tesseract
from extractors.text.intake import describe
from extractors.text.read import layout_text, read_document, usable_chars
from invoices.records import Method, Word
from invoices.settings import Settings, load_settings

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
ZUGFERD = EVAL / "zugferd"
SAMPLE_PDF = ZUGFERD / "docs" / "v2_intarsys_EN16931_zugferd_2p0_EN16931_Einfach.pdf"
SAMPLE_JPEG = EVAL / "sroie" / "docs" / "train_030.jpg"

needs_eval = pytest.mark.skipif(not SAMPLE_PDF.is_file(), reason=f"no eval set at {EVAL}")


@pytest.fixture
def text_settings() -> Settings:
    return load_settings(ocr_workers=1)


def _label(dataset: str, doc_id: str) -> dict:
    return json.loads((EVAL / dataset / "labels" / f"{doc_id}.json").read_text())


def _compact(text: str) -> str:
    return "".join(text.split()).casefold()


# --- layout -------------------------------------------------------------------------------


def _w(text: str, x0: float, top: float, x1: float, bottom: float) -> Word:
    return Word(text=text, bbox=(x0, top, x1, bottom))


def test_layout_groups_lines_and_keeps_column_gaps() -> None:
    words = [
        _w("1.234,56", 400, 101, 440, 111),  # a little lower than its label, same line
        _w("Total", 50, 100, 75, 110),
        _w("Invoice", 50, 80, 85, 90),
        _w("No.", 88, 80, 103, 90),
        _w("4711", 106, 80, 126, 90),
    ]
    assert layout_text(words).splitlines() == [
        "Invoice No. 4711",
        "Total" + " " * 12 + "1.234,56",
    ]


def test_usable_chars_ignores_unmapped_glyphs() -> None:
    assert usable_chars("(cid:12)(cid:13) (cid:14)") == 0
    assert usable_chars("Total: 12,00 €") == 9


# --- text layer ---------------------------------------------------------------------------


@needs_eval
def test_text_layer_of_a_zugferd_pdf(text_settings: Settings) -> None:
    document = describe(SAMPLE_PDF, text_settings)
    assert document.media_type == "application/pdf"
    assert len(document.sha256) == 64
    text = read_document(document, text_settings)
    label = _label("zugferd", SAMPLE_PDF.stem)
    assert len(text.pages) == label["documents"][0]["pages"]
    first = text.pages[0]
    assert first.method == Method.TEXT_LAYER
    assert first.width > 500 and first.height > 800  # A4 in points
    for word in first.words:
        x0, top, x1, bottom = word.bbox
        assert 0 <= x0 < x1 <= first.width + 1 and 0 <= top < bottom <= first.height + 1
    assert label["fields"]["invoice_number"] in first.text
    # a line item keeps its description and amount on one line, columns apart
    line_total = f"{label['line_items'][0]['line_total']:.2f}".replace(".", ",")
    item_lines = [ln for ln in first.text.splitlines() if line_total in ln]
    assert any(re.search(r"\S {2,}\S", ln) for ln in item_lines), item_lines
    assert first.seconds < 5
    assert text.errors == []


@needs_eval
def test_embedded_einvoice_xml_is_found(text_settings: Settings) -> None:
    text = read_document(describe(SAMPLE_PDF, text_settings), text_settings)
    original = ZUGFERD / _label("zugferd", SAMPLE_PDF.stem)["original_labels"]["xml_file"]
    assert text.einvoice_xml == original.read_bytes()
    assert text.einvoice_name and text.einvoice_name.lower().endswith(".xml")


@needs_eval
def test_visual_path_works_with_xml_switched_off() -> None:
    settings = load_settings(read_einvoice_xml=False, ocr_workers=1)
    text = read_document(describe(SAMPLE_PDF, settings), settings)
    assert text.einvoice_xml is None and text.einvoice_name is None
    assert all(p.method == Method.TEXT_LAYER for p in text.pages)
    assert usable_chars(text.full_text) > 200


@needs_eval
def test_bare_einvoice_xml_file(tmp_path: Path, text_settings: Settings) -> None:
    original = ZUGFERD / _label("zugferd", SAMPLE_PDF.stem)["original_labels"]["xml_file"]
    path = tmp_path / "invoice.xml"
    path.write_bytes(original.read_bytes())
    document = describe(path, text_settings)
    assert document.media_type == "application/xml"
    text = read_document(document, text_settings)
    assert text.einvoice_xml == original.read_bytes() and text.pages == []


# --- OCR ----------------------------------------------------------------------------------


@needs_eval
@pytest.mark.ocr
def test_ocr_of_a_receipt_jpeg(text_settings: Settings) -> None:
    text = read_document(describe(SAMPLE_JPEG, text_settings), text_settings)
    (page,) = text.pages
    assert page.method == Method.OCR
    assert page.ocr_confidence is not None and 0.5 < page.ocr_confidence <= 1
    with Image.open(SAMPLE_JPEG) as image:  # boxes are in original image pixels
        assert (page.width, page.height) == pytest.approx(image.size, abs=2)
    assert all(0 <= w.confidence <= 1 for w in page.words)
    assert all(w.bbox[2] <= page.width + 2 and w.bbox[3] <= page.height + 2 for w in page.words)
    fields = _label("sroie", SAMPLE_JPEG.stem)["fields"]
    compact = _compact(page.text)
    assert _compact(fields["vendor_name"]) in compact
    assert _compact(fields["total_raw"]) in compact


@needs_eval
@pytest.mark.ocr
@pytest.mark.slow
def test_ocr_turns_a_sideways_scan_upright(tmp_path: Path, text_settings: Settings) -> None:
    path = tmp_path / "sideways.png"
    with Image.open(SAMPLE_JPEG) as image:
        image.convert("L").rotate(90, expand=True).save(path)
    text = read_document(describe(path, text_settings), text_settings)
    (page,) = text.pages
    fields = _label("sroie", SAMPLE_JPEG.stem)["fields"]
    assert _compact(fields["total_raw"]) in _compact(page.text)
    assert page.height > page.width  # the receipt stands upright again


def test_a_garbled_reading_is_suspected_of_being_upside_down() -> None:
    def words(text: str) -> list[Word]:
        return [_w(t, 0, 0, 10, 10) for t in text.split()]

    upright = words("Rechnung Nr. 4711 Datum 03.01.2025 Menge Preis Summe netto " * 2)
    garbled = words("una £0‘ PE9 ‚una €Z'TOT. = pueyos}nag JSAOUUEH GSTOE : 8e- zo- $zoz_ " * 2)
    assert ocr_tesseract.lexicon_hits(upright) >= ocr_tesseract.MIN_LEXICON_HITS
    assert not ocr_tesseract.reads_upside_down(upright)
    assert ocr_tesseract.reads_upside_down(garbled)
    assert not ocr_tesseract.reads_upside_down(garbled[:5]), (
        "a near-empty page is not judged by words"
    )


@needs_eval
@pytest.mark.ocr
@pytest.mark.slow
def test_upside_down_scan_is_turned_when_osd_is_unsure(
    tmp_path: Path, text_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Orientation detection often gives up on noisy scans; a reading with hardly any common
    invoice word is then tried upside down, and kept when it reads as text."""
    # patched where the engine looks it up (`ocr` imports it from `ocr_tesseract`)
    monkeypatch.setattr(ocr, "detect_rotation", lambda image, timeout: 0)
    path = tmp_path / "upside-down.png"
    with Image.open(SAMPLE_JPEG) as image:
        image.convert("L").rotate(180).save(path)
    text = read_document(describe(path, text_settings), text_settings)
    (page,) = text.pages
    fields = _label("sroie", SAMPLE_JPEG.stem)["fields"]
    assert _compact(fields["total_raw"]) in _compact(page.text)


@needs_eval
@pytest.mark.ocr
@pytest.mark.slow
@pytest.mark.parametrize("angle", [90, 270])
def test_sideways_scan_is_turned_when_osd_is_unsure(
    angle: int, tmp_path: Path, text_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A page read as vertical text is tried both ways round when OSD gives no answer."""
    # patched where the engine looks it up (`ocr` imports it from `ocr_tesseract`)
    monkeypatch.setattr(ocr, "detect_rotation", lambda image, timeout: 0)
    path = tmp_path / "sideways.png"
    with Image.open(SAMPLE_JPEG) as image:
        image.convert("L").rotate(angle, expand=True).save(path)
    text = read_document(describe(path, text_settings), text_settings)
    (page,) = text.pages
    fields = _label("sroie", SAMPLE_JPEG.stem)["fields"]
    assert _compact(fields["total_raw"]) in _compact(page.text)
    assert page.height > page.width


def _striped_page(angle: float) -> Image.Image:
    """A page of text-like dark bars, turned by `angle` degrees."""
    image = Image.new("L", (1200, 1600), 255)
    draw = ImageDraw.Draw(image)
    for row in range(20):
        top = 150 + row * 60
        draw.rectangle((150, top, 150 + 500 + (row % 3) * 150, top + 22), fill=0)
    return image.rotate(angle, resample=Image.Resampling.BILINEAR, expand=True, fillcolor=255)


@pytest.mark.parametrize("angle", [0.0, 2.0, -3.5])
def test_estimate_skew(angle: float) -> None:
    assert ocr_preprocess.estimate_skew(_striped_page(angle)) == pytest.approx(-angle, abs=0.45)


@needs_eval
@pytest.mark.ocr
@pytest.mark.slow
def test_scanned_pdf_pages_run_in_parallel(tmp_path: Path) -> None:
    """A PDF of two image-only pages: both go to OCR, in a pool of two workers."""
    path = tmp_path / "scan.pdf"
    with Image.open(SAMPLE_JPEG) as image:
        page = image.convert("L")
        page.save(path, "PDF", resolution=150, save_all=True, append_images=[page])
    settings = load_settings(ocr_workers=2, ocr_dpi=150)
    text = read_document(describe(path, settings), settings)
    assert [p.method for p in text.pages] == [Method.OCR, Method.OCR]
    fields = _label("sroie", SAMPLE_JPEG.stem)["fields"]
    for p in text.pages:
        assert _compact(fields["total_raw"]) in _compact(p.text)
        assert p.width < 1000  # PDF points, not pixels


@needs_eval
def test_a_page_that_fails_ocr_alone_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OCR timeout on one page leaves the document readable, with the error recorded."""

    def too_slow(job: ocr.OcrJob) -> ocr.OcrResult:
        raise ocr_tesseract.OcrTimeout(f"page {job.index + 1} took too long")

    monkeypatch.setattr(ocr, "run_job", too_slow)
    settings = load_settings(ocr_workers=1, min_text_chars_per_page=10_000)
    started = time.perf_counter()
    text = read_document(describe(SAMPLE_PDF, settings), settings)
    assert time.perf_counter() - started < 30
    assert len(text.errors) == len(text.pages)
    assert {e.category for e in text.errors} == {"OcrTimeout"}
    assert [e.page for e in text.errors] == [p.number for p in text.pages]
    # the thin text layer is kept rather than nothing
    assert all(p.method == Method.TEXT_LAYER and p.text for p in text.pages)


@needs_eval
@pytest.mark.ocr
def test_scan_with_a_thin_text_overlay_still_goes_to_ocr(tmp_path: Path) -> None:
    """A scanned page whose text layer is only a stamp is read by OCR, not by its layer."""
    from fpdf import FPDF

    scan = tmp_path / "scan.png"
    with Image.open(SAMPLE_JPEG) as image:
        image.convert("L").save(scan)
    pdf = FPDF(unit="pt", format=(540, 764))
    pdf.add_page()
    pdf.image(str(scan), x=0, y=0, w=540, h=764)
    pdf.set_font("helvetica", size=8)
    pdf.text(20, 20, "Received 2024-03-01 by AP scanner 7")
    path = tmp_path / "stamped.pdf"
    pdf.output(str(path))
    settings = load_settings(ocr_workers=1, ocr_dpi=200)
    (page,) = read_document(describe(path, settings), settings).pages
    assert page.method == Method.OCR
    fields = _label("sroie", SAMPLE_JPEG.stem)["fields"]
    assert _compact(fields["total_raw"]) in _compact(page.text)


def test_oversized_pdf_page_renders_within_the_pixel_limit(tmp_path: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format=(14000, 14000))  # a 5 m poster: 340 Mpx at 300 dpi
    pdf.add_page()
    path = tmp_path / "poster.pdf"
    pdf.output(str(path))
    job = ocr.OcrJob(path=str(path), is_pdf=True, index=0, languages="eng", max_pixels=4_000_000)
    image, to_points = ocr.load_page_image(job)
    assert image.width * image.height <= 4_000_000
    assert image.width * to_points == pytest.approx(14000, rel=0.01)


def test_transparent_image_is_read_on_white(tmp_path: Path) -> None:
    path = tmp_path / "transparent.png"
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((50, 50, 100, 100), fill=(0, 0, 0, 255))
    image.save(path)
    job = ocr.OcrJob(path=str(path), is_pdf=False, index=0, languages="eng")
    grey, _ = ocr.load_page_image(job)
    assert grey.getpixel((5, 5)) > 250  # transparent paper is white, not black
    w, h = grey.size
    assert grey.getpixel((w * 75 // 300, h * 75 // 200)) < 5


@needs_eval
@pytest.mark.ocr
def test_real_ocr_timeout_is_recorded_per_page() -> None:
    """Tesseract is stopped at the page's time budget: a full A4 page at 600 dpi cannot be read
    in one second, so each page records an OcrTimeout and the document is still returned."""
    settings = load_settings(
        ocr_workers=1, ocr_dpi=600, ocr_timeout_seconds=1, min_text_chars_per_page=10_000
    )
    started = time.perf_counter()
    text = read_document(describe(SAMPLE_PDF, settings), settings)
    assert time.perf_counter() - started < 20
    assert {e.category for e in text.errors} == {"OcrTimeout"}
    assert len(text.pages) == len(text.errors)


@needs_eval
def test_einvoice_kept_when_the_pages_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import extractors.text.read as text_module
    from invoices.errors import DocumentUnreadable

    def broken(path: Path, password: str | None) -> list:
        raise DocumentUnreadable(path, "content streams are corrupt")

    monkeypatch.setattr(text_module, "read_text_layer", broken)
    settings = load_settings(ocr_workers=1)
    text = read_document(describe(SAMPLE_PDF, settings), settings)
    assert text.einvoice_xml is not None and text.pages == []
    assert [e.category for e in text.errors] == ["DOCUMENT_UNREADABLE"]
    with pytest.raises(DocumentUnreadable):
        off = load_settings(ocr_workers=1, read_einvoice_xml=False)
        read_document(describe(SAMPLE_PDF, off), off)


def test_missing_ocr_language_is_an_infrastructure_fault(tmp_path: Path) -> None:
    """Missing language data is the machine's fault: it raises, it does not fail the document."""
    from invoices.errors import DocumentError, InfrastructureError

    path = tmp_path / "page.png"
    Image.new("L", (200, 100), 255).save(path)
    settings = load_settings(ocr_workers=1, ocr_languages="xx_missing")
    with pytest.raises(InfrastructureError) as err:
        read_document(describe(path, settings), settings)
    assert not isinstance(err.value, DocumentError)


def _receipt_top(tmp_path: Path) -> Image.Image:
    with Image.open(SAMPLE_JPEG) as image:
        grey = image.convert("L")
    return grey.crop((0, 0, grey.width, grey.height // 3))


@needs_eval
@pytest.mark.ocr
def test_multi_page_tiff_reads_every_frame(tmp_path: Path, text_settings: Settings) -> None:
    top = _receipt_top(tmp_path)
    path = tmp_path / "fax.tif"
    top.save(path, save_all=True, append_images=[top.rotate(180)])
    text = read_document(describe(path, text_settings), text_settings)
    assert [p.number for p in text.pages] == [1, 2]
    vendor = _compact(_label("sroie", SAMPLE_JPEG.stem)["fields"]["vendor_name"])
    assert all(vendor in _compact(p.text) for p in text.pages)  # the second one turned upright


@needs_eval
@pytest.mark.ocr
def test_only_the_scanned_page_of_a_mixed_pdf_is_ocred(tmp_path: Path) -> None:
    from fpdf import FPDF

    scan = tmp_path / "scan.png"
    _receipt_top(tmp_path).save(scan)
    pdf = FPDF(unit="pt", format="A4")
    pdf.add_page()
    pdf.set_font("helvetica", size=11)
    pdf.text(50, 80, "Invoice RE-2024-77 dated 2024-03-01, total 1,234.56 EUR")
    pdf.add_page()
    pdf.image(str(scan), x=0, y=0, w=595)
    path = tmp_path / "mixed.pdf"
    pdf.output(str(path))
    settings = load_settings(ocr_workers=1, ocr_dpi=200)
    text = read_document(describe(path, settings), settings)
    assert [p.method for p in text.pages] == [Method.TEXT_LAYER, Method.OCR]
    assert "RE-2024-77" in text.pages[0].text
    vendor = _compact(_label("sroie", SAMPLE_JPEG.stem)["fields"]["vendor_name"])
    assert vendor in _compact(text.pages[1].text)


def _ruled_grid_page(specks: int = 0) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """A page with a boxed header grid (rules around every cell, text inside) and, optionally,
    scanner grain; returns the page and the box of the text of one cell."""
    from PIL import ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 34)
    small = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 24)
    image = Image.new("L", (2400, 3400), 255)
    draw = ImageDraw.Draw(image)
    cells = [
        ("Rechnungs-Nr.", "INV-63685"),
        ("Belegdatum", "10.01.2025"),
        ("Bestell-Nr.", "4510100028"),
    ]
    for i, (label, value) in enumerate(cells):
        x = 150 + i * 500
        draw.rectangle((x, 800, x + 500, 920), outline=0, width=4)
        draw.text((x + 20, 815), label, fill=0, font=small)
        draw.text((x + 20, 860), value, fill=0, font=font)
    text_box = draw.textbbox((1170, 860), "4510100028", font=font)
    import random

    rng = random.Random(3)
    for _ in range(specks):
        x, y = rng.randrange(image.width - 2), rng.randrange(image.height - 2)
        draw.rectangle((x, y, x + 1, y + 1), fill=30)
    return image, text_box


def test_rules_and_specks_are_cleared_and_text_kept() -> None:
    import numpy as np

    page, (x0, y0, x1, y1) = _ruled_grid_page(specks=4000)
    cleaned, note = ocr_preprocess.clean_page(page)
    before, after = np.asarray(page), np.asarray(cleaned)
    assert note.startswith("cleaned")
    assert (after[800:806, 200:1500] > 200).all(), "the top rule of the grid is painted out"
    assert (after[830:900, 648:654] > 200).all(), "a cell's vertical border is painted out"
    ink_before = np.count_nonzero(before[y0:y1, x0:x1] < 128)
    ink_after = np.count_nonzero(after[y0:y1, x0:x1] < 128)
    assert ink_after >= 0.97 * ink_before, "the value inside the cell keeps its ink"
    assert np.count_nonzero(after[1500:3300] < 128) < 0.1 * np.count_nonzero(
        before[1500:3300] < 128
    )
    plain = Image.new("L", (800, 400), 255)
    assert ocr_preprocess.clean_page(plain) == (plain, "")


@pytest.mark.ocr
def test_value_in_a_ruled_grainy_cell_is_read() -> None:
    page, _ = _ruled_grid_page(specks=4000)
    result = ocr.ocr_image(page, "eng+deu", time.perf_counter() + 120, 1.0)
    text = " ".join(w.text for w in result.words)
    assert "4510100028" in text and "INV-63685" in text
    assert any(n.startswith("cleaned") for n in result.notes)


def _table_page(angle: float = 0.0) -> Image.Image:
    """An A4 page at 300 dpi with an item table spanning the width, turned by `angle`."""
    from PIL import ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 34)
    image = Image.new("L", (2480, 3508), 255)
    draw = ImageDraw.Draw(image)
    rows = [
        ("Description", "Qty", "Unit Price", "Amount"),
        ("Wireless keyboard and mouse set", "2", "69.61", "139.22"),
        ("USB-C cable 2m", "5", "15.53", "77.65"),
        ("USB-C docking station", "3", "241.33", "723.99"),
        ("Subtotal", "", "", "940.86"),
    ]
    draw.text((150, 300), "Boreapro LLP  Invoice No. 202540854", fill=0, font=font)
    for i, row in enumerate(rows):
        y = 900 + 90 * i
        for x, cell in zip((150, 1450, 1750, 2150), row, strict=True):
            draw.text((x, y), cell, fill=0, font=font)
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)


def _priced_rows(words: list[Word]) -> int:
    from extractors.layout import rows

    return sum(rows.priced(rows.join_line(r)) for r in rows.group_lines(words))


@pytest.mark.ocr
def test_a_slightly_skewed_table_reads_as_rows() -> None:
    # 0.8 degrees is left to tesseract (no resampling), but across 2,000 px the amounts sit a
    # line lower than the descriptions: the word boxes are straightened
    result = ocr.ocr_image(_table_page(-0.8), "eng", time.perf_counter() + 120, 1.0)
    assert result.skew == 0.0 and any(n.startswith("word boxes straightened") for n in result.notes)
    assert _priced_rows(result.words) == 3


@pytest.mark.ocr
def test_a_table_the_first_reading_lost_is_read_again() -> None:
    page = _table_page()
    words, confidence = ocr_tesseract.tesseract_words(page, "eng", 60, 1.0)
    assert _priced_rows(words) == 3
    # the automatic layout of some scans drops the number columns: simulate that reading
    lost = [w for w in words if not (w.bbox[0] > 1400 and 950 < w.bbox[1] < 1200)]
    from extractors.layout import rows

    assert rows.table_lost(lost) and not rows.table_lost(words)
    notes: list[str] = []
    got, _ = ocr._reread_table(
        page, (lost, confidence), (1.0, 0.0), ("eng", time.perf_counter() + 60, 1.0, notes)
    )
    assert _priced_rows(got) == 3
    assert "Boreapro" in {w.text for w in got}, "words outside the table stay"
    assert "table rows from the single-block reading" in notes


def test_tesseract_reads_the_page_from_an_uncompressed_file(monkeypatch) -> None:
    """A PNG costs tesseract a good part of a pass in deflating and inflating: the page goes to
    it as an uncompressed TIFF file, with the same pixels, removed afterwards."""
    seen: list[tuple[str, bytes]] = []

    def image_to_data(image, **kwargs):  # type: ignore[no-untyped-def]
        assert isinstance(image, str), "the page must reach tesseract as a file, not a PIL image"
        seen.append((image, Path(image).read_bytes()))
        keys = ("text", "conf", "left", "top", "width", "height")
        return {k: ["Total"] if k == "text" else [90 if k == "conf" else 10] for k in keys}

    monkeypatch.setattr(ocr_tesseract.pytesseract, "image_to_data", image_to_data)
    page = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(page).rectangle((10, 10, 60, 30), fill=0)
    words, confidence = ocr_tesseract.tesseract_words(page, "eng", 10, 0.5)
    path, data = seen[0]
    assert data[:4] in (b"II*\x00", b"MM\x00*") and path.endswith(".tif")
    with Image.open(io.BytesIO(data)) as back:
        assert back.info.get("compression") == "raw" and back.tobytes() == page.tobytes()
    assert not Path(path).exists()
    assert [w.text for w in words] == ["Total"] and words[0].bbox == (5.0, 5.0, 10.0, 10.0)
    assert confidence == 0.9


@needs_eval
def test_text_layer_words_are_pdfplumbers_own() -> None:
    """The text layer's characters are taken from pdfminer's layout without pdfplumber's
    `page.chars` (it converts every attribute of every character): the words stay exactly
    pdfplumber's."""
    import pdfplumber

    from extractors.text import pdf

    layer = pdf.read_text_layer(SAMPLE_PDF, None)
    with pdfplumber.open(str(SAMPLE_PDF)) as doc:
        for page, got in zip(doc.pages, layer, strict=True):
            raw = page.extract_words(
                x_tolerance=pdf.X_TOLERANCE, y_tolerance=pdf.Y_TOLERANCE, use_text_flow=False
            )
            expected = [(w["text"], (w["x0"], w["top"], w["x1"], w["bottom"])) for w in raw]
            assert [(w.text, w.bbox) for w in got.words] == expected
            assert got.words
