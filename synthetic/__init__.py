"""A synthetic invoice corpus with ground truth: master data, documents, labels, anomalies.

Public labelled invoice sets have no purchase orders, vendor master, coding history,
duplicates or price variances, and they are small. `generate_corpus` makes all of these,
deterministically for a seed, at any size:

    from synthetic import generate_corpus
    summary = generate_corpus(tmp_path / "corpus", invoices=30, seed=7, scanned_share=0.0)

or `invoices generate --out DIR --invoices N --seed S`. Output:

- `master/*.csv`: vendors, purchase_orders, po_lines, goods_receipts, gl_accounts,
  cost_centres, coded_history, in the format of data/master/README.md. A quarter of the
  vendors never invoice; 8% of the records lack a VAT id, IBAN or e-mail that their
  invoices print (`Vendor.master_gaps`); every vendor codes (description -> GL account, cost centre)
  consistently, and 5% of the history lines are coded otherwise (noise).
- `docs/<doc_id>.pdf|png|jpg`: born-digital PDFs (text layer) in ten layouts
  (`layouts.py`), some with Factur-X/ZUGFeRD CII XML attached (`einvoice.py`), and scans:
  image-only PDFs, PNG scans, JPEG photos, some with an incoming-mail stamp.
- Layout families (`families.py`, off by default; `family_rates={"totals_table": 0.1, ...}` or
  `invoices generate --families 0.1 --family-rate KIND=SHARE`): label variants with captions
  under the values, unheaded buyer blocks, two-row line items, totals tables with an
  unlabelled sum row, prepayments, cash rounding, credit notes printed negative, month-first
  English dates. Each is given to its share of the documents it can apply to.
- `labels/<doc_id>.json`: eval-label/v1 (`fields`, `line_items`, `label_coverage`,
  `checks_label_visible_in_text`, `group`) plus a `truth` key; `manifest.jsonl`.

Label conventions: `fields` hold what is printed (vendor name as printed, which may be a
variant of the master name); IBAN and VAT id compact as python-stdnum compacts them (a
Swiss VAT id printed "CHE-123.456.789 MWST" is labelled "CHE123456789MWST"); the address is
"street, postcode town" (the country is the vendor's `country` in the master); dates ISO;
amounts as numbers exactly as printed (so an invoice with a planted arithmetic error is
labelled with its wrong printed total); `amount_due` is total minus any deposit printed plus
any cash rounding (EN 16931); a credit note's amounts are positive even where it prints them
negative (EN 16931: the type gives the direction).
Statements and reminders carry identity fields and `document_date` only.

`truth`: `vendor_id` (null for an unknown vendor), `po_number` (the PO the goods were
ordered under, even when the invoice does not print it: see anomaly `po_missing`),
`document_type`, `scanned`, `media`, `stamp`, `einvoice` (the attachment's name or null),
`layout`, `locale`, `families` (the layout families it is printed in), `lines` (`line_no`,
`po_line_no`, `sku`, `gl_account`, `cost_centre`), `approval_route` and `anomalies`, each
`{"kind", "of_doc_id", "detail"}` with kind one of `ANOMALY_KINDS`. Duplicates and credit
notes name the earlier document in `of_doc_id`. Invoices without anomalies have [].
"""

from synthetic.corpus import Summary, generate_corpus
from synthetic.families import DEFAULT_FAMILY_RATES, FAMILY_KINDS
from synthetic.model import ANOMALY_KINDS
from synthetic.plan import DEFAULT_ANOMALY_RATES, Options

__all__ = [
    "ANOMALY_KINDS",
    "DEFAULT_ANOMALY_RATES",
    "DEFAULT_FAMILY_RATES",
    "FAMILY_KINDS",
    "Options",
    "Summary",
    "generate_corpus",
]
