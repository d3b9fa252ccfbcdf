"""`invoices bench-batch`: the whole nightly batch on a generated corpus, against its OCR floor.

The command line generates the corpus (flows may not import the generator) and hands its
folder here. In one run this module:

1. measures the OCR floor (`extractors.text.floor`): every page the batch will OCR, read once
   by plain tesseract, one process per core, same languages and resolution;
2. runs the nightly batch (`run_inbox`, the same flow as `invoices run`) into a schema of its
   own, dropped at the end, while a sampler follows the peak memory of every process of the
   run (the flow's process, the throwaway Prefect server, document workers, OCR pool workers,
   Dask workers, tesseract);
3. prints wall time, seconds per stage (summed over documents, and per page where that is
   the stage's unit), the ratio to the floor, peak memory per process, and the load average.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from extractors.text.floor import Floor, measure_floor, ocr_jobs
from flows.nightly import discover_documents, run_inbox
from flows.workers import descendants, worker_pids
from invoices.settings import Settings
from staging import db, runs

log = logging.getLogger(__name__)


@dataclass
class MemorySampler:
    """Peak resident memory of this process and every descendant, sampled from /proc."""

    interval: float = 0.25
    peaks: dict[int, tuple[str, float]] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            workers = worker_pids()
            for pid in [root, *descendants(root)]:
                sample = _rss_mb(pid)
                if sample is None:
                    continue
                name, mb = sample
                name = "document worker" if pid in workers else name
                if mb > self.peaks.get(pid, ("", 0.0))[1]:
                    self.peaks[pid] = (name, mb)
            self._stop.wait(self.interval)

    @contextmanager
    def sampling(self) -> Iterator[MemorySampler]:
        thread = threading.Thread(target=self.run, name="memory-sampler", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(5)

    def by_role(self) -> list[tuple[str, int, float]]:
        """(role, processes, largest peak MB) per role, largest first; tesseract's many short
        processes are one line."""
        roles: dict[str, list[float]] = {}
        for pid, (name, mb) in self.peaks.items():
            role = "flow process (bench-batch)" if pid == os.getpid() else name
            roles.setdefault(role, []).append(mb)
        rows = [(role, len(v), max(v)) for role, v in roles.items()]
        return sorted(rows, key=lambda r: -r[2])


def _rss_mb(pid: int) -> tuple[str, float] | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            status = f.read()
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    rss = next((line for line in status.splitlines() if line.startswith("VmRSS:")), None)
    if rss is None:
        return None
    return _role(cmdline), int(rss.split()[1]) / 1024


def _role(cmdline: str) -> str:
    if "tesseract" in cmdline.split(" ", 1)[0]:
        return "tesseract"
    if "prefect" in cmdline and "server" in cmdline or "uvicorn" in cmdline:
        return "Prefect server (throwaway)"
    if "forkserver" in cmdline or "multiprocessing" in cmdline:
        return "worker (OCR pool / Dask)"
    if "dask" in cmdline or "distributed" in cmdline:
        return "Dask worker"
    return cmdline.split(" ", 1)[0].rsplit("/", 1)[-1] or "other"


@dataclass(frozen=True)
class BenchResult:
    """What bench-batch measured."""

    documents: int
    floor: Floor
    summary: dict[str, Any]
    wall: float
    born_digital: dict[str, float]
    memory: list[tuple[str, int, float]]
    load: tuple[float, float, float]

    @property
    def ratio(self) -> float:
        return self.wall / self.floor.seconds if self.floor.seconds else 0.0


def bench_batch(
    settings: Settings, corpus: Path, workers: int = 0, floor_first: bool = True
) -> BenchResult:
    """Measure the OCR floor of `corpus/docs`, then run the batch on it into a schema of its
    own (dropped at the end)."""
    assert settings.database_url
    inbox = corpus / "docs"
    paths = discover_documents(inbox)
    jobs = [job for path in paths for job in ocr_jobs(path, settings)]
    load_before = os.getloadavg()
    floor = measure_floor(jobs, 0) if floor_first else None
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    bench = settings.model_copy(update={"db_schema": schema})
    sampler = MemorySampler()
    try:
        with sampler.sampling():
            started = time.perf_counter()
            summary = run_inbox(bench, inbox, corpus / "master", workers)
            wall = time.perf_counter() - started
        with db.connection(settings.database_url, schema) as conn:
            rows = runs.document_timings(conn, uuid.UUID(summary["run_id"]))
    finally:
        db.drop_schema(settings.database_url, schema)
    if floor is None:
        floor = measure_floor(jobs, 0)
    load = tuple((a + b) / 2 for a, b in zip(load_before, os.getloadavg(), strict=True))
    return BenchResult(
        documents=len(paths),
        floor=floor,
        summary=summary,
        wall=wall,
        born_digital=_born_digital(rows),
        memory=sampler.by_role(),
        load=load,  # type: ignore[arg-type]
    )


def _born_digital(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Seconds per page of the text stage on documents read without OCR."""
    digital = [r for r in rows if "ocr" not in (r["text_methods"] or []) and r["pages"]]
    pages = sum(r["pages"] for r in digital)
    text = sum(float((r["timings"] or {}).get("text", 0.0)) for r in digital)
    whole = sum(sum(float(v) for v in (r["timings"] or {}).values()) for r in digital)
    return {
        "documents": len(digital),
        "pages": pages,
        "text_seconds_per_page": text / pages if pages else 0.0,
        "all_stages_seconds_per_page": whole / pages if pages else 0.0,
    }


