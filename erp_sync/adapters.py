"""The ERP adapter interface, its receipts and errors, and the registry chosen by settings.

An adapter has two verbs: `push(entry) -> Receipt` posts the bill (adopting one the ERP already
has for this supplier and reference, so a crash after the ERP committed and before our
acknowledgement never makes a second bill), and `find(entry) -> Receipt | None` looks it up.
`probe()` is a cheap call the circuit breaker uses to see whether a failing ERP is back.

Errors: `ErpRejected` is the ERP refusing this payload (an unknown tax, a closed period): no retry
helps, the invoice goes back to the exception queue. `ErpUnavailable` is the ERP or the network
failing: retried with backoff, and it counts towards opening the breaker. `ErpTimeout`, the ERP
not answering in time, is retried only once the attempt's lease has run out, so that the retry
does not run beside the call the ERP may still be working on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from invoices.settings import Settings
from staging.outbox_relay import ClaimedEntry


class ErpRejected(Exception):
    """The ERP refused the payload; `message` is the ERP's own words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ErpUnavailable(Exception):
    """The ERP could not be reached or failed on its side (worth retrying later)."""


class ErpTimeout(ErpUnavailable):
    """The ERP did not answer in time: it may still be working on the call (and commit it)."""


@dataclass(frozen=True)
class Receipt:
    """What the ERP gave back for a posted bill: its id, its own number, and whether an existing
    bill was adopted rather than created."""

    erp_id: str
    adapter: str
    erp_number: str | None = None
    adopted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The receipt as stored in the outbox, the invoice and the audit log."""
        return {
            "erp_id": self.erp_id,
            "adapter": self.adapter,
            "erp_number": self.erp_number,
            "adopted": self.adopted,
            **self.extra,
        }


class ErpAdapter(Protocol):
    """An ERP the relay pushes approved invoices to."""

    name: str

    def push(self, entry: ClaimedEntry) -> Receipt:
        """Post the entry's bill (or adopt the one already there); its receipt."""
        ...

    def find(self, entry: ClaimedEntry) -> Receipt | None:
        """The receipt of the entry's bill if the ERP already has it."""
        ...

    def probe(self) -> None:
        """Raise ErpUnavailable unless the ERP answers."""
        ...


def _en16931(settings: Settings) -> ErpAdapter:
    from erp_sync.en16931 import En16931Files

    return En16931Files.from_settings(settings)


def _tryton(settings: Settings) -> ErpAdapter:
    from erp_sync.tryton import TrytonAdapter

    return TrytonAdapter.from_settings(settings)


ADAPTERS: dict[str, Callable[[Settings], ErpAdapter]] = {
    "en16931": _en16931,
    "tryton": _tryton,
}


def adapter_for(settings: Settings, name: str | None = None) -> ErpAdapter:
    """The adapter named by the settings (`erp_adapter`) or by `name`."""
    chosen = name or settings.erp_adapter
    if chosen not in ADAPTERS:
        raise ValueError(f"unknown ERP adapter {chosen!r}: choose one of {sorted(ADAPTERS)}")
    return ADAPTERS[chosen](settings)
