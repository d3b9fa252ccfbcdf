"""The `tryton` adapter: supplier bills in Tryton 8.2 over JSON-RPC (`erp_sync.tryton_rpc`).

A push finds or creates the supplier party by VAT id, then looks for the bill by supplier and
reference (Tryton has no external id and only warns on a similar invoice, so this lookup is what
keeps a retried or crashed push from making a second bill) and adopts it; otherwise it creates
the bill (type "in") with one line per payload line on the mapped account and tax, attaches the
PDF, checks Tryton's totals against the payload and posts it (which validates it). Every step is
idempotent, so an attempt that died half-way is finished by the next. Credit notes are bills
with negative quantities (Tryton's credit notes). Tryton's user errors (a closed period, a
missing tax) are refusals (`ErpRejected`, with Tryton's message); transport faults and server
errors are `ErpUnavailable`. A whole push must finish within `erp_call_timeout_seconds`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from decimal import ROUND_HALF_EVEN, Decimal
from functools import partial
from typing import Any

from erp_sync.adapters import ErpRejected, ErpUnavailable, Receipt
from erp_sync.tryton_rpc import TrytonRpc
from invoices.erp_payload import ErpLine, ErpPayload
from invoices.settings import Settings
from staging.outbox import ClaimedEntry
from staging.outbox_relay import erp_lock

# (lock name, seconds to wait) -> held for a `with` block (`staging.outbox_relay.erp_lock`)
Lock = Callable[[str, float], AbstractContextManager[None]]

CENT = Decimal("0.01")


class TrytonAdapter:
    """Posts supplier bills to Tryton; find/adopt by supplier and reference first."""

    name = "tryton"

    def __init__(self, rpc: TrytonRpc, lock: Lock | None = None) -> None:
        self.rpc = rpc
        self.lock = lock  # serialises creating a party across relays (None: one relay only)
        self._ids: dict[tuple[str, str], int] = {}  # (model, key) -> id: accounts, taxes, ...

    @classmethod
    def from_settings(cls, settings: Settings) -> TrytonAdapter:
        """The adapter for the settings' Tryton (URL, database, user, password)."""
        if not settings.erp_url or not settings.erp_database:
            raise ValueError("the tryton adapter needs INVOICES_ERP_URL and INVOICES_ERP_DATABASE")
        rpc = TrytonRpc(
            settings.erp_url,
            settings.erp_database,
            settings.erp_user,
            settings.erp_password or "",
            settings.erp_call_timeout_seconds,
        )
        rpc.company = settings.erp_company
        lock = None
        if settings.database_url:
            lock = partial(erp_lock, settings.database_url, settings.db_schema)
        return cls(rpc, lock)

    def probe(self) -> None:
        """Raise ErpUnavailable unless Tryton answers a login."""
        self.rpc.deadline = None
        try:
            self.rpc.login()
        except ErpRejected as exc:
            raise ErpUnavailable(str(exc)) from exc

    def find(self, entry: ClaimedEntry) -> Receipt | None:
        """The bill Tryton already has for this supplier and reference (not cancelled)."""
        found = self._bill(entry.payload)
        return None if found is None else self._receipt(found, adopted=True)

    def push(self, entry: ClaimedEntry) -> Receipt:
        """Post the entry's bill, adopting and finishing one Tryton already has."""
        self.rpc.deadline = time.monotonic() + self.rpc.timeout
        try:
            payload = entry.payload
            party = self._party(payload, create=True)
            assert party is not None
            bill = self._bill(payload)
            adopted = bill is not None
            if bill is None:
                bill = self._read_bill(
                    self.rpc.create("account.invoice", self._bill_values(entry, party))
                )
            self._attach(bill["id"], entry)
            if bill["state"] == "draft" and abs(bill["total_amount"]) != payload.gross_total:
                bill = self._align_taxes(bill, payload)
            if bill["state"] in ("draft", "validated"):
                self._check_totals(bill, payload)
                bill, adopted = self._post(bill, adopted)
            return self._receipt(bill, adopted=adopted)
        finally:
            self.rpc.deadline = None

    def _post(self, bill: dict[str, Any], adopted: bool) -> tuple[dict[str, Any], bool]:
        """Post a bill (posting a draft validates it on the way). Refused because it is posted
        already, by the call of an earlier attempt that Tryton was still working on when this
        one read it: that bill is the one, adopted."""
        try:
            self.rpc.call("model.account.invoice.post", [bill["id"]], self.rpc.context)
        except ErpRejected:
            again = self._read_bill(bill["id"])
            if again["state"] != "posted":
                raise
            return again, True
        return self._read_bill(bill["id"]), adopted

    def _receipt(self, bill: dict[str, Any], *, adopted: bool) -> Receipt:
        return Receipt(
            erp_id=str(bill["id"]),
            adapter=self.name,
            erp_number=bill.get("number"),
            adopted=adopted,
            extra={"state": bill["state"]},
        )

    def _read_bill(self, bill_id: int) -> dict[str, Any]:
        fields = ["state", "number", "reference", "total_amount", "untaxed_amount", "tax_amount"]
        return self.rpc.read("account.invoice", [bill_id], fields)[0]

    def _bill(self, payload: ErpPayload) -> dict[str, Any] | None:
        """The supplier's bill with this reference, not cancelled. The supplier is matched by
        VAT id (or name) rather than by a party id, so a second party for the same supplier
        (two relays creating it at once) cannot hide a bill and let a second one be made."""
        vendor = payload.vendor
        supplier = (
            ("party.identifiers.code", "=", vendor.vat_id)
            if vendor.vat_id
            else ("party.name", "=", vendor.name)
        )
        ids = self.rpc.search(
            "account.invoice",
            [
                ("type", "=", "in"),
                supplier,
                ("reference", "=", _reference(payload)),
                ("state", "!=", "cancelled"),
            ],
            limit=1,
        )
        return self._read_bill(ids[0]) if ids else None

    def _party(self, payload: ErpPayload, *, create: bool) -> int | None:
        vendor = payload.vendor
        key = vendor.vat_id or vendor.erp_id or vendor.name
        if ("party", key) in self._ids:
            return self._ids[("party", key)]
        domain: list[Any] = (
            [("identifiers.code", "=", vendor.vat_id)]
            if vendor.vat_id
            else [("name", "=", vendor.name)]
        )
        with self._one_relay_at_a_time(f"tryton:{self.rpc.endpoint}:party:{key}"):
            # found and created under the lock: two relays pushing bills of a new supplier
            # at once would otherwise both find none and create two parties with one VAT id
            ids = self.rpc.search("party.party", domain, limit=1)
            if not ids and not create:
                return None
            party = ids[0] if ids else self.rpc.create("party.party", _party_values(payload))
        self._ids[("party", key)] = party
        return party

    @contextmanager
    def _one_relay_at_a_time(self, name: str) -> Iterator[None]:
        """Hold the named lock for the block, waiting at most what is left of the push's time
        (ErpUnavailable when another relay holds it that long)."""
        left = self.rpc.timeout
        if self.rpc.deadline is not None:
            left = max(0.0, self.rpc.deadline - time.monotonic())
        with ExitStack() as held:
            if self.lock is not None:
                try:
                    held.enter_context(self.lock(name, left))
                except TimeoutError as exc:
                    raise ErpUnavailable(str(exc)) from exc
            yield

    def _lookup(self, model: str, key: str, domain: list[Any], what: str) -> int:
        if (model, key) not in self._ids:
            ids = self.rpc.search(model, domain, limit=1)
            if not ids:
                raise ErpRejected(f"Tryton has no {what}")
            self._ids[(model, key)] = ids[0]
        return self._ids[(model, key)]

    def _bill_values(self, entry: ClaimedEntry, party: int) -> dict[str, Any]:
        payload = entry.payload
        sign = Decimal(-1) if payload.kind == "credit_note" else Decimal(1)
        company = self.rpc.context.get("company")
        lines = [
            {
                "type": "line",
                "company": company,
                "invoice_type": "in",
                "currency": self._currency(payload.currency),
                "account": self._lookup(
                    "account.account",
                    line.erp_account,
                    [("code", "=", line.erp_account), ("closed", "!=", True)],
                    f"account {line.erp_account}",
                ),
                **_quantity_and_price(line, sign),
                "taxes": [
                    [
                        "add",
                        [self._tax(line.tax_code)],
                    ]
                ],
            }
            for line in payload.lines
        ]
        if ("address", str(party)) not in self._ids:
            addresses = self.rpc.read("party.party", [party], ["addresses"])[0]["addresses"]
            self._ids[("address", str(party))] = addresses[0]
        return {
            "type": "in",
            "company": company,
            "party": party,
            "invoice_address": self._ids[("address", str(party))],
            "currency": self._currency(payload.currency),
            "account": self._lookup(
                "account.account",
                "payable",
                [("type.payable", "=", True), ("closed", "!=", True)],
                "payable account",
            ),
            "journal": self._lookup(
                "account.journal", "expense", [("type", "=", "expense")], "expense journal"
            ),
            "invoice_date": payload.invoice_date,
            "reference": _reference(payload),
            "description": entry.idempotency_key,
            "lines": [["create", lines]],
        }

    def _tax(self, name: str) -> int:
        return self._lookup("account.tax", name, [("name", "=", name)], f"tax named {name!r}")

    def _currency(self, code: str) -> int:
        return self._lookup("currency.currency", code, [("code", "=", code)], f"currency {code}")

    def _attach(self, bill_id: int, entry: ClaimedEntry) -> None:
        if entry.attachment is None:
            return
        name = entry.attachment_name or f"{_reference(entry.payload)}.pdf"
        resource = f"account.invoice,{bill_id}"
        if self.rpc.search("ir.attachment", [("resource", "=", resource), ("name", "=", name)]):
            return
        self.rpc.create(
            "ir.attachment",
            {"resource": resource, "name": name, "type": "data", "data": entry.attachment},
        )

    def _align_taxes(self, bill: dict[str, Any], payload: ErpPayload) -> dict[str, Any]:
        """Set the bill's tax lines to the tax the invoice prints where only rounding separates
        them, as a clerk does in Tryton. Tryton computes a supplier bill's tax from the unrounded
        price times quantity of each line, the invoice from the rounded base per rate, so they
        can be a cent or so apart; Tryton keeps an amount changed by hand while the base agrees.
        A larger gap is left for `_check_totals` to refuse."""
        sign = Decimal(-1) if payload.kind == "credit_note" else Decimal(1)
        printed: dict[int, tuple[Decimal, Decimal]] = {}
        for tax in payload.taxes:
            # looked up here too: an adopted bill was made by a relay that has since died
            tax_id = self._tax(tax.tax_code)
            lines = sum(1 for line in payload.lines if line.tax_code == tax.tax_code)
            printed[tax_id] = (sign * tax.amount, CENT * max(1, lines))  # a cent a line at most
        tax_ids = self.rpc.search("account.invoice.tax", [("invoice", "=", bill["id"])])
        changed = False
        for line in self.rpc.read("account.invoice.tax", tax_ids, ["tax", "amount", "manual"]):
            want, tolerance = printed.get(line["tax"], (line["amount"], Decimal(0)))
            if want != line["amount"] and abs(want - line["amount"]) <= tolerance:
                self.rpc.call(
                    "model.account.invoice.tax.write",
                    [line["id"]],
                    {"amount": want},
                    self.rpc.context,
                )
                changed = True
        return self._read_bill(bill["id"]) if changed else bill

    def _check_totals(self, bill: dict[str, Any], payload: ErpPayload) -> None:
        total = abs(bill["total_amount"])
        if total != payload.gross_total:
            raise ErpRejected(
                f"Tryton computes a total of {total} for bill {bill['id']}, the invoice says"
                f" {payload.gross_total} (the bill is left in draft)"
            )


