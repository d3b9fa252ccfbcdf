"""VENDOR_UNKNOWN on the review page: link an invoice to a vendor of the master, or propose a new
vendor that a second person confirms; and the links as labels for the retrain flow.

Each action is versioned (the item's version, `staging.review.bump_version`), audited in the same
transaction and timed like the other review actions. A link takes VENDOR_UNKNOWN off the item;
when the printed IBAN is not the linked vendor's account the item gets BANK_DETAILS_CHANGED
(the caller decides that with the matcher's own rule and passes `bank_changed`), so a link never
slips a new bank account past the four-eyes check.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from staging.corrections import time_action
from staging.db import Conn
from staging.review import FourEyesViolation, NotClaimed, ReviewConflict, bump_version
from staging.store import audit

VENDOR_UNKNOWN = "VENDOR_UNKNOWN"
BANK_DETAILS_CHANGED = "BANK_DETAILS_CHANGED"


def vendor_row(conn: Conn, vendor_id: str) -> dict[str, Any] | None:
    """One vendor master row (the columns matching reads), or None."""
    return conn.execute(
        "SELECT vendor_id, name, aliases, address, country, vat_id, iban, bic, email, currency"
        " FROM vendors WHERE vendor_id = %s",
        (vendor_id,),
    ).fetchone()


def _reasons_after_link(reasons: list[str], bank_changed: bool) -> list[str]:
    kept = [r for r in reasons if r not in (VENDOR_UNKNOWN, BANK_DETAILS_CHANGED)]
    return sorted({*kept, *([BANK_DETAILS_CHANGED] if bank_changed else [])})


def _link(conn: Conn, doc: int, vendor: dict[str, Any], me: str, via: str) -> int:
    """Point the invoice at the vendor and record the link with what the invoice printed."""
    inv = conn.execute(
        "SELECT vendor_id, vendor_name, vendor_vat_id, iban, vendor_match FROM invoices"
        " WHERE document_id = %s FOR UPDATE",
        (doc,),
    ).fetchone()
    if inv is None:
        raise LookupError(f"document {doc} has no staged invoice")
    match = {**(inv["vendor_match"] or {}), "vendor_id": vendor["vendor_id"],
             "vendor_name": vendor["name"], "method": "clerk", "linked_by": me,
             "reasons": []}  # fmt: skip
    conn.execute(
        "UPDATE invoices SET vendor_id = %s, vendor_match = %s, updated_at = now()"
        " WHERE document_id = %s",
        (vendor["vendor_id"], Jsonb(match), doc),
    )
    row = conn.execute(
        "INSERT INTO vendor_links (document_id, vendor_id, previous_vendor_id, printed_name,"
        " printed_vat_id, printed_iban, via, linked_by) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING link_id",
        (doc, vendor["vendor_id"], inv["vendor_id"], inv["vendor_name"], inv["vendor_vat_id"],
         inv["iban"], via, me),
    ).fetchone()  # fmt: skip
    assert row is not None
    return int(row["link_id"])


def link_vendor(
    conn: Conn, exception_id: int, version: int, me: str, vendor_id: str, *, bank_changed: bool
) -> int:
    """The clerk links the item's invoice to `vendor_id`: VENDOR_UNKNOWN goes (and
    BANK_DETAILS_CHANGED comes when `bank_changed`); returns the link id. LookupError for an
    unknown vendor; StaleVersion / NotClaimed as for every save."""
    with conn.transaction():
        row = bump_version(conn, exception_id, version, me)
        vendor = vendor_row(conn, vendor_id)
        if vendor is None:
            raise LookupError(f"there is no vendor {vendor_id!r} in the master")
        doc = row["document_id"]
        link_id = _link(conn, doc, vendor, me, "link")
        reasons = _reasons_after_link(row["reason_codes"], bank_changed)
        conn.execute(
            "UPDATE exception_queue SET reason_codes = %s WHERE exception_id = %s",
            (reasons, exception_id),
        )
        time_action(conn, doc, me, "link_vendor", row["reason_codes"])
        audit(conn, "vendor_linked", actor=me, document_id=doc, detail={
            "exception_id": exception_id, "version": row["version"], "link_id": link_id,
            "vendor_id": vendor_id, "old": row["reason_codes"], "new": reasons,
        })  # fmt: skip
    return link_id


def propose_vendor(
    conn: Conn, exception_id: int, version: int, me: str, proposal: dict[str, Any]
) -> int:
    """The clerk proposes a new vendor from the invoice (name, vat_id, iban, address, country,
    currency): recorded and audited, the item waits for a second person. Returns its id."""
    with conn.transaction():
        row = bump_version(conn, exception_id, version, me)
        doc = row["document_id"]
        try:
            with conn.transaction():
                pid = conn.execute(
                    "INSERT INTO vendor_proposals (document_id, name, vat_id, iban, address,"
                    " country, currency, proposed_by) VALUES (%(doc)s, %(name)s, %(vat_id)s,"
                    " %(iban)s, %(address)s, %(country)s, %(currency)s, %(me)s)"
                    " RETURNING proposal_id",
                    {"doc": doc, "me": me, **proposal},
                ).fetchone()
        except psycopg.errors.UniqueViolation as exc:
            raise ReviewConflict("a new vendor is already proposed from this invoice") from exc
        assert pid is not None
        conn.execute(
            "UPDATE exception_queue SET waiting_second = true WHERE exception_id = %s",
            (exception_id,),
        )
        time_action(conn, doc, me, "propose_vendor", row["reason_codes"])
        audit(conn, "vendor_proposed", actor=me, document_id=doc, detail={
            "exception_id": exception_id, "version": row["version"],
            "proposal_id": pid["proposal_id"], **proposal,
        })  # fmt: skip
    return int(pid["proposal_id"])


def pending_vendor_proposal(conn: Conn, document_id: int) -> dict[str, Any] | None:
    """The undecided new-vendor proposal raised from this document, if any."""
    return conn.execute(
        "SELECT * FROM vendor_proposals WHERE document_id = %s AND decided_by IS NULL",
        (document_id,),
    ).fetchone()


def decide_vendor_proposal(conn: Conn, proposal_id: int, me: str, confirm: bool) -> str | None:
    """A second person confirms (the vendor is added to the master and the invoice linked to
    it) or rejects the proposal; the database refuses the proposer (FourEyesViolation).
    Returns the new vendor id (None when rejected)."""
    with conn.transaction():
        try:
            with conn.transaction():
                p = conn.execute(
                    "UPDATE vendor_proposals SET decided_by = %s, decided_at = now(),"
                    " decision = %s WHERE proposal_id = %s AND decided_by IS NULL RETURNING *",
                    (me, "confirmed" if confirm else "rejected", proposal_id),
                ).fetchone()
        except psycopg.errors.CheckViolation as exc:
            raise FourEyesViolation(
                "you proposed this vendor: another person must confirm it"
            ) from exc
        if p is None:
            raise NotClaimed("no pending vendor proposal with this id")
        vendor_id = _add_vendor(conn, p) if confirm else None
        if vendor_id is not None:
            _link(conn, p["document_id"], vendor_row(conn, vendor_id) or {}, me, "new_vendor")
        conn.execute(
            "UPDATE exception_queue SET waiting_second = false, version = version + 1,"
            " reason_codes = CASE WHEN %s THEN array_remove(reason_codes, 'VENDOR_UNKNOWN')"
            " ELSE reason_codes END WHERE document_id = %s AND status = 'open'",
            (confirm, p["document_id"]),
        )
        audit(conn, "vendor_proposal_" + ("confirmed" if confirm else "rejected"), actor=me,
              document_id=p["document_id"], detail={
                  "proposal_id": proposal_id, "vendor_id": vendor_id, "name": p["name"],
                  "proposed_by": p["proposed_by"]})  # fmt: skip
    return vendor_id


def _add_vendor(conn: Conn, p: dict[str, Any]) -> str:
    vendor_id = f"NEW{p['proposal_id']:06d}"
    conn.execute(
        "INSERT INTO vendors (vendor_id, name, address, country, vat_id, iban, currency)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (vendor_id, p["name"], p["address"], p["country"], p["vat_id"], p["iban"], p["currency"]),
    )
    conn.execute(
        "UPDATE vendor_proposals SET vendor_id = %s WHERE proposal_id = %s",
        (vendor_id, p["proposal_id"]),
    )
    return vendor_id


def vendor_links(conn: Conn) -> list[dict[str, Any]]:
    """The latest clerk link of every document still linked to that vendor, with the printed
    evidence and the invoice's staged fields (the labels the alias learning reads)."""
    return conn.execute(
        "SELECT DISTINCT ON (l.document_id) l.link_id, l.document_id, l.vendor_id,"
        " l.printed_name, l.printed_vat_id, l.printed_iban, i.fields"
        " FROM vendor_links l JOIN invoices i USING (document_id)"
        " WHERE i.vendor_id = l.vendor_id"
        " ORDER BY l.document_id, l.link_id DESC"
    ).fetchall()


def confirmed_invoices(conn: Conn, limit: int = 2000) -> list[dict[str, Any]]:
    """Recent invoices the pipeline linked to a vendor and nobody relinked, that went straight
    through or a clerk approved: (document_id, vendor_id, fields). A new alias table must still
    match them to the same vendor."""
    return conn.execute(
        "SELECT i.document_id, i.vendor_id, i.fields FROM invoices i"
        " WHERE i.vendor_id IS NOT NULL AND i.status IN ('staged', 'approved', 'synced')"
        " AND NOT EXISTS (SELECT 1 FROM vendor_links l WHERE l.document_id = i.document_id)"
        " AND NOT EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = i.document_id"
        "   AND e.status = 'open')"
        " ORDER BY i.document_id DESC LIMIT %s",
        (limit,),
    ).fetchall()
