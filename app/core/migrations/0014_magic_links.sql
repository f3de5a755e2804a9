-- Magic links an admin controls. `connections.magic_token` holds the SHA-256 (hex) of
-- the link's token from now on, never the token: `magic_sealed` is the token sealed
-- with the hub key, to show the link again, and `magic_issued_at` when it was made
-- (a link may expire a set number of days later). Rows from before hold their token in
-- clear until the hub's next start seals them (`magic_sealed IS NULL`).
ALTER TABLE connections ADD COLUMN magic_sealed BLOB;
ALTER TABLE connections ADD COLUMN magic_issued_at TEXT;

-- Links that were replaced, by their hash, so that an old link says so instead of
-- "not valid".
CREATE TABLE replaced_magic_links (
    hash        TEXT PRIMARY KEY,
    replaced_at TEXT NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('replaced', 'relinked', 'expired'))
);

-- The link an OAuth2 sign-in was started through, by its hash: a sign-in started
-- through a link that was replaced meanwhile does not finish.
ALTER TABLE oauth_states ADD COLUMN link_hash TEXT;
