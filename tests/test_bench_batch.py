"""bench-batch's parts that run without OCR: which pages the floor reads, the memory sampler
seeing this process and its children, and the printed CPU counting the worker processes."""

from __future__ import annotations

import subprocess
import sys
import time

from extractors.text.floor import Floor, ocr_jobs
from flows.bench_batch import BenchResult, MemorySampler, bench_text
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


def test_the_printed_cpu_counts_the_worker_processes_and_the_cores_used():
    summary = {
        "wall_seconds": 100.0,
        "cost": {"cpu_seconds": 180.0},  # the run summary's: flow process + workers
        "cpu_seconds_by_process": {"flow": 60.0, "workers": 120.0, "worker_processes": 2},
        "pages": {"text_layer": 3, "ocr": 2},
        "seconds_per_stage": {"text": 50.0},
    }
    result = BenchResult(
        documents=4,
        floor=Floor(pages=2, seconds=80.0, cpu_seconds=150.0, processes=2),
        summary=summary,
        wall=110.0,
        born_digital={"documents": 2, "pages": 3, "text_seconds_per_page": 0.1,
                      "all_stages_seconds_per_page": 0.2},
        memory=[("document worker", 2, 300.0)],
        load=(1.0, 1.0, 1.0),
    )  # fmt: skip
    text = bench_text(result, load_settings(), 2)
    assert "batch 180.0 vs floor 150.0 = 1.20 x" in text
    assert "flow process 60.0, 2 worker processes 120.0" in text
    assert "cores used on average 1.80" in text
    assert "text and extraction in 2 worker processes" in text
