"""Generating a whole corpus: plan, master CSVs, documents (in a process pool), labels.

The plan and the labels are made in this process from one seed; only rendering runs in the
pool, each document from its own seed, so the output is the same with any number of workers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from synthetic import labels, master
from synthetic.model import DocSpec
from synthetic.plan import Options, Plan, plan_corpus
from synthetic.render import render_pdf
from synthetic.scan import scan

INLINE_BELOW = 60  # documents; below this starting a pool costs more than it saves


@dataclass
class Summary:
    """What a generator run produced and what it cost."""

    out: Path
    documents: int
    scanned: int
    pages: int
    vendors: int
    purchase_orders: int
    goods_receipts: int
    history_lines: int
    anomalies: dict[str, int] = field(default_factory=dict)
    document_types: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process and the render workers together
    peak_rss_mb: float = 0.0  # this process
    peak_rss_children_mb: float = 0.0  # the largest render worker (ru_maxrss it reports)

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0

    def report(self) -> str:
        """A short human-readable account of the run."""
        kinds = ", ".join(f"{k}={v}" for k, v in sorted(self.anomalies.items()))
        return (
            f"generated {self.documents} documents ({self.scanned} scanned, {self.pages} pages) "
            f"in {self.seconds:.1f}s ({self.cpu_seconds:.1f} CPU-s): "
            f"{self.docs_per_second:.1f} documents/s; peak memory "
            f"{self.peak_rss_mb:.0f} MB (main), "
            f"{self.peak_rss_children_mb:.0f} MB (largest worker)\n"
            f"master: {self.vendors} vendors, {self.purchase_orders} POs, {self.goods_receipts} "
            f"receipts, {self.history_lines} coded history lines\nanomalies: {kinds}\n"
            f"out: {self.out}"
        )


def _extension(spec: DocSpec) -> str:
    return spec.media if spec.scanned else "pdf"


class Rendered(NamedTuple):
    """What a render worker reports for one document, and its own cost so far."""

    key: int
    pages: int
    rss_mb: float  # peak resident memory of the process that rendered it
    pid: int
    cpu_seconds: float  # CPU time that process has used so far


def render_document(spec: DocSpec, target: str) -> Rendered:
    """Render one document to `target`. Runs in a worker."""
    data, pages = render_pdf(spec)
    if spec.scanned:
        data, pages = scan(data, spec.media, spec.render_seed, spec.stamp)
    Path(target).write_bytes(data)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Rendered(
        spec.key, pages, usage.ru_maxrss / 1024, os.getpid(), usage.ru_utime + usage.ru_stime
    )


def _render_all(plan: Plan, docs_dir: Path, workers: int) -> tuple[dict[int, int], float, float]:
    """Render every document (exact duplicates are copied); returns pages per plan key, the
    peak memory of the largest render worker and the CPU seconds of the pool's workers."""
    jobs = [d for d in plan.docs if d.copy_of is None]
    targets = [str(docs_dir / f"{plan.doc_ids[d.key]}.{_extension(d)}") for d in jobs]
    if workers <= 1 or len(jobs) < INLINE_BELOW:
        results = [render_document(d, t) for d, t in zip(jobs, targets, strict=True)]
    else:
        # forkserver, not fork: the caller may hold threads (torch, a database driver) that a
        # forked child would inherit in a locked state
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__])
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            chunk = max(1, min(16, len(jobs) // (workers * 8)))
            results = list(pool.map(render_document, jobs, targets, chunksize=chunk))
    pages = {r.key: r.pages for r in results}
    worker_mb = max((r.rss_mb for r in results), default=0.0)
    cpu: dict[int, float] = {}
    for r in results:
        if r.pid != os.getpid():  # rendering inline is counted with this process
            cpu[r.pid] = max(cpu.get(r.pid, 0.0), r.cpu_seconds)
    for d in plan.docs:
        if d.copy_of is not None:
            src = docs_dir / f"{plan.doc_ids[d.copy_of]}.{_extension(d)}"
            shutil.copyfile(src, docs_dir / f"{plan.doc_ids[d.key]}.{_extension(d)}")
            pages[d.key] = pages[d.copy_of]
    return pages, worker_mb, sum(cpu.values())


def _clear(out: Path) -> None:
    """Remove what an earlier run wrote, and nothing else."""
    for sub in ("docs", "labels"):
        for f in (out / sub).glob("syn-*"):
            f.unlink()
    manifest = out / "manifest.jsonl"
    if manifest.exists():
        manifest.unlink()


def _write_labels(plan: Plan, out: Path, pages: dict[int, int], seed: int) -> None:
    (out / "labels").mkdir(parents=True, exist_ok=True)
    rows = []
    for d in plan.docs:
        doc_id = plan.doc_ids[d.key]
        path = f"docs/{doc_id}.{_extension(d)}"
        label = labels.build_label(d, doc_id, path, pages[d.key], plan.doc_ids, seed)
        (out / "labels" / f"{doc_id}.json").write_text(labels.dumps(label), encoding="utf-8")
        rows.append(
            {
                "doc_id": doc_id,
                "documents": [path],
                "label": f"labels/{doc_id}.json",
                "split": "dev",
                "group": label["group"],
            }
        )
    with (out / "manifest.jsonl").open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def generate_corpus(
    out: Path, invoices: int, seed: int = 0, workers: int = 0, **options: object
) -> Summary:
    """Generate `invoices` documents with master data and labels into `out`, deterministically.

    Options are those of `synthetic.plan.Options` (vendors, history_lines,
    scanned_share, image_share, multipage_share, locales, anomaly_rates, start, days);
    `workers` = 0 uses one render process per core.
    """
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    out = Path(out)
    opts = Options(invoices=invoices, seed=seed, **options)  # type: ignore[arg-type]
    plan = plan_corpus(opts)
    _clear(out)
    master.write_master(out / "master", plan.vendors, plan.orders, plan.receipts, plan.history)
    docs_dir = out / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    pages, worker_mb, worker_cpu = _render_all(plan, docs_dir, workers or os.cpu_count() or 1)
    _write_labels(plan, out, pages, seed)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_maxrss / 1024
    cpu_seconds = usage.ru_utime + usage.ru_stime - cpu_before + worker_cpu
    return Summary(
        out=out,
        documents=len(plan.docs),
        scanned=sum(d.scanned for d in plan.docs),
        pages=sum(pages.values()),
        vendors=len(plan.vendors),
        purchase_orders=len(plan.orders),
        goods_receipts=len(plan.receipts),
        history_lines=len(plan.history),
        anomalies=dict(Counter(a.kind for d in plan.docs for a in d.anomalies)),
        document_types=dict(Counter(d.document_type for d in plan.docs)),
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        peak_rss_mb=own,
        peak_rss_children_mb=worker_mb,
    )
