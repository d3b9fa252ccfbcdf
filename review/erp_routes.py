"""The ERP side of the item page: voiding a synced invoice (a credit note through the outbox).

Only an approver or an admin may void; the POST carries the CSRF token like every other action,
needs a reason and a ticked confirmation, and calls `staging.outbox.void_invoice`, which queues
the credit note and writes the audit entry (who, why) in one transaction. Nothing is deleted in
the ERP. An invoice that is not synced, or was voided before, is refused with the reason.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from review.auth import AsVoid
from review.routes import MAX_COMMENT_CHARS, _item_page, _load
from staging import outbox

router = APIRouter()


@router.post("/items/{exception_id}/void")
async def void(request: Request, exception_id: int, clerk: AsVoid) -> Response:
    """Void the item's synced invoice: its ERP bill gets a credit note (asks for a reason and
    a confirmation first)."""
    form = await request.form()
    reason = str(form.get("reason", "")).strip()[:MAX_COMMENT_CHARS]
    if not reason or form.get("confirm") != "yes":
        return _item_page(request, clerk, exception_id, 422,
                          "voiding needs a reason and the confirmation ticked", claim=False)
    row = _load(request, exception_id)
    with request.app.state.connect() as conn:
        try:
            outbox.void_invoice(conn, row["document_id"], clerk.user_name, reason)
        except outbox.VoidRefused as exc:
            status = 409 if isinstance(exc, outbox.AlreadyVoided) else 422
            return _item_page(request, clerk, exception_id, status, str(exc), claim=False)
    return RedirectResponse(f"/items/{exception_id}#erp-heading", 303)
