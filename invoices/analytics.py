"""The analysts' views as typed tables: the columns of each view and the frame built from rows.

Pure: no database. `staging.analytics.load` runs the query and hands the rows here. The column
kinds are the contract the notebooks rely on (staging/ANALYTICS.md says what each column means):

- money: `decimal128(18, 2)` (pyarrow), exact; sums stay Decimal. Plot with `.astype(float)`.
- rate, hours, seconds, confidence: `Float64`; counts: `Int64`; flags: `boolean`;
- text (ids, codes, names, run ids): `string`; dates: `date32` (pyarrow); times: UTC `datetime64`;
- lists of reason codes: Python lists in an `object` column.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pyarrow as pa

MONEY = pd.ArrowDtype(pa.decimal128(18, 2))
KINDS: dict[str, Any] = {
    "text": "string",
    "int": "Int64",
    "float": "Float64",
    "money": MONEY,
    "bool": "boolean",
    "date": pd.ArrowDtype(pa.date32()),
    "time": "datetime64[us, UTC]",
    "list": object,
}

_EXCEPTION = {
    "exception_id": "int", "document_id": "int", "run_id": "text", "file_name": "text",
    "vendor_id": "text", "currency": "text", "total": "money", "reason_codes": "list",
    "reason_count": "int", "status": "text", "assignee": "text", "resolution": "text",
    "created_at": "time", "resolved_at": "time", "age_hours": "float", "hours_to_resolve": "float",
}  # fmt: skip

VIEW_COLUMNS: dict[str, dict[str, str]] = {
    "invoices_flat": {
        "document_id": "int", "run_id": "text", "file_name": "text", "document_status": "text",
        "invoice_status": "text", "document_type": "text", "vendor_id": "text",
        "vendor_name": "text", "vendor_name_extracted": "text", "vendor_country": "text",
        "invoice_number": "text", "invoice_date": "date", "due_date": "date", "currency": "text",
        "subtotal": "money", "tax": "money", "total": "money", "amount_due": "money",
        "po_number": "text", "po_match_method": "text", "po_status": "text",
        "gl_account": "text", "gl_account_name": "text", "cost_centre": "text",
        "approver_group": "text", "min_confidence": "float", "straight_through": "bool",
        "staged_at": "time",
    },
    "exceptions": _EXCEPTION,
    "exception_reasons": {
        "exception_id": "int", "document_id": "int", "run_id": "text", "vendor_id": "text",
        "reason_code": "text", "status": "text", "created_at": "time",
    },
    "run_rates": {
        "run_id": "text", "started_at": "time", "finished_at": "time", "status": "text",
        "documents": "int", "staged": "int", "exceptions": "int", "failures": "int",
        "invoices": "int", "straight_through": "int", "straight_through_rate": "float",
        "wall_seconds": "float", "flow_seconds": "float", "llm_calls": "int",
        "llm_tokens": "int",
    },
    "reason_rates": {
        "run_id": "text", "reason_code": "text", "documents": "int", "share_of_run": "float",
    },
    "field_values": {
        "document_id": "int", "run_id": "text", "vendor_id": "text", "field": "text",
        "value": "text", "confidence": "float", "method": "text", "extractor": "text",
        "extractor_version": "text", "auto_accepted": "bool", "reviewed": "bool",
        "corrected": "bool",
        "corrected_value": "text",
    },
    "field_rates": {
        "field": "text", "vendor_id": "text", "values": "int", "auto_accepted": "int",
        "corrected": "int", "auto_accepted_corrected": "int", "auto_accept_rate": "float",
        "auto_accepted_precision": "float",
    },
    "vendor_rates": {
        "vendor_id": "text", "vendor_name": "text", "invoices": "int", "straight_through": "int",
        "straight_through_rate": "float", "corrected_values": "int",
    },
    "spend": {
        "month": "date", "vendor_id": "text", "vendor_name": "text", "gl_account": "text",
        "cost_centre": "text", "currency": "text", "invoices": "int", "amount": "money",
    },
    "duplicates_caught": {
        "exception_id": "int", "document_id": "int", "run_id": "text", "file_name": "text",
        "vendor_id": "text", "invoice_number": "text", "currency": "text", "amount": "money",
        "kind": "text", "earlier_document_id": "int", "status": "text", "resolution": "text",
        "caught_at": "time",
    },
    "corrections": {
        "correction_id": "int", "document_id": "int", "run_id": "text", "vendor_id": "text",
        "field": "text", "line_no": "int", "old_value": "text", "new_value": "text",
        "old_confidence": "float", "extractor": "text", "extractor_version": "text",
        "method": "text", "corrected_by": "text", "corrected_at": "time",
        "was_auto_accepted": "bool", "page": "int", "changes_money": "bool",
    },
    "correction_counts": {
        "field": "text", "vendor_id": "text", "corrections": "int", "invoices": "int",
        "auto_accepted_corrected": "int",
    },
    "vendor_drift": {
        "vendor_id": "text", "week": "date", "corrections": "int", "documents": "int",
        "first_week": "bool",
    },
    "clerk_seconds": {
        "item_time_id": "int", "document_id": "int", "exception_id": "int", "clerk": "text",
        "started_at": "time", "finished_at": "time", "seconds": "float", "action": "text",
        "reason_codes": "list",
    },
    "run_versions": {
        "run_id": "text", "component": "text", "name": "text", "version": "text",
        "documents": "int",
    },
}  # fmt: skip


def columns(view: str) -> dict[str, str]:
    """The columns of a view and their kinds; raises KeyError naming the known views."""
    try:
        return VIEW_COLUMNS[view]
    except KeyError:
        raise KeyError(f"unknown analytics view {view!r}; known: {sorted(VIEW_COLUMNS)}") from None


def _cell(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "text":
        return str(value)  # run ids arrive as UUIDs
    if kind == "float":
        return float(value)  # numeric rates arrive as Decimal
    return value


def frame(view: str, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The rows of a view as a DataFrame with the view's columns, in order, typed by kind."""
    kinds = columns(view)
    data = {
        name: pd.Series([_cell(kind, row[name]) for row in rows], dtype=object).astype(KINDS[kind])
        for name, kind in kinds.items()
    }
    return pd.DataFrame(data, columns=list(kinds))


