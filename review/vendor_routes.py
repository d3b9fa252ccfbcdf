"""VENDOR_UNKNOWN on the item page: link the invoice to a vendor of the master, propose a new
vendor, and (a different person) confirm or reject the proposal.

Every POST carries the CSRF token and the item's version like the other actions; an auditor is
refused by the role check. Linking to a vendor whose master IBAN is not the printed one raises
BANK_DETAILS_CHANGED by the matcher's own rule, so the account still needs four eyes.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from matchers.master import VendorRecord
from matchers.normalize import compact_id
from matchers.vendor import bank_details_changed
from review import corrections as corr
from review.auth import AsConfirmBank, AsWork
from review.routes import _form, _item_page, _load, _refused
from staging import review as q
from staging import vendor_review

router = APIRouter()
VENDOR_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@router.post("/items/{exception_id}/vendor/link")
async def link_vendor(request: Request, exception_id: int, clerk: AsWork) -> Response:
    """Link the invoice to the vendor named (one of the candidates, or any vendor id)."""
    form, version = await _form(request)
    vendor_id = form.get("vendor_id", "").strip()
    try:
        if not VENDOR_ID.fullmatch(vendor_id):
            raise corr.BadInput("name a vendor id of the master (letters, digits, - _ .)")
        row = _load(request, exception_id)
        with request.app.state.connect() as conn:
            vendor = vendor_review.vendor_row(conn, vendor_id)
            if vendor is None:
                raise corr.BadInput(f"there is no vendor {vendor_id!r} in the vendor master")
            changed = bank_details_changed(
                compact_id(row.get("iban")), VendorRecord.from_row(vendor)
            )
            vendor_review.link_vendor(conn, exception_id, version, clerk.user_name, vendor_id,
                                      bank_changed=changed)  # fmt: skip
    except (corr.BadInput, q.ReviewConflict, LookupError) as exc:
        return _refused(request, clerk, exception_id, exc)
    return RedirectResponse(f"/items/{exception_id}", 303)


def _proposal(form: dict[str, str]) -> dict[str, str | None]:
    name = form.get("name", "").strip()
    if not name or len(name) > 200:
        raise corr.BadInput("a new vendor needs a name of 1 to 200 characters")
    iban = form.get("iban", "").strip()
    country, currency = form.get("country", "").strip().upper(), form.get("currency", "").strip()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        raise corr.BadInput("a country is a two-letter ISO code, for example DE")
    return {
        "name": name,
        "vat_id": form.get("vat_id", "").strip()[:40] or None,
        "iban": corr.parse_value("iban", iban) if iban else None,
        "address": form.get("address", "").strip()[:300] or None,
        "country": country or None,
        "currency": corr.parse_value("currency", currency) if currency else None,
    }


@router.post("/items/{exception_id}/vendor/propose")
async def propose_vendor(request: Request, exception_id: int, clerk: AsWork) -> Response:
    """Propose a new vendor from what the invoice prints; a second person confirms it."""
    form, version = await _form(request)
    try:
        proposal = _proposal(form)
        with request.app.state.connect() as conn:
            vendor_review.propose_vendor(conn, exception_id, version, clerk.user_name, proposal)
    except (corr.BadInput, q.ReviewConflict, LookupError) as exc:
        return _refused(request, clerk, exception_id, exc)
    return RedirectResponse(f"/items/{exception_id}", 303)


@router.post("/items/{exception_id}/vendor/decide")
async def decide_vendor(request: Request, exception_id: int, clerk: AsConfirmBank) -> Response:
    """Confirm (the vendor master gets the vendor, the invoice is linked) or reject a proposed
    vendor: refused, by the database, for the proposer."""
    form = await request.form()
    pid, decision = str(form.get("proposal_id", "")), str(form.get("decision", ""))
    if not pid.isdigit() or decision not in ("confirm", "reject"):
        raise HTTPException(422, "name a proposal and confirm or reject")
    with request.app.state.connect() as conn:
        try:
            vendor_review.decide_vendor_proposal(
                conn, int(pid), clerk.user_name, decision == "confirm"
            )
        except q.ReviewConflict as exc:
            return _item_page(request, clerk, exception_id, 409, exc.message, claim=False)
    return RedirectResponse(f"/items/{exception_id}", 303)
