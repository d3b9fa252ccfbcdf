-- Billed quantity per PO line, per document: partial invoices add up, over-billing across
-- invoices shows. Written when an invoice is staged; re-staging a document replaces its rows.

CREATE TABLE po_billing_ledger (
    document_id     bigint NOT NULL REFERENCES documents (document_id) ON DELETE CASCADE,
    po_number       text NOT NULL,
    line_no         integer NOT NULL,
    quantity        numeric(18, 4) NOT NULL,
    amount          numeric(18, 2) NOT NULL DEFAULT 0,
    billed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (document_id, po_number, line_no)
);
CREATE INDEX po_billing_ledger_line ON po_billing_ledger (po_number, line_no);

-- Duplicate candidates are found by vendor, by absolute amount and by invoice number.
CREATE INDEX invoices_abs_total ON invoices (abs(total));
CREATE INDEX invoices_invoice_number ON invoices (invoice_number);
