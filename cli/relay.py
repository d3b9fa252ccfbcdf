"""The ERP relay deployment's entry point: the relay flow composed with `erp_sync.relay.drain`.

Flows may not import erp_sync (siblings), so the command line composes them here, as a
module-level flow object the served deployment names (`cli.relay.erp_relay`). It is a module
of its own, apart from `cli.scheduled`, so that a relay run does not import the whole batch
(the extractors, the matchers, the report): a run every few minutes stays cheap.
"""

from __future__ import annotations

from erp_sync.relay import drain
from flows.relay import relay_flow

RELAY_ENTRYPOINT = "cli.relay.erp_relay"

erp_relay = relay_flow(drain)
