-- The analysts' read-only views, in their own schema beside the staging schema:
-- `<staging schema>_analytics` (for the schema `ap`, the views are in `ap_analytics`).
-- Column by column: staging/ANALYTICS.md. A role made by `invoices db analyst-role NAME`
-- (staging.analytics.grant_analyst) gets USAGE on this schema and SELECT on its views, and
-- nothing on the staging schema: the views run with their owner's rights, so the analyst reads
-- the views and nothing else. View names differ from every staging table name, and the views
-- are created with the analytics schema first on the search path, so a view may build on an
-- earlier view; the staging search path is restored at the end.

SELECT set_config('invoices.staging_schema', current_schema(), true);
DO $$ BEGIN
    EXECUTE format('CREATE SCHEMA IF NOT EXISTS %I', current_schema() || '_analytics');
END $$;
SELECT set_config('search_path',
                  quote_ident(current_schema() || '_analytics') || ', ' || quote_ident(current_schema()),
                  true);

-- One row per staged invoice, with its vendor, PO and classification.
CREATE VIEW invoices_flat AS
SELECT i.document_id,
       i.run_id,
       d.file_name,
       d.status                                           AS document_status,
       i.status                                           AS invoice_status,
       i.document_type,
       i.vendor_id,
       v.name                                             AS vendor_name,
       i.vendor_name                                      AS vendor_name_extracted,
       v.country                                          AS vendor_country,
       i.invoice_number,
       i.invoice_date,
       i.due_date,
       i.currency,
       i.subtotal,
       i.tax,
       i.total,
       i.amount_due,
       i.po_number,
       i.po_match ->> 'method'                            AS po_match_method,
       po.status                                          AS po_status,
       i.classification -> 'gl_account' ->> 'code'        AS gl_account,
       gl.name                                            AS gl_account_name,
       i.classification -> 'cost_centre' ->> 'code'       AS cost_centre,
       i.classification -> 'approval_route' ->> 'approver_group' AS approver_group,
       i.min_confidence,
       NOT EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = i.document_id
                      AND e.reason_codes <> ARRAY['AUDIT_SAMPLE'])
                                                          AS straight_through,
       i.staged_at
  FROM invoices i
  JOIN documents d USING (document_id)
  LEFT JOIN vendors v ON v.vendor_id = i.vendor_id
  LEFT JOIN purchase_orders po ON po.po_number = i.po_number
  LEFT JOIN gl_accounts gl ON gl.gl_account = i.classification -> 'gl_account' ->> 'code';

-- One row per exception, with its age and the time it took to resolve.
CREATE VIEW exceptions AS
SELECT e.exception_id,
       e.document_id,
       e.run_id,
       d.file_name,
       i.vendor_id,
       i.currency,
       i.total,
       e.reason_codes,
       cardinality(e.reason_codes)                        AS reason_count,
       e.status,
       e.assignee,
       e.resolution,
       e.created_at,
       e.resolved_at,
       extract(epoch FROM coalesce(e.resolved_at, now()) - e.created_at) / 3600.0 AS age_hours,
       extract(epoch FROM e.resolved_at - e.created_at) / 3600.0 AS hours_to_resolve
  FROM exception_queue e
  JOIN documents d USING (document_id)
  LEFT JOIN invoices i USING (document_id);

-- One row per (exception, reason code): the reasons Pareto.
CREATE VIEW exception_reasons AS
SELECT x.exception_id, x.document_id, x.run_id, x.vendor_id, r.reason_code, x.status, x.created_at
  FROM exceptions x, unnest(x.reason_codes) AS r (reason_code);

-- Per batch run: documents, straight-through and its rate, and what the run cost.
CREATE VIEW run_rates AS
SELECT b.run_id,
       b.started_at,
       b.finished_at,
       b.status,
       b.documents,
       b.staged,
       b.exceptions,
       b.failures,
       (SELECT count(*) FROM invoices_flat f WHERE f.run_id = b.run_id)            AS invoices,
       (SELECT count(*) FROM invoices_flat f
         WHERE f.run_id = b.run_id AND f.straight_through)                          AS straight_through,
       CASE WHEN b.documents > 0 THEN
           (SELECT count(*) FROM invoices_flat f
             WHERE f.run_id = b.run_id AND f.straight_through)::numeric / b.documents
       END                                                                           AS straight_through_rate,
       extract(epoch FROM b.finished_at - b.started_at)                              AS wall_seconds,
       (b.metrics ->> 'wall_seconds')::numeric                                       AS flow_seconds,
       (SELECT count(*) FROM llm_calls c WHERE c.run_id = b.run_id)                  AS llm_calls,
       (SELECT coalesce(sum(c.prompt_tokens + c.completion_tokens), 0)
          FROM llm_calls c WHERE c.run_id = b.run_id)                                AS llm_tokens
  FROM batch_runs b;

