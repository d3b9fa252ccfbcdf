-- classifier_models holds every kind of learned model with its figures and promotion:
-- 'history' (GL coding), 'calibration' (extraction confidence recalibrated from clerks' reviews).
-- A promoted version can be rolled back (`invoices rollback KIND`): it is unpromoted and marked
-- here, and the version promoted before it is promoted again; a rolled-back version is never
-- restored by a later rollback.
ALTER TABLE classifier_models ADD COLUMN rolled_back_at timestamptz;
