"""The queue, the item page and every action on an item. Each route names its action for
`review.auth.require`; a refused save re-renders the item with the reason and stores nothing."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from invoices.errors import DocumentError
from invoices.records import LineItem
from review import corrections as corr
from review.app import render
from review.auth import AsConfirmBank, AsRead, AsWork, Clerk, may_approve
from review.evidence import PO_CODES, po_panel
from review.pages import page_image
from review.words import document_words
from staging import corrections as clerk_time
from staging import review as q
from staging import review_actions as actions
from staging import vendor_review

router = APIRouter()
MAX_COMMENT_CHARS = 4000


def _filters(request: Request) -> dict[str, Any]:
    p = request.query_params
    f: dict[str, Any] = {k: p.get(k) or None for k in (
        "vendor", "currency", "reason", "assignee", "due_before")}
    for key in ("min_total", "max_total"):
        try:
            f[key] = Decimal(p[key]) if p.get(key) else None
        except InvalidOperation:
            raise HTTPException(422, f"{key.replace('_', ' ')} is not an amount") from None
    age = p.get("min_age_days")
    f["min_age_days"] = int(age) if age and age.isdigit() else None
    if f["due_before"]:
        try:
            datetime.strptime(f["due_before"], "%Y-%m-%d")
        except ValueError:
            raise HTTPException(422, "due before is not a date (YYYY-MM-DD)") from None
    return f


@router.get("/", response_class=HTMLResponse)
async def queue(request: Request, clerk: AsRead) -> Response:
    """The queue: tabs with counts, reasons, filters, sort, keyset pages."""
    p = request.query_params
    tab, sort = p.get("tab", "open"), p.get("sort", "age")
    if tab not in q.TABS or sort not in q.SORTS:
        raise HTTPException(422, "unknown tab or sort")
    after = None
    if p.get("after_key") and p.get("after_id", "").isdigit():
        after = (p["after_key"], int(p["after_id"]))
    filters = _filters(request)
    with request.app.state.connect() as conn:
        counts = q.queue_counts(conn, clerk.user_name)
        rows, cursor = q.queue_page(conn, clerk.user_name, tab, filters, sort, after)
    keep = {k: v for k, v in p.items() if k not in ("after_key", "after_id")}
    return render(request, "queue.html", clerk=clerk, counts=counts, rows=rows, tab=tab,
                  sort=sort, filters=filters, cursor=cursor, keep=keep)


def _load(request: Request, exception_id: int) -> dict[str, Any]:
    with request.app.state.connect() as conn:
        row = q.item(conn, exception_id)
        if row is None:
            raise HTTPException(404, f"there is no item {exception_id}")
        row["others"] = [q.invoice_summary(conn, d["document_id"])
                         for d in (row.get("duplicates") or []) if d.get("document_id")]
        row["bank"] = q.vendor_bank(conn, row["vendor_id"]) if row.get("vendor_id") else None
        row["proposal"] = actions.pending_bank_change(conn, row["document_id"])
        row["models"] = q.models_and_erp(conn, row["document_id"])
        row["po"] = None
        pm = row.get("po_match")
        if pm and set(row["reason_codes"]) & set(PO_CODES):
            order = q.po_evidence(conn, pm["po_number"], row["document_id"]) if (
                pm.get("po_number")) else None
            row["po"] = po_panel(pm, order, row["lines"], request.app.state.settings,
                                 row.get("vendor_id"))
        row["vendor_proposal"] = vendor_review.pending_vendor_proposal(conn, row["document_id"])
    return row


def _item_page(request: Request, clerk: Clerk, exception_id: int, status: int = 200,
               error: str | None = None, changes: list[Any] | None = None,
               claim: bool = True) -> Response:
    s = request.app.state.settings
    lease = None
    if claim and clerk.role in ("clerk", "approver", "admin"):
        with request.app.state.connect() as conn:
            try:
                lease = q.claim(conn, exception_id, clerk.user_name, s.review_lease_seconds)
            except LookupError:
                raise HTTPException(404, f"there is no item {exception_id}") from None
    row = _load(request, exception_id)
    writable = bool(lease and lease["claimed"]) and row["status"] == "open"
    thresholds = {**s.auto_accept_thresholds, **s.confidence_thresholds}
    row["line_checks"] = {ln["line_no"]: corr.row_check(ln, s.amount_tolerance)
                          for ln in row["lines"]}
    subtotal = ((row.get("fields") or {}).get("subtotal") or {}).get("value")
    row["lines_check"] = corr.lines_check(row["lines"], subtotal, s.amount_tolerance)
    return render(request, "item.html", status, clerk=clerk, item=row, writable=writable,
                  lease=lease, error=error, changes=changes or [], fields=corr.EDITABLE_FIELDS,
                  thresholds=thresholds, lease_seconds=s.review_lease_seconds,
                  renew_seconds=max(1, min(300, s.review_lease_seconds // 3)),
                  idle_seconds=60 * s.review_session_idle_minutes,
                  dpi=s.review_page_dpi if row["source_path"].lower().endswith(".pdf") else 72)


@router.get("/items/{exception_id}", response_class=HTMLResponse)
async def item_page(request: Request, exception_id: int,
                    clerk: AsRead) -> Response:
    """The item page; opening it claims the item for a clerk when nobody else holds it."""
    return _item_page(request, clerk, exception_id)


@router.get("/items/{exception_id}/next")
async def next_item(request: Request, exception_id: int,
                    clerk: AsRead) -> Response:
    """The next open item in queue order (or the queue when there is none)."""
    with request.app.state.connect() as conn:
        following = q.next_open_after(conn, exception_id)
    return RedirectResponse(f"/items/{following}" if following else "/", 303)


@router.post("/items/{exception_id}/release")
async def release(request: Request, exception_id: int, clerk: AsWork) -> Response:
    """Leave the item: give up the claim and go to the next open item."""
    with request.app.state.connect() as conn:
        q.release(conn, exception_id, clerk.user_name)
        following = q.next_open_after(conn, exception_id)
    return RedirectResponse(f"/items/{following}" if following else "/", 303)


@router.get("/items/{exception_id}/page/{page}.png")
async def page_png(request: Request, exception_id: int, page: int,
                   clerk: AsRead) -> Response:
    """The rendered page image (cached)."""
    row = _load(request, exception_id)
    s = request.app.state.settings
    try:
        img = page_image(Path(row["source_path"]), page, s.review_page_dpi,
                         s.data_dir / "page-cache")
    except (FileNotFoundError, IndexError):
        raise HTTPException(404, "this page image is not available") from None
    return Response(img.png, media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.get("/items/{exception_id}/page/{page}/words")
def page_words(request: Request, exception_id: int, page: int, clerk: AsRead) -> Response:
    """The words printed on a page with their boxes (JSON, cached): clicking one fills the
    focused field. A plain function: the first read of a file runs in the thread pool."""
    row = _load(request, exception_id)
    s = request.app.state.settings
    try:
        words = document_words(Path(row["source_path"]), s, s.data_dir / "page-cache")
    except (FileNotFoundError, DocumentError):
        raise HTTPException(404, "the words of this document are not available") from None
    if page not in words:
        raise HTTPException(404, f"this document has no page {page}")
    return JSONResponse({"page": page, "words": words[page]},
                        headers={"Cache-Control": "private, max-age=3600"})


@router.post("/items/{exception_id}/claim")
async def renew(request: Request, exception_id: int,
                clerk: AsWork) -> Response:
    """Renew the lease (the open page posts this every minute)."""
    with request.app.state.connect() as conn:
        try:
            lease = q.claim(conn, exception_id, clerk.user_name,
                            request.app.state.settings.review_lease_seconds)
        except LookupError:
            raise HTTPException(404, f"there is no item {exception_id}") from None
    text = (f"You hold this item until {lease['lease_until']:%H:%M:%S} (the claim is renewed"
            " while this page is open)." if lease["claimed"] else
            f"Read-only now: {lease['holder']} holds this item. Reload the page.")
    return HTMLResponse(text, 200 if lease["claimed"] else 409)


async def _form(request: Request) -> tuple[dict[str, str], int]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    version = form.get("version", "")
    if not version.isdigit():
        raise HTTPException(422, "the form has no item version: reload the page")
    return form, int(version)


def _refused(request: Request, clerk: Clerk, exception_id: int, exc: Exception) -> Response:
    if isinstance(exc, LookupError):
        raise HTTPException(404, str(exc))
    message = getattr(exc, "message", str(exc))
    status = 409 if isinstance(exc, q.ReviewConflict) else 422
    if isinstance(exc, q.NotApprovable):
        status = 422  # nothing was in the way: the invoice itself cannot go to the ERP
    return _item_page(request, clerk, exception_id, status, message,
                      getattr(exc, "changes", None))


@router.post("/items/{exception_id}/field")
async def save_field(request: Request, exception_id: int,
                     clerk: AsWork) -> Response:
    """Save one corrected field: parsed, re-checked, versioned, stored as a label."""
    form, version = await _form(request)
    field, text = form.get("field", ""), form.get("value", "")
    row = _load(request, exception_id)
    try:
        value = corr.parse_value(field, text)
        old = (row.get("fields") or {}).get(field)
        invoice = corr.stored_invoice(row.get("fields") or {}, row["lines"])
        page = (old or {}).get("provenance", {}).get("page")
        bbox = (old or {}).get("provenance", {}).get("bbox")
        picked = corr.picked_box(form.get("pick_page", ""), form.get("pick_bbox", ""),
                                 row.get("pages") or 1)
        if picked is not None:  # the clerk clicked words on the page: their box is the label's
            page, bbox = picked
        new_invoice = corr.corrected(invoice, field, value, text, page, bbox)
        checks, reasons = corr.recheck(new_invoice, field, row["reason_codes"],
                                       request.app.state.settings)
        fv = new_invoice.field(field)
        assert fv is not None
        with request.app.state.connect() as conn:
            q.save_field(conn, exception_id, version, clerk.user_name, {
                "field": field, "old_text": corr.field_text(old), "new_text": str(value),
                "value": value, "field_json": fv.model_dump(mode="json"), "checks": checks,
                "reason_codes": reasons, "old_field": old or {}, "page": page, "bbox": bbox,
                "changes_money": corr.changes_money(field, corr.field_text(old), value),
            })
    except (corr.BadInput, q.ReviewConflict, LookupError) as exc:
        return _refused(request, clerk, exception_id, exc)
    return RedirectResponse(f"/items/{exception_id}?after={field}", 303)


def _summary(cols: dict[str, Any] | None) -> str | None:
    if cols is None:
        return None
    q_, p_, t_ = (corr.cell_text(c, cols.get(c)) or "?" for c in ("quantity", "unit_price",
                                                                   "line_total"))
    return f"{cols.get('description') or ''}: {q_} x {p_} = {t_}"


@router.post("/items/{exception_id}/lines")
async def save_line(request: Request, exception_id: int, clerk: AsWork) -> Response:
    """Edit, add or delete a line of the grid: parsed, the row and subtotal checks re-run,
    versioned, audited, each changed cell stored as a correction."""
    form, version = await _form(request)
    op = form.get("op", "")
    if op not in ("edit", "add", "delete"):
        raise HTTPException(422, "unknown line operation")
    row = _load(request, exception_id)
    s = request.app.state.settings
    try:
        stored = None
        if op != "add":
            no = form.get("line_no", "")
            stored = next((ln for ln in row["lines"] if no.isdigit() and ln["line_no"] == int(no)),
                          None)
            if stored is None:
                raise corr.BadInput(f"this invoice has no line {no[:12]!r}")
        values = corr.parse_line(form) if op != "delete" else {c: None for c in corr.LINE_CELLS}
        old = corr.line_columns(stored)
        cells = corr.line_changes(old, values)
        if not cells:
            raise corr.BadInput("nothing changed on this line")
        prov = {c: ((stored or {}).get("fields") or {}).get(c) or {} for c in corr.LINE_CELLS}
        for cell in cells:
            p = prov[cell["cell"]].get("provenance") or {}
            cell.update(old_field=prov[cell["cell"]], page=p.get("page"), bbox=p.get("bbox"))
        new_line = corr.corrected_line(stored, values) if op != "delete" else None
        lines = [LineItem.model_validate(ln["fields"] or {}) for ln in row["lines"]
                 if stored is None or ln["line_no"] != stored["line_no"]]
        if new_line is not None:
            lines.append(new_line)
        invoice = corr.stored_invoice(row.get("fields") or {}, []).model_copy(
            update={"lines": lines})
        checks, reasons = corr.recheck(invoice, "line_items", row["reason_codes"], s)
        with request.app.state.connect() as conn:
            q.save_line(conn, exception_id, version, clerk.user_name, {
                "op": op, "line_no": stored["line_no"] if stored else None,
                "columns": values, "line_json": new_line.model_dump(mode="json") if new_line
                else None, "checks": checks, "reason_codes": reasons, "cells": cells,
                "summary_old": _summary(old) if stored else None,
                "summary_new": _summary(values) if op != "delete" else None,
            })
    except (corr.BadInput, q.ReviewConflict, LookupError) as exc:
        if isinstance(exc, LookupError):
            exc = corr.BadInput(str(exc))
        return _refused(request, clerk, exception_id, exc)
    return RedirectResponse(f"/items/{exception_id}#line-grid", 303)


@router.post("/items/{exception_id}/decision")
async def decision(request: Request, exception_id: int,
                   clerk: AsWork) -> Response:
    """Approve, reject (with a reason), hold (with a comment) or reassign."""
    form, version = await _form(request)
    kind, note = form.get("decision", ""), form.get("note", "").strip()[:MAX_COMMENT_CHARS]
    if kind not in ("approve", "reject", "hold", "reassign"):
        raise HTTPException(422, "unknown decision")
    if kind in ("reject", "hold", "reassign") and not note:
        return _item_page(request, clerk, exception_id, 422, f"{kind} needs a reason or name")
    row = _load(request, exception_id)
    s = request.app.state.settings
    if kind == "approve" and not may_approve(clerk.role, row.get("total"), s.review_approval_limit):
        return _item_page(request, clerk, exception_id, 403,
                          f"approving more than {s.review_approval_limit} needs role approver")
    with request.app.state.connect() as conn:
        try:
            actions.decide(conn, exception_id, version, clerk.user_name, kind, note, settings=s)
        except (q.ReviewConflict, LookupError) as exc:
            return _refused(request, clerk, exception_id, exc)
        following = q.next_open_after(conn, exception_id) if kind == "approve" else None
    target = f"/items/{following}" if following else ("/" if kind != "hold" else
                                                       f"/items/{exception_id}")
    return RedirectResponse(target if kind in ("approve", "reject") else f"/items/{exception_id}",
                            303)


@router.post("/items/{exception_id}/comment")
async def comment(request: Request, exception_id: int,
                  clerk: AsWork) -> Response:
    """Add a comment (at most 4,000 characters; shown escaped)."""
    body = str((await request.form()).get("body", "")).strip()
    if not body or len(body) > MAX_COMMENT_CHARS:
        return _item_page(request, clerk, exception_id, 422,
                          f"a comment has 1 to {MAX_COMMENT_CHARS} characters")
    with request.app.state.connect() as conn:
        try:
            actions.add_comment(conn, exception_id, clerk.user_name, body)
        except LookupError as exc:
            raise HTTPException(404, str(exc)) from None
    return RedirectResponse(f"/items/{exception_id}", 303)


@router.post("/items/{exception_id}/not-duplicate")
async def not_duplicate(request: Request, exception_id: int,
                        clerk: AsWork) -> Response:
    """Clear DUPLICATE_SUSPECTED after comparing both documents."""
    _, version = await _form(request)
    with request.app.state.connect() as conn:
        try:
            actions.not_a_duplicate(conn, exception_id, version, clerk.user_name)
        except (q.ReviewConflict, LookupError) as exc:
            return _refused(request, clerk, exception_id, exc)
    return RedirectResponse(f"/items/{exception_id}", 303)


@router.post("/items/{exception_id}/bank/propose")
async def propose_bank(request: Request, exception_id: int,
                       clerk: AsWork) -> Response:
    """Propose the printed IBAN as the vendor's new account (a second person confirms)."""
    form, version = await _form(request)
    row = _load(request, exception_id)
    try:
        iban = corr.parse_value("iban", form.get("iban", ""))
        if not row.get("vendor_id"):
            raise corr.BadInput("this invoice is not linked to a vendor")
        with request.app.state.connect() as conn:
            actions.propose_bank_change(conn, exception_id, version, clerk.user_name,
                                        row["vendor_id"], iban)
    except (corr.BadInput, q.ReviewConflict, LookupError) as exc:
        return _refused(request, clerk, exception_id, exc)
    return RedirectResponse(f"/items/{exception_id}", 303)