def pareto(counts: pd.Series) -> pd.DataFrame:
    """Counts per category, largest first, with each one's share and the cumulative share."""
    ordered = counts.astype("Int64").sort_values(ascending=False)
    total = int(ordered.sum())
    table = pd.DataFrame({"count": ordered})
    table["share"] = (ordered / total).astype("Float64") if total else pd.NA
    table["cumulative_share"] = table["share"].cumsum()
    return table


def calibration_table(confidence: pd.Series, right: pd.Series, bins: int = 10) -> pd.DataFrame:
    """Reviewed values binned by confidence: per bin the values, their mean confidence and the
    share that were right (a calibrated model has the two equal)."""
    conf = confidence.astype(float).clip(0.0, 1.0)
    edges = [i / bins for i in range(bins + 1)]
    binned = pd.cut(conf, edges, include_lowest=True)
    table = (
        pd.DataFrame({"bin": binned, "confidence": conf, "right": right.astype(float)})
        .groupby("bin", observed=True)
        .agg(values=("right", "size"), mean_confidence=("confidence", "mean"),
             share_right=("right", "mean"))
    )  # fmt: skip
    return table.reset_index()


def precision_by(field_rates: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """The `field_rates` view summed over other keys: values, auto-accepted, corrected, and the
    precision of auto-accepted values (share not corrected) per `by`."""
    counts = ["values", "auto_accepted", "corrected", "auto_accepted_corrected"]
    table = field_rates.groupby(by, dropna=False)[counts].sum()
    accepted = table["auto_accepted"].astype("Float64")
    table["auto_accept_rate"] = accepted / table["values"].astype("Float64")
    table["auto_accepted_precision"] = 1 - table["auto_accepted_corrected"] / accepted.where(
        accepted > 0
    )
    return table.reset_index()
