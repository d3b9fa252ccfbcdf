"""The nightly deployment's entry point: the scheduled nightly flow composed with the exception
report and the ERP relay that runs after the batch.

Flows may import neither the review package nor erp_sync (they are siblings), so the command
line, which may use them all, composes them here as a module-level flow object; the served
deployment names this module path (`cli.scheduled.nightly_scheduled`) and every scheduled run
loads it from here. The relay's own deployment is in `cli.relay`.
"""

from __future__ import annotations

from cli.relay import erp_relay
from flows.schedule import scheduled_flow
from review.report import write_run_report

ENTRYPOINT = "cli.scheduled.nightly_scheduled"

nightly_scheduled = scheduled_flow(report=write_run_report, relay=erp_relay)
