-- How the builder reaches an integration's repository, and builds on push.
--
-- `repo_access`: 'none' (a public repository or a path on this machine), 'ssh' (a
-- deploy key the hub made: its private half sealed in `repo_secret`, its public half
-- shown), or 'token' (an HTTPS access token, sealed in `repo_secret`, with an optional
-- user name). `repo_known_hosts` pins the SSH host's keys: written by the first fetch
-- that succeeds, or pasted by the admin.
ALTER TABLE integrations ADD COLUMN repo_access TEXT NOT NULL DEFAULT 'none'
    CHECK (repo_access IN ('none', 'ssh', 'token'));
ALTER TABLE integrations ADD COLUMN repo_username TEXT NOT NULL DEFAULT '';
ALTER TABLE integrations ADD COLUMN repo_secret BLOB;
ALTER TABLE integrations ADD COLUMN repo_public_key TEXT;
ALTER TABLE integrations ADD COLUMN repo_known_hosts TEXT;

-- Build on push: the push URL's token (SHA-256 to find it, sealed to show the URL
-- again), the signing secret (sealed: a signature is checked with it), and whether a
-- successful build of a push becomes the default release.
ALTER TABLE integrations ADD COLUMN push_token_hash TEXT;
ALTER TABLE integrations ADD COLUMN push_token_sealed BLOB;
ALTER TABLE integrations ADD COLUMN push_secret BLOB;
ALTER TABLE integrations ADD COLUMN push_sets_default INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX integrations_push_token ON integrations (push_token_hash) WHERE push_token_hash IS NOT NULL;

-- A release built from a push that should become the default when it succeeds.
ALTER TABLE releases ADD COLUMN make_default INTEGER NOT NULL DEFAULT 0;
CREATE INDEX releases_waiting ON releases (status) WHERE status IN ('queued', 'building');

-- Every push event received, with what came of it.
CREATE TABLE push_deliveries (
    id             INTEGER PRIMARY KEY,
    integration_id INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    received_at    TEXT    NOT NULL,
    -- 'github', 'gitlab', 'bitbucket', or 'unknown' when no provider's headers came.
    provider       TEXT    NOT NULL,
    event          TEXT    NOT NULL,
    git_ref        TEXT,
    commit_sha     TEXT,
    -- 'built' (a release was queued), 'ignored' (another branch, a deletion, a ping),
    -- 'refused' (a wrong or missing signature).
    outcome        TEXT    NOT NULL CHECK (outcome IN ('built', 'ignored', 'refused')),
    detail         TEXT    NOT NULL DEFAULT '',
    release_id     INTEGER REFERENCES releases (id) ON DELETE SET NULL
);
CREATE INDEX push_deliveries_integration ON push_deliveries (integration_id, id);
