-- What matching found beyond the vendor: the purchase order and any earlier duplicates.
ALTER TABLE invoices ADD COLUMN po_match jsonb;
ALTER TABLE invoices ADD COLUMN duplicates jsonb NOT NULL DEFAULT '[]'::jsonb;
CREATE INDEX invoices_po_number ON invoices (po_number);
