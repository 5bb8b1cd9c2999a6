-- The manifest repository's fingerprint lookup moves to an exact in-memory multi-index (the
-- one the hash banks use), loaded from this table and kept in step by `seq`. Rows get their
-- `seq` under one advisory lock held to commit, so every reader sees them in `seq` order and
-- "load everything after the last seq" never skips a committed row. The sixteen chunk columns
-- and their btrees (1.2 GB per million frames) are no longer needed.
ALTER TABLE provenance_fingerprints ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE provenance_fingerprints ADD COLUMN pdq_raw bytea;
UPDATE provenance_fingerprints SET pdq_raw = decode(
    (SELECT string_agg(lpad(to_hex(substring(pdq FROM i * 8 + 1 FOR 8)::integer), 2, '0'), '' ORDER BY i)
     FROM generate_series(0, 31) AS i), 'hex');
ALTER TABLE provenance_fingerprints ALTER COLUMN pdq_raw SET NOT NULL;
ALTER TABLE provenance_fingerprints ADD CONSTRAINT provenance_fp_pdq_raw_len CHECK (length(pdq_raw) = 32);
CREATE UNIQUE INDEX provenance_fp_seq ON provenance_fingerprints (seq);
ALTER TABLE provenance_fingerprints
    DROP COLUMN c0, DROP COLUMN c1, DROP COLUMN c2, DROP COLUMN c3, DROP COLUMN c4, DROP COLUMN c5,
    DROP COLUMN c6, DROP COLUMN c7, DROP COLUMN c8, DROP COLUMN c9, DROP COLUMN c10, DROP COLUMN c11,
    DROP COLUMN c12, DROP COLUMN c13, DROP COLUMN c14, DROP COLUMN c15;
