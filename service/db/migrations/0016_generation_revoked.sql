-- A released output whose consent is withdrawn reads `revoked` (and is no longer served).
ALTER TABLE generations DROP CONSTRAINT generations_status_check;
ALTER TABLE generations ADD CONSTRAINT generations_status_check
    CHECK (status IN ('queued', 'running', 'denied', 'held', 'released', 'blocked', 'failed', 'revoked'));