def _quantity_and_price(line: ErpLine, sign: Decimal) -> dict[str, Any]:
    """A bill line's description, quantity and unit price, such that Tryton's line amount is the
    net amount the invoice prints. Tryton rounds quantity x price half to even, invoices round
    half up: 47.5 x 146.79 = 6972.525 is 6972.52 in Tryton and 6972.53 on the invoice. Such a
    line goes as one unit at its net amount, the printed quantity and price in its description."""
    exact = line.quantity * line.unit_price
    if exact.quantize(CENT, rounding=ROUND_HALF_EVEN) == line.net_amount:
        return {
            "description": line.description,
            "quantity": float(sign * line.quantity),
            "unit_price": line.unit_price,
        }
    return {
        "description": f"{line.description} ({line.quantity.normalize():f} x"
        f" {line.unit_price.normalize():f})",
        "quantity": float(sign),
        "unit_price": line.net_amount,
    }


def _party_values(payload: ErpPayload) -> dict[str, Any]:
    """A new supplier party: name, VAT id (its identifier) and address."""
    vendor = payload.vendor
    return {
        "name": vendor.name,
        "identifiers": [["create", [{"code": vendor.vat_id}]]] if vendor.vat_id else [],
        "addresses": [["create", [{"street": vendor.address or ""}]]],
    }


def _reference(payload: ErpPayload) -> str:
    """The supplier reference of the bill (a reversal's credit note has its own)."""
    if payload.credits_invoice:
        return f"CN-{payload.credits_invoice}"
    return payload.invoice_number
