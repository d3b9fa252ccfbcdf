"""Vendor aliases learned from the links clerks made on the review page.

A clerk who links a VENDOR_UNKNOWN invoice to a vendor says: this printed name, VAT id and IBAN
belong to that vendor. `learn` turns the links into an alias table (kind -> normalised key ->
vendor, with the links behind each alias), `apply_to_rows` adds the table to the vendor master
rows before the master is indexed, so the learned names are candidates (trigrams, embeddings)
and the learned VAT ids and IBANs are exact keys and score as equal.

What is never learned: a key two links give to different vendors (ambiguous); a key the master
already gives to another vendor (the master wins); a name of fewer than 3 characters; an IBAN
for a vendor whose master record has an IBAN (a new account goes through the four-eyes bank
change, never through learning; an IBAN is learned only to fill a master gap).

Scoring is `k`-fold over the links, grouped by document: each fold's links are matched with the
table learned from the other folds (the candidate) and with the current table less what the
fold's own links taught it, so neither side has seen the links it is scored on.

Pure: no database, no model loading; `flows.alias_learning` wires it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from matchers.normalize import compact_id, normalize_name, normalize_vat_id

KINDS = ("name", "vat_id", "iban")
FOLDS = 5
MIN_NAME_CHARS = 3
AliasTable = dict[str, dict[str, dict[str, Any]]]  # kind -> key -> {vendor_id, links, printed}


@dataclass(frozen=True)
class Link:
    """One clerk link: the document, the vendor, and what the invoice printed."""

    link_id: int
    document_id: int
    vendor_id: str
    name: str | None = None
    vat_id: str | None = None
    iban: str | None = None


def _key(kind: str, value: str | None) -> str:
    if not value:
        return ""
    if kind == "name":
        key = normalize_name(value)
        return key if len(key) >= MIN_NAME_CHARS else ""
    return normalize_vat_id(value) if kind == "vat_id" else compact_id(value)


def _master_keys(rows: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, set[str]]]:
    """kind -> key -> the vendors the master itself gives that key."""
    keys: dict[str, dict[str, set[str]]] = {k: {} for k in KINDS}
    for r in rows:
        names = [r.get("name"), *(r.get("aliases") or ())]
        for kind, values in (("name", names), ("vat_id", [r.get("vat_id")]),
                             ("iban", [r.get("iban")])):  # fmt: skip
            for v in values:
                if key := _key(kind, v):
                    keys[kind].setdefault(key, set()).add(str(r["vendor_id"]))
    return keys


def learn(links: Sequence[Link], master_rows: Sequence[Mapping[str, Any]]) -> AliasTable:
    """The alias table the links teach (see the module docstring for what is left out)."""
    master = _master_keys(master_rows)
    has_iban = {str(r["vendor_id"]) for r in master_rows if r.get("iban")}
    known = {str(r["vendor_id"]) for r in master_rows}
    seen: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in KINDS}
    for link in links:
        if link.vendor_id not in known:
            continue
        for kind in KINDS:
            key = _key(kind, getattr(link, kind))
            if not key or (kind == "iban" and link.vendor_id in has_iban):
                continue
            entry = seen[kind].setdefault(key, {"vendors": set(), "links": [], "printed": ""})
            entry["vendors"].add(link.vendor_id)
            entry["links"].append(link.link_id)
            entry["printed"] = entry["printed"] or str(getattr(link, kind))
    table: AliasTable = {k: {} for k in KINDS}
    for kind, entries in seen.items():
        for key, e in sorted(entries.items()):
            owners = master[kind].get(key, set())
            if len(e["vendors"]) != 1 or owners - e["vendors"] or owners == e["vendors"]:
                continue  # ambiguous, another vendor's in the master, or the master has it
            (vendor,) = e["vendors"]
            table[kind][key] = {"vendor_id": vendor, "links": sorted(e["links"]),
                                "printed": e["printed"]}  # fmt: skip
    return table


def without_links(
    table: Mapping[str, Mapping[str, Mapping[str, Any]]], link_ids: set[int]
) -> AliasTable:
    """The table less every alias that only the given links taught."""
    out: AliasTable = {k: {} for k in KINDS}
    for kind, entries in table.items():
        for key, e in entries.items():
            rest = [i for i in e["links"] if i not in link_ids]
            if rest:
                out.setdefault(kind, {})[key] = {**e, "links": rest}
    return out


def size(table: Mapping[str, Mapping[str, Any]]) -> int:
    """How many aliases a table holds."""
    return sum(len(v) for v in table.values())


def same_aliases(a: Mapping[str, Mapping[str, Any]], b: Mapping[str, Mapping[str, Any]]) -> bool:
    """Whether two tables map the same keys to the same vendors (links aside)."""

    def flat(t: Mapping[str, Mapping[str, Any]]) -> set[tuple[str, str, str]]:
        return {(k, key, e["vendor_id"]) for k, entries in t.items() for key, e in entries.items()}

    return flat(a) == flat(b)


def apply_to_rows(
    rows: Sequence[Mapping[str, Any]], table: Mapping[str, Mapping[str, Mapping[str, Any]]]
) -> list[dict[str, Any]]:
    """The vendor master rows with the learned aliases added: names to `aliases`, VAT ids to
    `alias_vat_ids`, IBANs to `alias_ibans` (what `VendorRecord.from_row` reads)."""
    extra: dict[str, dict[str, list[str]]] = {}
    for kind, entries in table.items():
        for e in entries.values():
            extra.setdefault(e["vendor_id"], {}).setdefault(kind, []).append(e["printed"])
    out = []
    for r in rows:
        more = extra.get(str(r["vendor_id"]), {})
        if not more:
            out.append(dict(r))
            continue
        aliases = [*(r.get("aliases") or ()), *more.get("name", [])]
        out.append({**r, "aliases": list(dict.fromkeys(aliases)),
                    "alias_vat_ids": more.get("vat_id", []),
                    "alias_ibans": more.get("iban", [])})  # fmt: skip
    return out


def fold_of(link: Link, folds: int = FOLDS) -> int:
    """The fold a link is scored in (by document, so one invoice is never on both sides)."""
    return link.document_id % folds


Resolve = Callable[[AliasTable, Sequence[int]], list[str | None]]


def score_links(links: Sequence[Link], resolved: Sequence[str | None]) -> dict[str, int]:
    """Of the links, how many matching put on the linked vendor (right), on another vendor
    (wrong), or on none (unknown)."""
    right = sum(1 for ln, v in zip(links, resolved, strict=True) if v == ln.vendor_id)
    unknown = sum(1 for v in resolved if v is None)
    return {"links": len(links), "right": right, "wrong": len(links) - right - unknown,
            "unknown": unknown}  # fmt: skip


def cross_validate(
    links: Sequence[Link],
    master_rows: Sequence[Mapping[str, Any]],
    current: Mapping[str, Mapping[str, Mapping[str, Any]]],
    resolve: Resolve,
    folds: int = FOLDS,
) -> tuple[dict[str, int], dict[str, int]]:
    """(candidate, current) figures on held-back links: each fold matched with the table
    learned from the other folds, and with the current table less the fold's own links."""
    cand = {"links": 0, "right": 0, "wrong": 0, "unknown": 0}
    base = dict(cand)
    for f in range(folds):
        held = [ln for ln in links if fold_of(ln, folds) == f]
        if not held:
            continue
        rest = [ln for ln in links if fold_of(ln, folds) != f]
        docs = [ln.document_id for ln in held]
        ids = {ln.link_id for ln in held}
        for total, table in ((cand, learn(rest, master_rows)), (base, without_links(current, ids))):
            for k, v in score_links(held, resolve(table, docs)).items():
                total[k] += v
    return cand, base


def worse_on(
    candidate: Mapping[str, Mapping[str, int]], current: Mapping[str, Mapping[str, int]]
) -> list[str]:
    """The guarded figures on which the candidate is worse: fewer right or more wrong, on the
    held-back links or on the confirmed invoices."""
    worse = []
    for part in ("held_back", "confirmed"):
        c, b = candidate.get(part), current.get(part)
        if not c or not b:
            continue
        if c["right"] < b["right"]:
            worse.append(f"{part}.right")
        if c["wrong"] > b["wrong"]:
            worse.append(f"{part}.wrong")
    return worse