-- Per run and reason code: how many of the run's documents it sent to the queue.
CREATE VIEW reason_rates AS
SELECT r.run_id, r.reason_code, count(DISTINCT r.document_id) AS documents,
       count(DISTINCT r.document_id)::numeric / nullif(b.documents, 0) AS share_of_run
  FROM exception_reasons r JOIN batch_runs b USING (run_id)
 GROUP BY r.run_id, r.reason_code, b.documents;

-- One row per extracted header value, with what made it, whether it was auto-accepted (its
-- invoice went straight through: no clerk saw it), whether a clerk has reviewed its invoice
-- (corrected any value on it, or resolved its exception: its other values were confirmed) and
-- whether a clerk corrected it.
CREATE VIEW field_values AS
SELECT f.document_id,
       f.run_id,
       f.vendor_id,
       kv.key                                             AS field,
       kv.value ->> 'value'                               AS value,
       (kv.value ->> 'confidence')::double precision      AS confidence,
       kv.value -> 'provenance' ->> 'method'              AS method,
       kv.value -> 'provenance' ->> 'extractor'           AS extractor,
       kv.value -> 'provenance' ->> 'version'             AS extractor_version,
       f.straight_through                                 AS auto_accepted,
       EXISTS (SELECT 1 FROM field_corrections fc WHERE fc.document_id = f.document_id)
         OR EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = f.document_id
                       AND e.status = 'resolved')          AS reviewed,
       c.correction_id IS NOT NULL                        AS corrected,
       c.new_value                                        AS corrected_value
  FROM invoices_flat f
  JOIN invoices i USING (document_id)
  CROSS JOIN LATERAL jsonb_each(i.fields) AS kv
  LEFT JOIN LATERAL (SELECT fc.correction_id, fc.new_value FROM field_corrections fc
                      WHERE fc.document_id = f.document_id AND fc.field = kv.key
                        AND fc.line_no IS NULL
                      ORDER BY fc.corrected_at DESC, fc.correction_id DESC LIMIT 1) c ON true
 WHERE jsonb_typeof(kv.value) = 'object' AND kv.value ? 'confidence';

-- Per field and vendor: values, auto-accepted, corrected, and the precision of what was
-- auto-accepted (the share of auto-accepted values no clerk corrected). Counts add up, so a
-- rate per field alone is sum over vendors.
CREATE VIEW field_rates AS
SELECT field,
       vendor_id,
       count(*)                                           AS values,
       count(*) FILTER (WHERE auto_accepted)              AS auto_accepted,
       count(*) FILTER (WHERE corrected)                  AS corrected,
       count(*) FILTER (WHERE auto_accepted AND corrected) AS auto_accepted_corrected,
       count(*) FILTER (WHERE auto_accepted)::numeric / count(*) AS auto_accept_rate,
       1 - count(*) FILTER (WHERE auto_accepted AND corrected)::numeric
           / nullif(count(*) FILTER (WHERE auto_accepted), 0) AS auto_accepted_precision
  FROM field_values
 GROUP BY field, vendor_id;

-- Per vendor: invoices, straight-through, and corrected values.
CREATE VIEW vendor_rates AS
SELECT f.vendor_id,
       max(f.vendor_name)                                 AS vendor_name,
       count(*)                                           AS invoices,
       count(*) FILTER (WHERE f.straight_through)         AS straight_through,
       count(*) FILTER (WHERE f.straight_through)::numeric / count(*) AS straight_through_rate,
       (SELECT count(*) FROM field_corrections fc JOIN invoices i2 USING (document_id)
         WHERE i2.vendor_id IS NOT DISTINCT FROM f.vendor_id) AS corrected_values
  FROM invoices_flat f
 GROUP BY f.vendor_id;

-- Spend per month, vendor, GL account and cost centre, from the coded lines of every invoice
-- that is not rejected and not a suspected duplicate still waiting for a clerk.
CREATE VIEW spend AS
SELECT date_trunc('month', f.invoice_date)::date         AS month,
       f.vendor_id,
       f.vendor_name,
       l.value -> 'gl_account' ->> 'code'                 AS gl_account,
       l.value -> 'cost_centre' ->> 'code'                AS cost_centre,
       f.currency,
       count(DISTINCT f.document_id)                      AS invoices,
       sum((l.value ->> 'amount')::numeric(18, 2))        AS amount
  FROM invoices_flat f
  JOIN invoices i USING (document_id)
  CROSS JOIN LATERAL jsonb_array_elements(coalesce(i.classification -> 'lines', '[]'::jsonb)) AS l
 WHERE f.invoice_status <> 'rejected'
   AND NOT EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = f.document_id
                      AND e.status = 'open' AND 'DUPLICATE_SUSPECTED' = ANY (e.reason_codes))
 GROUP BY 1, 2, 3, 4, 5, 6;

