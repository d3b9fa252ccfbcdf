-- Core schema: documents, invoice staging, lines, exception queue, audit log, runs, master data.
-- Every table lives in the schema named by settings (search_path is set by the connection).

CREATE TABLE batch_runs (
    run_id          uuid PRIMARY KEY,
    inbox           text NOT NULL,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed')),
    documents       integer NOT NULL DEFAULT 0,
    staged          integer NOT NULL DEFAULT 0,
    skipped         integer NOT NULL DEFAULT 0,
    exceptions      integer NOT NULL DEFAULT 0,
    failures        integer NOT NULL DEFAULT 0,
    metrics         jsonb NOT NULL DEFAULT '{}'::jsonb,
    report_html     text,
    report_csv      text
);

CREATE TABLE documents (
    document_id     bigserial PRIMARY KEY,
    sha256          char(64) UNIQUE,  -- null only for a file that vanished before it was read
    source_path     text NOT NULL,
    file_name       text NOT NULL,
    media_type      text NOT NULL,
    size_bytes      bigint NOT NULL,
    pages           integer,
    status          text NOT NULL CHECK (status IN ('success', 'partial', 'failed', 'skipped')),
    text_methods    text[] NOT NULL DEFAULT '{}',
    errors          jsonb NOT NULL DEFAULT '[]'::jsonb,
    timings         jsonb NOT NULL DEFAULT '{}'::jsonb,
    first_run_id    uuid REFERENCES batch_runs (run_id),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE vendors (
    vendor_id           text PRIMARY KEY,
    name                text NOT NULL,
    aliases             text[] NOT NULL DEFAULT '{}',
    address             text,
    country             char(2),
    vat_id              text,
    iban                text,
    bic                 text,
    email               text,
    currency            char(3),
    locale              text,
    payment_terms_days  integer,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX vendors_vat_id ON vendors (vat_id);
CREATE INDEX vendors_iban ON vendors (iban);

CREATE TABLE invoices (
    document_id         bigint PRIMARY KEY REFERENCES documents (document_id),
    run_id              uuid REFERENCES batch_runs (run_id),
    document_type       text,
    vendor_name         text,
    vendor_vat_id       text,
    iban                text,
    invoice_number      text,
    invoice_date        date,
    due_date            date,
    po_number           text,
    currency            char(3),
    subtotal            numeric(18, 2),
    tax                 numeric(18, 2),
    total               numeric(18, 2),
    amount_due          numeric(18, 2),
    vendor_id           text REFERENCES vendors (vendor_id),
    vendor_match        jsonb,
    fields              jsonb NOT NULL DEFAULT '{}'::jsonb,
    checks              jsonb NOT NULL DEFAULT '[]'::jsonb,
    classification      jsonb,
    min_confidence      real,
    status              text NOT NULL DEFAULT 'staged'
                        CHECK (status IN ('staged', 'exception', 'approved', 'rejected', 'synced')),
    staged_at           timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoices_vendor_number ON invoices (vendor_id, invoice_number);

CREATE TABLE invoice_lines (
    document_id     bigint NOT NULL REFERENCES invoices (document_id) ON DELETE CASCADE,
    line_no         integer NOT NULL,
    description     text,
    sku             text,
    quantity        numeric(18, 4),
    unit            text,
    unit_price      numeric(18, 4),
    tax_rate        numeric(7, 3),
    line_total      numeric(18, 2),
    fields          jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (document_id, line_no)
);

CREATE TABLE exception_queue (
    exception_id    bigserial PRIMARY KEY,
    document_id     bigint NOT NULL REFERENCES documents (document_id),
    run_id          uuid REFERENCES batch_runs (run_id),
    reason_codes    text[] NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}'::jsonb,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    assignee        text,
    resolution      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz
);
-- one open exception per document at a time
CREATE UNIQUE INDEX exception_queue_open_document ON exception_queue (document_id) WHERE status = 'open';
CREATE INDEX exception_queue_status ON exception_queue (status);

CREATE TABLE audit_log (
    audit_id        bigserial PRIMARY KEY,
    at              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    action          text NOT NULL,
    document_id     bigint,
    run_id          uuid,
    detail          jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_document ON audit_log (document_id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE purchase_orders (
    po_number       text PRIMARY KEY,
    vendor_id       text NOT NULL REFERENCES vendors (vendor_id),
    currency        char(3) NOT NULL,
    order_date      date,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX purchase_orders_vendor ON purchase_orders (vendor_id);

CREATE TABLE purchase_order_lines (
    po_number       text NOT NULL REFERENCES purchase_orders (po_number) ON DELETE CASCADE,
    line_no         integer NOT NULL,
    sku             text,
    description     text NOT NULL,
    quantity        numeric(18, 4) NOT NULL,
    unit            text,
    unit_price      numeric(18, 4) NOT NULL,
    tax_rate        numeric(7, 3),
    PRIMARY KEY (po_number, line_no)
);

CREATE TABLE goods_receipts (
    receipt_id      text NOT NULL,
    po_number       text NOT NULL,
    line_no         integer NOT NULL,
    quantity        numeric(18, 4) NOT NULL,
    received_date   date,
    PRIMARY KEY (receipt_id, po_number, line_no),
    FOREIGN KEY (po_number, line_no) REFERENCES purchase_order_lines (po_number, line_no) ON DELETE CASCADE
);

CREATE TABLE gl_accounts (
    gl_account      text PRIMARY KEY,
    name            text NOT NULL,
    category        text
);

CREATE TABLE cost_centres (
    cost_centre     text PRIMARY KEY,
    name            text NOT NULL
);

CREATE TABLE coded_history (
    invoice_id      text NOT NULL,
    line_no         integer NOT NULL,
    vendor_id       text,
    invoice_date    date,
    description     text NOT NULL,
    amount          numeric(18, 2),
    gl_account      text,
    cost_centre     text,
    PRIMARY KEY (invoice_id, line_no)
);
CREATE INDEX coded_history_vendor ON coded_history (vendor_id);
