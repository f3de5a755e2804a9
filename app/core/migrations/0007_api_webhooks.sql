-- The REST API's keys, tenants' inbound webhooks, and outgoing webhook deliveries.

-- A key is shown once; only its SHA-256 is kept. `prefix` (the first characters) lets
-- an admin tell keys apart without the secret.
CREATE TABLE api_keys (
    id            INTEGER PRIMARY KEY,
    name          TEXT    NOT NULL,
    prefix        TEXT    NOT NULL,
    key_hash      TEXT    NOT NULL UNIQUE,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    TEXT    NOT NULL,
    last_used_at  TEXT,
    revoked_at    TEXT
);

-- A tenant's inbound webhook: the URL's token, found by its SHA-256, and sealed with
-- the hub's key so the console can show the URL again.
ALTER TABLE tenants ADD COLUMN webhook_hash TEXT;
ALTER TABLE tenants ADD COLUMN webhook_sealed BLOB;
CREATE UNIQUE INDEX tenants_webhook ON tenants (webhook_hash) WHERE webhook_hash IS NOT NULL;

-- One outgoing event to the notification URL, and where its delivery stands.
CREATE TABLE webhook_deliveries (
    id               INTEGER PRIMARY KEY,
    event            TEXT    NOT NULL,
    payload          TEXT    NOT NULL,
    url              TEXT    NOT NULL,
    status           TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_status      INTEGER,
    last_response    TEXT,
    last_error       TEXT,
    created_at       TEXT    NOT NULL,
    finished_at      TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
