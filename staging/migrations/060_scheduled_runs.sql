-- Scheduled nightly runs: the slot a run was scheduled for and the business date it stands for,
-- the Prefect flow run behind it, the process that ran it (so a later run can tell a run whose
-- process died from one still going), and the `crashed` status for such a run.

ALTER TABLE batch_runs
    ADD COLUMN scheduled_for        timestamptz,
    ADD COLUMN business_date        date,
    ADD COLUMN prefect_flow_run_id  uuid,
    ADD COLUMN host                 text,
    ADD COLUMN pid                  integer,
    ADD COLUMN llm_calls            integer NOT NULL DEFAULT 0,
    ADD COLUMN llm_tokens           integer NOT NULL DEFAULT 0,
    ADD COLUMN pages_text_layer     integer NOT NULL DEFAULT 0,
    ADD COLUMN pages_ocr            integer NOT NULL DEFAULT 0,
    ADD COLUMN straight_through_rate real,
    ADD COLUMN auto_accept_rate     real,
    ADD COLUMN peak_memory_mb       real,
    ADD COLUMN cost_per_1000        numeric(12, 4);

ALTER TABLE batch_runs DROP CONSTRAINT batch_runs_status_check;
ALTER TABLE batch_runs ADD CONSTRAINT batch_runs_status_check
    CHECK (status IN ('running', 'completed', 'failed', 'crashed'));

CREATE INDEX batch_runs_business_date ON batch_runs (business_date);
