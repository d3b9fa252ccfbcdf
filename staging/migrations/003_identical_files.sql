-- A file whose bytes equal an already staged document's, under another name, is recorded too:
-- as a 'skipped' document pointing at the original, with a DUPLICATE_SUSPECTED exception.
-- Only one non-skipped document per sha256; one row per (sha256, source path).
ALTER TABLE documents DROP CONSTRAINT documents_sha256_key;
CREATE UNIQUE INDEX documents_sha256_original ON documents (sha256) WHERE status <> 'skipped';
CREATE UNIQUE INDEX documents_sha256_path ON documents (sha256, source_path);
ALTER TABLE documents ADD COLUMN duplicate_of bigint REFERENCES documents (document_id);