-- Every suspected duplicate the pipeline caught, with the amount it would have paid twice
-- (its own total, or for a byte-identical file the original's total).
CREATE VIEW duplicates_caught AS
SELECT e.exception_id,
       e.document_id,
       e.run_id,
       d.file_name,
       coalesce(i.vendor_id, o.vendor_id)                 AS vendor_id,
       coalesce(i.invoice_number, o.invoice_number)       AS invoice_number,
       coalesce(i.currency, o.currency)                   AS currency,
       coalesce(i.total, o.total)                         AS amount,
       coalesce(e.details -> 'duplicates' -> 0 ->> 'kind',
                i.duplicates -> 0 ->> 'kind')             AS kind,
       coalesce(d.duplicate_of,
                (coalesce(e.details -> 'duplicates', i.duplicates) -> 0 ->> 'document_id')::bigint)
                                                          AS earlier_document_id,
       e.status,
       e.resolution,
       e.created_at                                       AS caught_at
  FROM exception_queue e
  JOIN documents d USING (document_id)
  LEFT JOIN invoices i USING (document_id)
  LEFT JOIN invoices o ON o.document_id = d.duplicate_of
 WHERE 'DUPLICATE_SUSPECTED' = ANY (e.reason_codes);

-- One row per clerk correction, with the invoice's vendor and run.
CREATE VIEW corrections AS
SELECT c.correction_id, c.document_id, i.run_id, i.vendor_id, c.field, c.line_no,
       c.old_value, c.new_value, c.old_confidence, c.extractor, c.extractor_version, c.method,
       c.corrected_by, c.corrected_at,
       NOT EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = c.document_id
                      AND e.reason_codes <> ARRAY['AUDIT_SAMPLE'])
                                                          AS was_auto_accepted
  FROM field_corrections c
  LEFT JOIN invoices i USING (document_id);

-- Per field and vendor: how many values clerks corrected, on how many invoices.
CREATE VIEW correction_counts AS
SELECT field, vendor_id, count(*) AS corrections, count(DISTINCT document_id) AS invoices,
       count(*) FILTER (WHERE was_auto_accepted) AS auto_accepted_corrected
  FROM corrections
 GROUP BY field, vendor_id;

-- Drift: per vendor and week, the auto-accepted values clerks corrected (found by audit samples
-- or later); `first_week` marks the week a vendor's auto-accepted values started being corrected.
CREATE VIEW vendor_drift AS
SELECT vendor_id, week, corrections, documents, week = min(week) OVER (PARTITION BY vendor_id)
                                                          AS first_week
  FROM (SELECT vendor_id, date_trunc('week', corrected_at)::date AS week, count(*) AS corrections,
               count(DISTINCT document_id) AS documents
          FROM corrections WHERE was_auto_accepted GROUP BY 1, 2) w;

-- Seconds a clerk spent per item. Empty until the review page writes clerk_item_time.
CREATE VIEW clerk_seconds AS
SELECT t.item_time_id, t.document_id, t.exception_id, t.clerk, t.started_at, t.finished_at,
       extract(epoch FROM t.finished_at - t.started_at) AS seconds
  FROM clerk_item_time t;

-- Per run: which extractor, OCR, classifier and embedder versions produced its values.
CREATE VIEW run_versions AS
SELECT f.run_id, 'extractor'::text AS component,
       coalesce(f.method, '') || ':' || coalesce(f.extractor, '') AS name,
       f.extractor_version AS version, count(DISTINCT f.document_id) AS documents
  FROM field_values f
 GROUP BY 1, 2, 3, 4
UNION ALL
SELECT i.run_id, 'model', m.key, m.value, count(DISTINCT i.document_id)
  FROM invoices i CROSS JOIN LATERAL jsonb_each_text(coalesce(i.classification -> 'model_versions', '{}'::jsonb)) AS m
 GROUP BY 1, 2, 3, 4
UNION ALL
SELECT b.run_id, 'model', m.key, m.value, b.documents
  FROM batch_runs b
 CROSS JOIN LATERAL jsonb_each_text(coalesce(b.metrics -> 'model_versions', '{}'::jsonb)) AS m
 WHERE m.value IS NOT NULL
UNION ALL
SELECT d.first_run_id, 'text_method', t.method, NULL, count(DISTINCT d.document_id)
  FROM documents d CROSS JOIN LATERAL unnest(d.text_methods) AS t (method)
 GROUP BY 1, 2, 3, 4;

SELECT set_config('search_path', quote_ident(current_setting('invoices.staging_schema')) || ', public', true);
