-- The analytics views over the one corrections table and the one clerk-time table (080).
-- A correction on the review page replaces the staged value (method manual, confidence 1), so
-- `field_values` now takes a corrected value's extracted value, confidence and provenance from
-- its first correction; `corrections` gains the page of the box and whether an amount changed;
-- `clerk_seconds` gains the action and the reason codes. Same search-path dance as 051.

SELECT set_config('invoices.staging_schema', current_schema(), true);
SELECT set_config('search_path',
                  quote_ident(current_schema() || '_analytics') || ', ' || quote_ident(current_schema()),
                  true);

CREATE OR REPLACE VIEW field_values AS
SELECT f.document_id,
       f.run_id,
       f.vendor_id,
       kv.key                                             AS field,
       CASE WHEN o.correction_id IS NULL THEN kv.value ->> 'value' ELSE o.old_value END
                                                          AS value,
       CASE WHEN o.correction_id IS NULL THEN (kv.value ->> 'confidence')::double precision
            ELSE o.old_confidence::double precision END   AS confidence,
       CASE WHEN o.correction_id IS NULL THEN kv.value -> 'provenance' ->> 'method'
            ELSE o.method END                             AS method,
       CASE WHEN o.correction_id IS NULL THEN kv.value -> 'provenance' ->> 'extractor'
            ELSE o.extractor END                          AS extractor,
       CASE WHEN o.correction_id IS NULL THEN kv.value -> 'provenance' ->> 'version'
            ELSE o.extractor_version END                  AS extractor_version,
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
  LEFT JOIN LATERAL (SELECT fc.correction_id, fc.old_value, fc.old_confidence, fc.method,
                            fc.extractor, fc.extractor_version FROM field_corrections fc
                      WHERE fc.document_id = f.document_id AND fc.field = kv.key
                        AND fc.line_no IS NULL
                      ORDER BY fc.corrected_at, fc.correction_id LIMIT 1) o ON true
 WHERE jsonb_typeof(kv.value) = 'object' AND kv.value ? 'confidence';

CREATE OR REPLACE VIEW corrections AS
SELECT c.correction_id, c.document_id, i.run_id, i.vendor_id, c.field, c.line_no,
       c.old_value, c.new_value, c.old_confidence, c.extractor, c.extractor_version, c.method,
       c.corrected_by, c.corrected_at,
       NOT EXISTS (SELECT 1 FROM exception_queue e WHERE e.document_id = c.document_id
                      AND e.reason_codes <> ARRAY['AUDIT_SAMPLE'])
                                                          AS was_auto_accepted,
       c.page,
       c.changes_money
  FROM field_corrections c
  LEFT JOIN invoices i USING (document_id);

CREATE OR REPLACE VIEW clerk_seconds AS
SELECT t.item_time_id, t.document_id, t.exception_id, t.clerk, t.started_at, t.finished_at,
       extract(epoch FROM t.finished_at - t.started_at) AS seconds,
       t.action,
       t.reason_codes
  FROM clerk_item_time t;

SELECT set_config('search_path', quote_ident(current_setting('invoices.staging_schema')) || ', public', true);
