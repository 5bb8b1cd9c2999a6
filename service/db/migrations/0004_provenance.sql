-- Provenance: the manifest repository. Not tenant-scoped: the provenance of assets Vigil
-- released is public (README, Provenance), so any platform's lookup may find it.

CREATE TABLE provenance_manifests (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    asset_id      text,
    sha256        text NOT NULL,                -- of the signed bytes
    mime          text NOT NULL,
    manifest      bytea NOT NULL,               -- the C2PA manifest store as signed
    report        jsonb NOT NULL,               -- the ProvenanceReport of the signed bytes
    log_index     bigint,                       -- the asset.signed entry in the transparency log
    signed_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provenance_manifests_sha256 ON provenance_manifests (sha256);
CREATE INDEX provenance_manifests_asset ON provenance_manifests (asset_id);

-- One row per image, or per sampled video frame. PDQ is also split into sixteen 16-bit chunks
-- with a btree each: two hashes within Hamming distance 31 agree to within one bit on at least
-- one chunk (pigeonhole: 16 chunks × 2 bits > 31), so a lookup probes each chunk for its value
-- and its 16 one-bit neighbours, then checks the full distance on the few candidates.
CREATE TABLE provenance_fingerprints (
    manifest_id   uuid NOT NULL REFERENCES provenance_manifests (id) ON DELETE CASCADE,
    frame         integer NOT NULL DEFAULT 0,
    pdq           bit(256) NOT NULL,
    pdq_quality   smallint NOT NULL,
    phash         bit(64) NOT NULL,
    c0 integer NOT NULL, c1 integer NOT NULL, c2 integer NOT NULL, c3 integer NOT NULL,
    c4 integer NOT NULL, c5 integer NOT NULL, c6 integer NOT NULL, c7 integer NOT NULL,
    c8 integer NOT NULL, c9 integer NOT NULL, c10 integer NOT NULL, c11 integer NOT NULL,
    c12 integer NOT NULL, c13 integer NOT NULL, c14 integer NOT NULL, c15 integer NOT NULL,
    PRIMARY KEY (manifest_id, frame)
);
CREATE INDEX provenance_fp_c0 ON provenance_fingerprints (c0);
CREATE INDEX provenance_fp_c1 ON provenance_fingerprints (c1);
CREATE INDEX provenance_fp_c2 ON provenance_fingerprints (c2);
CREATE INDEX provenance_fp_c3 ON provenance_fingerprints (c3);
CREATE INDEX provenance_fp_c4 ON provenance_fingerprints (c4);
CREATE INDEX provenance_fp_c5 ON provenance_fingerprints (c5);
CREATE INDEX provenance_fp_c6 ON provenance_fingerprints (c6);
CREATE INDEX provenance_fp_c7 ON provenance_fingerprints (c7);
CREATE INDEX provenance_fp_c8 ON provenance_fingerprints (c8);
CREATE INDEX provenance_fp_c9 ON provenance_fingerprints (c9);
CREATE INDEX provenance_fp_c10 ON provenance_fingerprints (c10);
CREATE INDEX provenance_fp_c11 ON provenance_fingerprints (c11);
CREATE INDEX provenance_fp_c12 ON provenance_fingerprints (c12);
CREATE INDEX provenance_fp_c13 ON provenance_fingerprints (c13);
CREATE INDEX provenance_fp_c14 ON provenance_fingerprints (c14);
CREATE INDEX provenance_fp_c15 ON provenance_fingerprints (c15);
