-- What clerks change, for the analysts and the learning loop. The review page writes here
-- (until it lands, staging.corrections.record_field_correction does, and the tests play clerk).
--
-- field_corrections: one row per value a clerk changed. `field` is a header field name of
-- invoices.fields (total, invoice_number, ...) with line_no NULL, or a line field
-- (line_total, quantity, ...) with its line_no. old_value / new_value are the values as text
-- (Decimal money as its plain string). What produced the old value is kept beside it
-- (extractor, version, method, confidence), so a correction can be scored against the model
-- that made the mistake even after that model was replaced.
CREATE TABLE field_corrections (
    correction_id       bigserial PRIMARY KEY,
    document_id         bigint NOT NULL REFERENCES documents (document_id),
    field               text NOT NULL,
    line_no             integer,
    old_value           text,
    new_value           text,
    old_confidence      real,
    extractor           text,
    extractor_version   text,
    method              text,
    corrected_by        text NOT NULL,
    corrected_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX field_corrections_document ON field_corrections (document_id, field);

-- clerk_item_time: how long a clerk spent on one item (an exception, or an invoice opened for
-- review). Empty until the review page writes it; the analytics view `clerk_seconds` reads it.
CREATE TABLE clerk_item_time (
    item_time_id        bigserial PRIMARY KEY,
    document_id         bigint NOT NULL REFERENCES documents (document_id),
    exception_id        bigint REFERENCES exception_queue (exception_id),
    clerk               text NOT NULL,
    started_at          timestamptz NOT NULL,
    finished_at         timestamptz NOT NULL,
    CHECK (finished_at >= started_at)
);
CREATE INDEX clerk_item_time_clerk ON clerk_item_time (clerk, finished_at);
