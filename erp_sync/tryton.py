"""The `tryton` adapter: supplier bills in Tryton 8.2 over JSON-RPC (`POST /<db>/rpc/`).

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

import base64
import time
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx

from erp_sync.adapters import ErpRejected, ErpTimeout, ErpUnavailable, Receipt
from invoices.erp_payload import ErpLine, ErpPayload
from invoices.settings import Settings
from staging.outbox import ClaimedEntry

CENT = Decimal("0.01")
REFUSALS = (
    "UserError",
    "UserWarning",
    "AccessError",
    "ValidationError",
    "RequiredValidationError",
    "DomainValidationError",
    "SelectionValidationError",
)


def encode(value: Any) -> Any:
    """A value in Tryton's JSON (Decimal, date and bytes as tagged objects)."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, bytes):
        return {"__class__": "bytes", "base64": base64.b64encode(value).decode("ascii")}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value: Any) -> Any:
    """A value from Tryton's JSON."""
    if isinstance(value, dict):
        kind = value.get("__class__")
        if kind == "Decimal":
            return Decimal(value["decimal"])
        if kind == "date":
            return date(value["year"], value["month"], value["day"])
        if kind == "bytes":
            return base64.b64decode(value["base64"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


class TrytonRpc:
    """A JSON-RPC session with one Tryton database."""

    def __init__(self, url: str, database: str, user: str, password: str, timeout: float) -> None:
        self.endpoint = f"{url.rstrip('/')}/{database}/rpc/"
        self.user, self.password, self.timeout = user, password, timeout
        self.http = httpx.Client(timeout=timeout)
        self.auth: str | None = None
        self.deadline: float | None = None
        self.context: dict[str, Any] = {}
        self.company: int | None = None  # None: the user's current company

    def close(self) -> None:
        """Close the HTTP client."""
        self.http.close()

    def _post(self, method: str, params: list[Any]) -> Any:
        timeout = self.timeout
        if self.deadline is not None:
            timeout = self.deadline - time.monotonic()
            if timeout <= 0:
                raise ErpTimeout(f"the push ran out of its {self.timeout} s before {method}")
        headers = {"Authorization": self.auth} if self.auth else {}
        try:
            response = self.http.post(
                self.endpoint,
                json={"id": 1, "method": method, "params": encode(params)},
                headers=headers,
                timeout=timeout,
            )
        except httpx.TimeoutException as exc:
            raise ErpTimeout(f"Tryton did not answer {method} in time: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise ErpUnavailable(f"Tryton unreachable ({method}): {exc!r}") from exc
        if response.status_code in (401, 403):
            return _Unauthorized
        if response.status_code != 200:
            raise ErpUnavailable(f"Tryton answered HTTP {response.status_code} to {method}")
        body = response.json()
        if "error" in body and body["error"]:
            _raise_error(method, body["error"])
        return decode(body.get("result"))

    def login(self) -> None:
        """Open a session (user and password from the settings)."""
        self.auth = None
        result = self._post("common.db.login", [self.user, {"password": self.password}, "en"])
        if result is _Unauthorized or not result:
            raise ErpRejected(f"Tryton refused the login of {self.user}")
        token = f"{self.user}:{result[0]}:{result[1]}".encode()
        self.auth = "Session " + base64.b64encode(token).decode("ascii")
        preferences = self._post("model.res.user.get_preferences", [True, {}])
        company = self.company or (preferences or {}).get("company")
        self.context = {"company": company, "companies": [company]} if company else {}

    def call(self, method: str, *params: Any) -> Any:
        """Call a method (logging in first, and again once if the session expired)."""
        if self.auth is None:
            self.login()
        result = self._post(method, list(params))
        if result is _Unauthorized:
            self.login()
            result = self._post(method, list(params))
            if result is _Unauthorized:
                raise ErpRejected(f"Tryton refused {method} to {self.user}")
        return result

    def search(self, model: str, domain: list[Any], limit: int | None = None) -> list[int]:
        """Ids of the records of `model` matching a domain."""
        return list(self.call(f"model.{model}.search", domain, 0, limit, None, self.context))

    def read(self, model: str, ids: list[int], fields: list[str]) -> list[dict[str, Any]]:
        """The fields of some records."""
        return list(self.call(f"model.{model}.read", ids, fields, self.context))

    def create(self, model: str, values: dict[str, Any]) -> int:
        """Create one record; its id."""
        return int(self.call(f"model.{model}.create", [values], self.context)[0])


class _UnauthorizedType:
    pass


_Unauthorized = _UnauthorizedType()


def _raise_error(method: str, error: Any) -> None:
    kind = error[0] if isinstance(error, list) and error else str(error)
    args = error[1] if isinstance(error, list) and len(error) > 1 else []
    if kind == "UserWarning" and isinstance(args, list) and len(args) > 1:
        args = args[1:]  # the warning's name first
    text = " ".join(str(a) for a in (args if isinstance(args, list) else [args]) if a)
    message = f"Tryton {kind} in {method}: {text}".strip()[:600]
    if kind in REFUSALS:
        raise ErpRejected(message)
    raise ErpUnavailable(message)


class TrytonAdapter:
    """Posts supplier bills to Tryton; find/adopt by supplier and reference first."""

    name = "tryton"

    def __init__(self, rpc: TrytonRpc) -> None:
        self.rpc = rpc
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
        return cls(rpc)

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
        ids = self.rpc.search("party.party", domain, limit=1)
        if not ids and not create:
            return None
        party = (
            ids[0]
            if ids
            else self.rpc.create(
                "party.party",
                {
                    "name": vendor.name,
                    "identifiers": [["create", [{"code": vendor.vat_id}]]] if vendor.vat_id else [],
                    "addresses": [["create", [{"street": vendor.address or ""}]]],
                },
            )
        )
        self._ids[("party", key)] = party
        return party

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


def _reference(payload: ErpPayload) -> str:
    """The supplier reference of the bill (a reversal's credit note has its own)."""
    if payload.credits_invoice:
        return f"CN-{payload.credits_invoice}"
    return payload.invoice_number
