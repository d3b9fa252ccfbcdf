-- Matching and classification share one embedding loader (matchers.embeddings). Its embedders
-- are named "<package>:<f32|q8>:<max input tokens>"; the classifiers' own loader had named the
-- same packaged MiniLM, read at its configured 256 tokens, "minilm:<package>". The vectors are
-- the same, so the stored models keep working under the new name (HistoryModel.from_bytes
-- renames the name inside the artifact the same way).
UPDATE classifier_models
   SET embedder = substr(embedder, length('minilm:') + 1) || ':f32:256'
 WHERE embedder LIKE 'minilm:%';
