-- Classification: history-model versions, the LLM call log and cache, clerks' corrections.

CREATE TABLE classifier_models (
    version         text PRIMARY KEY,
    kind            text NOT NULL DEFAULT 'history',
    created_at      timestamptz NOT NULL DEFAULT now(),
    trained_lines   integer NOT NULL,
    corrections     integer NOT NULL DEFAULT 0,
    embedder        text NOT NULL,
    metrics         jsonb NOT NULL DEFAULT '{}'::jsonb,
    baseline        jsonb,              -- the promoted model's scores on the same held-out lines
    promoted        boolean NOT NULL DEFAULT false,
    promoted_at     timestamptz,
    decision        text NOT NULL DEFAULT '',
    artifact        bytea NOT NULL
);
-- at most one promoted model per kind
CREATE UNIQUE INDEX classifier_models_promoted ON classifier_models (kind) WHERE promoted;

CREATE TABLE llm_calls (
    call_id             bigserial PRIMARY KEY,
    at                  timestamptz NOT NULL DEFAULT now(),
    run_id              uuid,
    model               text NOT NULL,
    prompt_version      text NOT NULL,
    input_hash          char(64) NOT NULL,
    lines               integer NOT NULL DEFAULT 0,
    prompt_tokens       integer NOT NULL DEFAULT 0,
    completion_tokens   integer NOT NULL DEFAULT 0,
    latency_ms          integer NOT NULL DEFAULT 0,
    outcome             text NOT NULL,
    masked              boolean NOT NULL DEFAULT false,
    detail              text NOT NULL DEFAULT ''
);
CREATE INDEX llm_calls_run ON llm_calls (run_id);

CREATE TABLE llm_cache (
    input_hash      char(64) PRIMARY KEY,
    model           text NOT NULL,
    answer          jsonb NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    hits            integer NOT NULL DEFAULT 0
);

CREATE TABLE classification_corrections (
    correction_id   bigserial PRIMARY KEY,
    document_id     bigint,
    invoice_id      text NOT NULL,
    line_no         integer NOT NULL,
    vendor_id       text,
    invoice_date    date,
    description     text NOT NULL,
    amount          numeric(18, 2),
    gl_account      text NOT NULL,
    cost_centre     text,
    suggested_gl    text,
    suggested_by    text,
    corrected_by    text NOT NULL,
    corrected_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX classification_corrections_line ON classification_corrections (invoice_id, line_no);