def bench_text(result: BenchResult, settings: Settings, workers: int) -> str:
    """The figures, as printed."""
    s = result.summary
    pages = s.get("pages") or {}
    stages = s.get("seconds_per_stage") or {}
    n_pages = pages.get("text_layer", 0) + pages.get("ocr", 0)
    at_once = workers or settings.task_workers
    runner = settings.dask_address or (
        f"dask local cluster of {settings.dask_workers}"
        if settings.task_runner == "dask"
        else f"threads ({at_once} documents at once"
        + (
            f", text and extraction in {at_once} worker processes)"
            if settings.process_pool
            else ")"
        )
    )
    cpu = (s.get("cost") or {}).get("cpu_seconds", 0)
    by_process = s.get("cpu_seconds_by_process") or {}
    lines = [
        f"bench-batch: {result.documents} documents, {n_pages} pages "
        f"({pages.get('text_layer', 0)} text layer, {pages.get('ocr', 0)} OCR), "
        f"{os.cpu_count()} cores, runner {runner}",
        "  load average during the bench (1/5/15 min): "
        + " ".join(f"{x:.2f}" for x in result.load),
        f"  OCR floor: {result.floor.pages} pages, one plain tesseract pass each, "
        f"{result.floor.processes} processes, {settings.ocr_languages} at {settings.ocr_dpi} dpi: "
        f"{result.floor.seconds:.1f} s wall, {result.floor.cpu_seconds:.1f} CPU-s "
        f"({result.floor.cpu_seconds / max(1, result.floor.pages):.2f} CPU-s/page)",
        f"  batch wall time: {result.wall:.1f} s = {result.ratio:.2f} x the floor; the flow "
        f"alone (without the throwaway Prefect server's start and the migrations): "
        f"{s.get('wall_seconds', 0):.1f} s = "
        f"{s.get('wall_seconds', 0) / max(1e-9, result.floor.seconds):.2f} x",
        f"  CPU-seconds: batch {cpu:.1f} vs floor {result.floor.cpu_seconds:.1f} = "
        f"{cpu / max(1e-9, result.floor.cpu_seconds):.2f} x (less sensitive to the other work on "
        f"the machine); flow process {by_process.get('flow', cpu):.1f}, "
        f"{by_process.get('worker_processes', 0)} worker processes "
        f"{by_process.get('workers', 0.0):.1f}; cores used on average "
        f"{cpu / max(1e-9, s.get('wall_seconds', 0)):.2f} (batch CPU / flow wall)",
        "  seconds per stage (summed over documents; documents run in parallel):",
    ]
    for stage, seconds in stages.items():
        lines.append(f"    {stage:<16} {seconds:9.1f} s")
    bd = result.born_digital
    lines.append(
        f"  born-digital: {bd['pages']} pages of {bd['documents']} documents, text stage "
        f"{bd['text_seconds_per_page']:.3f} s/page, all stages "
        f"{bd['all_stages_seconds_per_page']:.3f} s/page"
    )
    ocr_text = (stages.get("text", 0.0) - bd["text_seconds_per_page"] * bd["pages"]) / max(
        1, pages.get("ocr", 0)
    )
    lines.append(f"  scanned: text stage {ocr_text:.2f} s per OCR page (summed over documents)")
    cost = s.get("cost") or {}
    lines.append(
        f"  staged {s.get('staged')}, exceptions {s.get('exceptions')}, failures "
        f"{s.get('failures')}, straight-through {100 * s.get('straight_through_rate', 0):.1f}%, "
        f"CPU {cost.get('cpu_seconds', 0)} s"
    )
    lines.append("  peak memory per process (RSS, sampled every 0.25 s):")
    for role, count, mb in result.memory:
        many = f" ({count} processes, largest)" if count > 1 else ""
        lines.append(f"    {role:<32} {mb:7.0f} MB{many}")
    return "\n".join(lines)
