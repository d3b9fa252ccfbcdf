-- The transactional outbox to the ERP: an approved invoice and its outbox entry are written in one
-- transaction; the relay claims entries with FOR UPDATE SKIP LOCKED and a lease, and marks one done
-- only while it still holds it (its attempt number still matches).

ALTER TABLE invoices
    ADD COLUMN approval_version integer NOT NULL DEFAULT 0,
    ADD COLUMN approved_by      text,
    ADD COLUMN approved_at      timestamptz,
    ADD COLUMN erp_id           text,          -- the ERP's id of the posted bill (the receipt)
    ADD COLUMN synced_at        timestamptz,
    ADD COLUMN voided_at        timestamptz,   -- a reversal (credit note) was queued
    ADD COLUMN credit_erp_id    text;          -- the ERP's id of that credit note

CREATE TABLE erp_outbox (
    entry_id            bigserial PRIMARY KEY,
    document_id         bigint NOT NULL REFERENCES invoices (document_id),
    kind                text NOT NULL CHECK (kind IN ('bill', 'reversal')),
    approval_version    integer NOT NULL,
    -- document, approval version and kind: re-approving the same version adds nothing
    idempotency_key     text NOT NULL UNIQUE,
    payload             jsonb NOT NULL,
    attachment          bytea,                 -- the invoice PDF as received
    attachment_name     text,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'in_flight', 'done', 'dead')),
    attempts            integer NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz NOT NULL DEFAULT now(),
    lease_until         timestamptz,
    leased_by           text,
    last_error          text,
    receipt             jsonb,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    done_at             timestamptz
);
CREATE INDEX erp_outbox_due ON erp_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX erp_outbox_leased ON erp_outbox (lease_until) WHERE status = 'in_flight';
CREATE INDEX erp_outbox_document ON erp_outbox (document_id);

-- Only an approved invoice enters the outbox (at the version it was approved at); a reversal
-- only for a synced invoice that was voided. The database refuses anything else.
CREATE FUNCTION erp_outbox_only_approved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    inv record;
BEGIN
    SELECT status, approval_version, voided_at INTO inv
        FROM invoices WHERE document_id = NEW.document_id;
    IF NEW.kind = 'bill' AND (inv.status IS DISTINCT FROM 'approved'
                              OR inv.approval_version IS DISTINCT FROM NEW.approval_version) THEN
        RAISE EXCEPTION 'invoice % is not approved at version % (status %): it cannot enter the ERP outbox',
            NEW.document_id, NEW.approval_version, coalesce(inv.status, 'missing')
            USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.kind = 'reversal' AND (inv.status IS DISTINCT FROM 'synced' OR inv.voided_at IS NULL) THEN
        RAISE EXCEPTION 'invoice % is not a voided synced invoice: no reversal can be queued',
            NEW.document_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER erp_outbox_only_approved BEFORE INSERT ON erp_outbox
    FOR EACH ROW EXECUTE FUNCTION erp_outbox_only_approved();

-- An entry's identity never changes once written.
CREATE FUNCTION erp_outbox_fixed_identity() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.document_id <> OLD.document_id OR NEW.idempotency_key <> OLD.idempotency_key
       OR NEW.kind <> OLD.kind OR NEW.payload <> OLD.payload THEN
        RAISE EXCEPTION 'an ERP outbox entry''s document, key, kind and payload are fixed'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER erp_outbox_fixed_identity BEFORE UPDATE ON erp_outbox
    FOR EACH ROW EXECUTE FUNCTION erp_outbox_fixed_identity();

-- Wake the relay: the channel is per schema, so two schemas' relays do not wake each other.
CREATE FUNCTION erp_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('erp_outbox_' || current_schema(), NEW.entry_id::text);
    RETURN NEW;
END;
$$;
CREATE TRIGGER erp_outbox_notify AFTER INSERT ON erp_outbox
    FOR EACH ROW EXECUTE FUNCTION erp_outbox_notify();
