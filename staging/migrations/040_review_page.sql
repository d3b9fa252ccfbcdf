-- The clerks' review page: users and sessions, claims and versions on the exception queue,
-- corrections (stored as labels), comments, four-eyes bank-detail changes, clerk time.

CREATE TABLE review_users (
    user_name       text PRIMARY KEY CHECK (user_name ~ '^[a-z0-9_.-]{1,64}$'),
    role            text NOT NULL
                    CHECK (role IN ('clerk', 'approver', 'vendor_admin', 'auditor', 'admin')),
    password_hash   text NOT NULL,
    disabled        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Opaque session tokens: only their sha256 is stored, so a leaked table opens no session.
CREATE TABLE review_sessions (
    token_sha256    char(64) PRIMARY KEY,
    user_name       text NOT NULL REFERENCES review_users (user_name),
    csrf_token      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
CREATE INDEX review_sessions_user ON review_sessions (user_name);

CREATE TABLE review_login_attempts (
    user_name       text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    succeeded       boolean NOT NULL
);
CREATE INDEX review_login_attempts_user ON review_login_attempts (user_name, at);

-- Claims with a lease, a version per save, a hold; an item waits for a second person when an
-- amount was changed or a bank change is proposed.
ALTER TABLE exception_queue ADD COLUMN version integer NOT NULL DEFAULT 1;
ALTER TABLE exception_queue ADD COLUMN claimed_by text;
ALTER TABLE exception_queue ADD COLUMN lease_until timestamptz;
ALTER TABLE exception_queue ADD COLUMN claimed_at timestamptz;
ALTER TABLE exception_queue ADD COLUMN hold_comment text;
ALTER TABLE exception_queue ADD COLUMN waiting_second boolean NOT NULL DEFAULT false;
CREATE INDEX exception_queue_open_keyset ON exception_queue (created_at, exception_id)
    WHERE status = 'open';

-- Every correction is a label: the old value, the new one, the box, who, when, and which
-- extractor produced the old value.
CREATE TABLE review_corrections (
    correction_id       bigserial PRIMARY KEY,
    document_id         bigint NOT NULL REFERENCES documents (document_id),
    field               text NOT NULL,
    old_value           text,
    new_value           text,
    page                integer,
    bbox                jsonb,
    actor               text NOT NULL,
    at                  timestamptz NOT NULL DEFAULT now(),
    extractor           text,
    extractor_version   text,
    changes_money       boolean NOT NULL DEFAULT false
);
CREATE INDEX review_corrections_document ON review_corrections (document_id);

CREATE TABLE review_comments (
    comment_id      bigserial PRIMARY KEY,
    document_id     bigint NOT NULL REFERENCES documents (document_id),
    actor           text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    body            text NOT NULL CHECK (length(body) BETWEEN 1 AND 4000)
);
CREATE INDEX review_comments_document ON review_comments (document_id);

-- Maker is not checker: the database refuses a confirmation by the proposer.
CREATE TABLE bank_change_proposals (
    proposal_id     bigserial PRIMARY KEY,
    vendor_id       text NOT NULL REFERENCES vendors (vendor_id),
    document_id     bigint REFERENCES documents (document_id),
    old_iban        text,
    new_iban        text NOT NULL,
    proposed_by     text NOT NULL,
    proposed_at     timestamptz NOT NULL DEFAULT now(),
    confirmed_by    text,
    confirmed_at    timestamptz,
    CONSTRAINT bank_change_maker_is_not_checker
        CHECK (confirmed_by IS NULL OR confirmed_by <> proposed_by)
);
CREATE UNIQUE INDEX bank_change_one_pending ON bank_change_proposals (vendor_id)
    WHERE confirmed_by IS NULL;

-- The vendor master's IBAN changes only through a confirmed proposal.
CREATE FUNCTION vendors_iban_needs_confirmation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.iban IS DISTINCT FROM OLD.iban
       AND current_setting('invoices.review_session', true) = 'on'
       AND NOT EXISTS (
           SELECT 1 FROM bank_change_proposals p
           WHERE p.vendor_id = NEW.vendor_id AND p.new_iban = NEW.iban
             AND p.confirmed_by IS NOT NULL AND p.confirmed_by <> p.proposed_by
             AND p.confirmed_at > now() - interval '1 minute')
    THEN
        RAISE EXCEPTION 'vendor % IBAN changes only through a confirmed proposal', NEW.vendor_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER vendors_iban_four_eyes BEFORE UPDATE OF iban ON vendors
    FOR EACH ROW EXECUTE FUNCTION vendors_iban_needs_confirmation();

-- Seconds a clerk spent per item and action.
CREATE TABLE review_clerk_time (
    document_id     bigint NOT NULL REFERENCES documents (document_id),
    actor           text NOT NULL,
    action          text NOT NULL,
    reason_codes    text[] NOT NULL DEFAULT '{}',
    seconds         real NOT NULL CHECK (seconds >= 0),
    at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_clerk_time_reason ON review_clerk_time USING gin (reason_codes);
