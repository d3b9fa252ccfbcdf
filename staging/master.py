"""Loading master data (vendors, POs, goods receipts, GL accounts, coded history) from CSV.

The format is documented in `data/master/README.md`. Loading upserts by key, so loading the same
folder twice changes nothing; a bad cell names its file, row and column.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from invoices.errors import MasterDataError
from invoices.master_format import MASTER_COLUMNS
from staging.db import Conn, connection, upgrade
from staging.store import audit


def _text(v: str) -> str | None:
    v = v.strip()
    return v or None


def _compact(v: str) -> str | None:
    v = "".join(v.split()).upper()
    return v or None


def _int(v: str) -> int | None:
    return int(v) if v.strip() else None


def _decimal(v: str) -> Decimal | None:
    return Decimal(v.strip()) if v.strip() else None


def _date(v: str) -> date | None:
    return date.fromisoformat(v.strip()) if v.strip() else None


def _list(v: str) -> list[str]:
    return [p.strip() for p in v.split("|") if p.strip()]


# How each column is parsed; which columns a file has comes from MASTER_COLUMNS.
_PARSERS: dict[str, Callable[[str], Any]] = {
    "aliases": _list,
    "country": _compact,
    "vat_id": _compact,
    "iban": _compact,
    "bic": _compact,
    "currency": _compact,
    "payment_terms_days": _int,
    "line_no": _int,
    "quantity": _decimal,
    "unit_price": _decimal,
    "tax_rate": _decimal,
    "amount": _decimal,
    "order_date": _date,
    "received_date": _date,
    "invoice_date": _date,
}


@dataclass(frozen=True)
class Table:
    """How one CSV file maps onto one table: its key and required columns."""

    file: str
    table: str
    key: tuple[str, ...]
    required: tuple[str, ...]

    @property
    def columns(self) -> dict[str, Callable[[str], Any]]:
        """The file's columns, in order, with their parsers."""
        return {c: _PARSERS.get(c, _text) for c in MASTER_COLUMNS[self.file]}


TABLES: tuple[Table, ...] = (
    Table("vendors.csv", "vendors", ("vendor_id",), ("vendor_id", "name")),
    Table("gl_accounts.csv", "gl_accounts", ("gl_account",), ("gl_account", "name")),
    Table("cost_centres.csv", "cost_centres", ("cost_centre",), ("cost_centre", "name")),
    Table(
        "purchase_orders.csv",
        "purchase_orders",
        ("po_number",),
        ("po_number", "vendor_id", "currency"),
    ),
    Table(
        "po_lines.csv",
        "purchase_order_lines",
        ("po_number", "line_no"),
        ("po_number", "line_no", "description", "quantity", "unit_price"),
    ),
    Table(
        "goods_receipts.csv",
        "goods_receipts",
        ("receipt_id", "po_number", "line_no"),
        ("receipt_id", "po_number", "line_no", "quantity"),
    ),
    Table(
        "coded_history.csv",
        "coded_history",
        ("invoice_id", "line_no"),
        ("invoice_id", "line_no", "description"),
    ),
)


def _read_rows(path: Path, spec: Table) -> list[tuple[Any, ...]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in spec.required if c not in (reader.fieldnames or [])]
            if missing:
                raise MasterDataError(path, f"missing column(s) {', '.join(missing)}")
            rows = []
            for row_no, raw in enumerate(reader, start=2):
                rows.append(_parse_row(path, spec, raw, row_no))
            return rows
    except UnicodeDecodeError as exc:
        raise MasterDataError(path, f"not UTF-8 text ({exc.reason})") from exc


def _parse_row(path: Path, spec: Table, raw: dict[str, str], row_no: int) -> tuple[Any, ...]:
    values = []
    for column, parse in spec.columns.items():
        cell = raw.get(column) or ""
        try:
            value = parse(cell)
        except (ValueError, InvalidOperation) as exc:
            raise MasterDataError(
                path, f"column {column}: bad value {cell!r} ({exc})", row_no
            ) from exc
        if column in spec.required and value in (None, []):
            raise MasterDataError(path, f"column {column} is empty", row_no)
        values.append(value)
    return tuple(values)


def _upsert(conn: Conn, spec: Table, rows: list[tuple[Any, ...]]) -> None:
    cols = list(spec.columns)
    updates = [c for c in cols if c not in spec.key]
    set_clause = ", ".join(f"{c} = EXCLUDED.{c}" for c in updates)
    if spec.table in ("vendors", "purchase_orders"):
        set_clause += ", updated_at = now()"
    # only touch a row when something changed, so re-loading the same data is a no-op
    changed = " OR ".join(f"{spec.table}.{c} IS DISTINCT FROM EXCLUDED.{c}" for c in updates)
    query = (
        f"INSERT INTO {spec.table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"
        f" ON CONFLICT ({', '.join(spec.key)}) DO UPDATE SET {set_clause} WHERE {changed}"
    )
    with conn.cursor() as cur:
        cur.executemany(query, rows)


def load_master_dir(conn: Conn, folder: Path) -> dict[str, int]:
    """Load every master CSV present in `folder`, in dependency order; returns rows per table."""
    folder = Path(folder)
    if not folder.is_dir():
        raise MasterDataError(folder, "not a folder")
    counts: dict[str, int] = {}
    with conn.transaction():
        for spec in TABLES:
            path = folder / spec.file
            if not path.exists():
                continue
            rows = _read_rows(path, spec)
            _upsert(conn, spec, rows)
            counts[spec.table] = len(rows)
        if not counts:
            raise MasterDataError(
                folder, "no master-data CSV files found (see data/master/README.md)"
            )
        audit(conn, "master_loaded", detail={"folder": str(folder), "rows": counts})
    return counts


def load_master_folder(url: str, schema: str, folder: Path) -> dict[str, int]:
    """`load_master_dir` on its own connection, the schema upgraded first."""
    with connection(url, schema) as conn:
        upgrade(conn)
        return load_master_dir(conn, folder)


def vendor_count(conn: Conn) -> int:
    """How many vendors the master holds."""
    return int(conn.execute("SELECT count(*) AS n FROM vendors").fetchone()["n"])


def clear_master(conn: Conn) -> None:
    """Empty the vendor master, purchase orders, goods receipts and the billing ledger (for a
    corpus loaded afresh by the evaluations and benchmarks)."""
    conn.execute(
        "TRUNCATE vendors, purchase_orders, purchase_order_lines, goods_receipts,"
        " po_billing_ledger CASCADE"
    )


def vendor_rows(conn: Conn) -> list[dict[str, Any]]:
    """Every vendor of the master, as dicts (the input of vendor matching)."""
    return conn.execute(
        "SELECT vendor_id, name, aliases, address, country, vat_id, iban, bic, email, currency,"
        " locale, payment_terms_days, updated_at FROM vendors ORDER BY vendor_id"
    ).fetchall()
