"""`invoices bench-sync`: entries per second through the relay, per adapter, and where the time
goes (the adapter's calls to the ERP against the relay's own claims, acknowledgements and audit).

For each adapter the results are staged in a throwaway schema of their own, approved (one
transaction each, as a clerk would), and relayed by one relay until the outbox is empty; then
the schema is dropped. The bills the ERP received stay there: point the `tryton` run at a test
database (`tests/tryton_setup.py` makes one with the generator's accounts and taxes).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from erp_sync.adapters import adapter_for
from erp_sync.relay import sync
from invoices.records import DocumentResult
from invoices.settings import Settings
from staging import db, master, outbox, runs, store
from staging.review_bench import drop_schema


@dataclass(frozen=True)
class SyncBench:
    """One adapter's figures: entries relayed, wall time, and seconds per entry in the ERP
    (the adapter's calls) and in the relay itself (everything else)."""

    adapter: str
    entries: int
    dead: int
    seconds: float
    erp_seconds_per_entry: float
    relay_seconds_per_entry: float

    @property
    def entries_per_second(self) -> float:
        """Entries done per wall-clock second."""
        return self.entries / self.seconds if self.seconds else 0.0


def bench_adapter(
    settings: Settings, adapter: str, results: Sequence[DocumentResult], master_dir: Path
) -> SyncBench:
    """Stage, approve and relay `results` to `adapter` in a throwaway schema; its figures."""
    assert settings.database_url
    schema = f"bench_sync_{uuid.uuid4().hex[:10]}"
    conn = db.connect(settings.database_url, schema)
    try:
        db.upgrade(conn)
        master.load_master_dir(conn, master_dir)
        conn.commit()
        run_id = runs.start_run(conn, str(master_dir.parent))
        local = settings.model_copy(update={"db_schema": schema, "erp_adapter": adapter})
        for result in results:
            document_id = store.stage_result(conn, result, run_id)
            if document_id is not None:
                outbox.approve_invoice(conn, document_id, "bench", 1, settings=local)
        conn.commit()
        started = time.perf_counter()
        stats = sync(local, adapter_for(local, adapter))
        seconds = time.perf_counter() - started
        done = max(stats.done, 1)
        return SyncBench(
            adapter=adapter,
            entries=stats.done,
            dead=stats.dead,
            seconds=seconds,
            erp_seconds_per_entry=stats.erp_seconds / done,
            relay_seconds_per_entry=(seconds - stats.erp_seconds) / done,
        )
    finally:
        conn.rollback()
        drop_schema(conn, schema)
        conn.commit()
        conn.close()
