"""bench-batch's parts that run without OCR: which pages the floor reads, and the memory sampler
seeing this process and its children."""

from __future__ import annotations

import subprocess
import sys
import time

from extractors.text.floor import ocr_jobs
from flows.bench_batch import MemorySampler
from invoices.settings import load_settings
from synthetic import generate_corpus


def test_the_floor_reads_the_pages_the_batch_ocrs(tmp_path):
    summary = generate_corpus(
        tmp_path, invoices=6, seed=3, workers=1, scanned_share=0.5, image_share=0.5
    )
    settings = load_settings()
    jobs = {}
    for path in sorted((tmp_path / "docs").iterdir()):
        jobs[path.name] = ocr_jobs(path, settings)
    scanned = [name for name, found in jobs.items() if found]
    assert len(scanned) == summary.scanned  # every scanned file, no born-digital one
    images = [j for found in jobs.values() for j in found if not j.is_pdf]
    assert images and all(j.dpi == settings.ocr_dpi for found in jobs.values() for j in found)
    assert all(j.languages == settings.ocr_languages for found in jobs.values() for j in found)


def test_memory_sampler_sees_this_process_and_a_child():
    sampler = MemorySampler(interval=0.05)
    with sampler.sampling():
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1.0)"])
        try:
            time.sleep(0.6)
        finally:
            child.wait(10)
    roles = {role: (count, mb) for role, count, mb in sampler.by_role()}
    assert roles["flow process (bench-batch)"][1] > 10
    assert child.pid in sampler.peaks
