"""The deployment's entry point: the scheduled nightly flow composed with the exception report.

Flows may not import the review package (they are siblings), so the command line, which may
use both, composes them here as a module-level flow object; the served deployment names this
module path (`cli.scheduled.nightly_scheduled`) and every scheduled run loads it from here.
"""

from __future__ import annotations

from flows.schedule import scheduled_flow
from review.report import write_run_report

ENTRYPOINT = "cli.scheduled.nightly_scheduled"

nightly_scheduled = scheduled_flow(report=write_run_report)
