-- OAuth2 authorization attempts: one row each time someone starts connecting through
-- a magic link. The `state` sent to the provider is kept only as its SHA-256; the PKCE
-- verifier is sealed with the hub key. A state is used at most once (`used_at`) and
-- only until `expires_at` (10 minutes).
CREATE TABLE oauth_states (
    state_hash     TEXT    PRIMARY KEY,
    connection_id  INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    verifier       BLOB    NOT NULL,
    created_at     TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL,
    used_at        TEXT
);
CREATE INDEX oauth_states_expiry ON oauth_states (expires_at);
