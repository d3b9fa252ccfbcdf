-- VENDOR_UNKNOWN on the review page: a clerk links the invoice to a vendor of the master, or
-- proposes a new vendor that a second person confirms. Links are labels: the retrain flow
-- learns vendor aliases from them (the printed name, VAT id and IBAN -> the linked vendor;
-- the alias table is a model version of kind 'vendor_aliases' in classifier_models).

-- One row per link a clerk made, with the vendor evidence the invoice printed (as staged, or as
-- the clerk corrected it) and the vendor it had before (NULL: none).
CREATE TABLE vendor_links (
    link_id             bigserial PRIMARY KEY,
    document_id         bigint NOT NULL REFERENCES documents (document_id),
    vendor_id           text NOT NULL REFERENCES vendors (vendor_id),
    previous_vendor_id  text,
    printed_name        text,
    printed_vat_id      text,
    printed_iban        text,
    via                 text NOT NULL DEFAULT 'link' CHECK (via IN ('link', 'new_vendor')),
    linked_by           text NOT NULL,
    linked_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vendor_links_document ON vendor_links (document_id, link_id);

-- A new vendor proposed from an invoice: recorded and audited; the vendor master gets it only
-- when a different person confirms it (maker is not checker, enforced here).
CREATE TABLE vendor_proposals (
    proposal_id     bigserial PRIMARY KEY,
    document_id     bigint NOT NULL REFERENCES documents (document_id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    vat_id          text,
    iban            text,
    address         text,
    country         char(2),
    currency        char(3),
    proposed_by     text NOT NULL,
    proposed_at     timestamptz NOT NULL DEFAULT now(),
    decided_by      text,
    decided_at      timestamptz,
    decision        text CHECK (decision IN ('confirmed', 'rejected')),
    vendor_id       text REFERENCES vendors (vendor_id),
    CONSTRAINT vendor_proposal_maker_is_not_checker
        CHECK (decided_by IS NULL OR decided_by <> proposed_by),
    CHECK ((decided_by IS NULL) = (decision IS NULL))
);
CREATE UNIQUE INDEX vendor_proposals_one_pending ON vendor_proposals (document_id)
    WHERE decided_by IS NULL;
