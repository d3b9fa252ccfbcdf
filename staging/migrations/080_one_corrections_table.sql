-- One table of clerks' corrections and one of clerks' time. The review page (migration 040)
-- and the analytics/learning side (migration 050) had each made their own; the page now writes
-- the tables of 050, extended with what only the page's tables held, and the page's rows move
-- into them here.
--
-- field_corrections gains the box the clerk worked from (page, bbox: the old value's box) and
-- whether the correction changed an amount (then the corrector may not approve the invoice).
-- Rows from review_corrections keep their id order; what that table did not record (the old
-- value's confidence and method) stays NULL.
ALTER TABLE field_corrections
    ADD COLUMN page          integer,
    ADD COLUMN bbox          jsonb,
    ADD COLUMN changes_money boolean NOT NULL DEFAULT false;

INSERT INTO field_corrections (document_id, field, old_value, new_value, extractor,
                               extractor_version, corrected_by, corrected_at, page, bbox,
                               changes_money)
SELECT document_id, field, old_value, new_value, extractor, extractor_version, actor, at, page,
       bbox, changes_money
  FROM review_corrections
 ORDER BY correction_id;

DROP TABLE review_corrections;
CREATE INDEX field_corrections_money ON field_corrections (document_id, corrected_by)
    WHERE changes_money;

-- clerk_item_time: one row per stretch of a clerk's work on an item, from the claim (or the
-- clerk's previous action on it) to an action (approve, reject, hold, ..., or `item` for a
-- whole item timed at once), with the item's reason codes at that moment.
ALTER TABLE clerk_item_time
    ADD COLUMN action       text NOT NULL DEFAULT 'item',
    ADD COLUMN reason_codes text[] NOT NULL DEFAULT '{}';

INSERT INTO clerk_item_time (document_id, exception_id, clerk, started_at, finished_at, action,
                             reason_codes)
SELECT t.document_id,
       (SELECT max(e.exception_id) FROM exception_queue e WHERE e.document_id = t.document_id),
       t.actor, t.at - make_interval(secs => t.seconds::float8), t.at, t.action, t.reason_codes
  FROM review_clerk_time t
 ORDER BY t.at;

DROP TABLE review_clerk_time;
CREATE INDEX clerk_item_time_reason ON clerk_item_time USING gin (reason_codes);
CREATE INDEX clerk_item_time_document ON clerk_item_time (document_id, clerk, finished_at);
