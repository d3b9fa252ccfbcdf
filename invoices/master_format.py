"""The master-data CSV format (`data/master/README.md`): each file's columns, in order.

One definition that the loader (`staging.master`), the corpus generator and the tests share.
"""

from __future__ import annotations

MASTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "vendors.csv": (
        "vendor_id",
        "name",
        "aliases",
        "address",
        "country",
        "vat_id",
        "iban",
        "bic",
        "email",
        "currency",
        "locale",
        "payment_terms_days",
    ),
    "gl_accounts.csv": ("gl_account", "name", "category"),
    "cost_centres.csv": ("cost_centre", "name"),
    "purchase_orders.csv": ("po_number", "vendor_id", "currency", "order_date", "status"),
    "po_lines.csv": (
        "po_number",
        "line_no",
        "sku",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "tax_rate",
    ),
    "goods_receipts.csv": ("receipt_id", "po_number", "line_no", "quantity", "received_date"),
    "coded_history.csv": (
        "invoice_id",
        "line_no",
        "vendor_id",
        "invoice_date",
        "description",
        "amount",
        "gl_account",
        "cost_centre",
    ),
}
