"""A relay process for the crash test: the real relay and Tryton adapter, which SIGKILLs itself
right after Tryton committed a bill and before the outbox records it, with probability
ERP_TEST_DIE_AFTER_PUSH (the window a crash-safe adapter must survive). Before dying it appends
the entry's id to the file named by ERP_TEST_KILL_LOG, so the test knows which entries the next
relay must adopt rather than post again."""

from __future__ import annotations

import os
import random
import signal
import sys

from erp_sync.relay import sync
from erp_sync.tryton import TrytonAdapter
from invoices.settings import load_settings


class DyingAdapter:
    """The Tryton adapter, dying between Tryton's commit and our acknowledgement."""

    def __init__(self, inner: TrytonAdapter, probability: float, kill_log: str | None) -> None:
        self.inner, self.probability, self.name = inner, probability, inner.name
        self.kill_log = kill_log

    def push(self, entry):
        receipt = self.inner.push(entry)
        if random.random() < self.probability:
            if self.kill_log:
                with open(self.kill_log, "a", encoding="utf-8") as log:
                    log.write(f"{entry.entry_id}\n")
            os.kill(os.getpid(), signal.SIGKILL)
        return receipt

    def find(self, entry):
        return self.inner.find(entry)

    def probe(self):
        self.inner.probe()


if __name__ == "__main__":
    settings = load_settings()
    adapter = DyingAdapter(
        TrytonAdapter.from_settings(settings),
        float(os.environ.get("ERP_TEST_DIE_AFTER_PUSH", "0")),
        os.environ.get("ERP_TEST_KILL_LOG"),
    )
    stats = sync(settings, adapter, max_seconds=float(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(stats.done, stats.adopted, flush=True)