@router.post("/items/{exception_id}/bank/confirm")
async def confirm_bank(request: Request, exception_id: int,
                       clerk: AsConfirmBank) -> Response:
    """Confirm the pending bank change: refused (by the database) for its proposer."""
    form = await request.form()
    pid = str(form.get("proposal_id", ""))
    if not pid.isdigit():
        raise HTTPException(422, "no proposal named")
    with request.app.state.connect() as conn:
        try:
            actions.confirm_bank_change(conn, int(pid), clerk.user_name)
        except q.ReviewConflict as exc:
            return _item_page(request, clerk, exception_id, 409, exc.message, claim=False)
    return RedirectResponse(f"/items/{exception_id}", 303)


@router.post("/bulk-approve")
async def bulk_approve(request: Request, clerk: AsWork) -> Response:
    """Approve the selected items that share one reason code and carry no money change."""
    form = await request.form()
    reason = str(form.get("reason", ""))
    ids = [int(v) for v in form.getlist("item") if isinstance(v, str) and v.isdigit()][:200]
    if not reason or not ids:
        raise HTTPException(422, "choose a reason code and at least one item")
    s = request.app.state.settings
    limit = None if clerk.role in ("approver", "admin") else s.review_approval_limit
    with request.app.state.connect() as conn:
        approved, refused = actions.bulk_approve(conn, ids, clerk.user_name, reason, limit,
                                                 settings=s)
    return render(request, "bulk_result.html", clerk=clerk, approved=approved,
                  refused=refused, reason=reason)


@router.get("/metrics", response_class=HTMLResponse)
async def metrics(request: Request, clerk: AsRead) -> Response:
    """Clerk seconds per reason code: median and p90."""
    with request.app.state.connect() as conn:
        rows = clerk_time.clerk_time_by_reason(conn)
    return render(request, "metrics.html", clerk=clerk, rows=rows)

