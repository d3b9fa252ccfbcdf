-- Cache of vendor-name embeddings, keyed by model and a hash of the embedded text.
-- Content-addressed: when a vendor's name or aliases change in the master, the new text gets
-- a new key and is embedded on the next load; rows for texts no longer in the master are pruned.

CREATE TABLE vendor_embeddings (
    model       text NOT NULL,
    text_key    text NOT NULL,
    text        text NOT NULL,
    dim         integer NOT NULL,
    vector      bytea NOT NULL,  -- little-endian float32, L2-normalised
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, text_key)
);
