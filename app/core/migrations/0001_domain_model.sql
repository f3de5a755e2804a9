-- The whole domain model of the hub. Migrations are append-only: later changes go in
-- new files, never into this one once it has landed.
--
-- Times are stored as TEXT in RFC 3339 UTC (as sqlx encodes chrono's DateTime<Utc>),
-- so they sort correctly as strings and read well in the sqlite3 shell.
-- JSON columns hold TEXT that the application parses and validates.

CREATE TABLE organizations (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL CHECK (length(trim(name)) > 0),
    kind        TEXT    NOT NULL CHECK (kind IN ('company', 'partner')),
    created_at  TEXT    NOT NULL
);
-- There is exactly one company organization; partners are many.
CREATE UNIQUE INDEX organizations_one_company ON organizations (kind) WHERE kind = 'company';
CREATE UNIQUE INDEX organizations_name ON organizations (name COLLATE NOCASE);

CREATE TABLE users (
    id               INTEGER PRIMARY KEY,
    organization_id  INTEGER NOT NULL REFERENCES organizations (id),
    name             TEXT    NOT NULL,
    email            TEXT    NOT NULL COLLATE NOCASE UNIQUE,
    -- NULL until the invited user sets a password.
    password_hash    TEXT,
    is_admin         INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
    is_primary       INTEGER NOT NULL DEFAULT 0 CHECK (is_primary IN (0, 1)),
    status           TEXT    NOT NULL CHECK (status IN ('invited', 'active', 'deactivated')),
    created_at       TEXT    NOT NULL,
    last_sign_in_at  TEXT
);
CREATE UNIQUE INDEX users_one_primary ON users (is_primary) WHERE is_primary = 1;

-- Browser sessions. The cookie carries a random token; only its SHA-256 is stored.
CREATE TABLE sessions (
    token_hash    TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    TEXT    NOT NULL,
    last_seen_at  TEXT    NOT NULL,
    expires_at    TEXT    NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed sign-ins, for throttling. Keyed by the lowercased email typed.
CREATE TABLE login_failures (
    id         INTEGER PRIMARY KEY,
    email      TEXT    NOT NULL,
    failed_at  TEXT    NOT NULL
);
CREATE INDEX login_failures_email ON login_failures (email, failed_at);

-- Single-use links that let an invited user set a password (only the hash is kept).
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  TEXT    NOT NULL,
    expires_at  TEXT    NOT NULL,
    used_at     TEXT,
    revoked_at  TEXT
);

-- Connector definitions are loaded from YAML files at start; this table mirrors them so
-- that integrations and connections can refer to a connector by name.
CREATE TABLE connectors (
    name          TEXT PRIMARY KEY CHECK (name GLOB '[a-z0-9]*' AND name NOT GLOB '*[^a-z0-9-]*'),
    display_name  TEXT NOT NULL,
    auth          TEXT NOT NULL CHECK (auth IN ('oauth2', 'api_key', 'basic', 'none')),
    info          TEXT NOT NULL DEFAULT '',
    definition    TEXT NOT NULL,
    loaded_at     TEXT NOT NULL
);

CREATE TABLE integrations (
    id                  INTEGER PRIMARY KEY,
    organization_id     INTEGER NOT NULL REFERENCES organizations (id),
    name                TEXT    NOT NULL UNIQUE CHECK (length(trim(name)) > 0),
    description         TEXT    NOT NULL DEFAULT '',
    repository          TEXT    NOT NULL DEFAULT '',
    branch              TEXT    NOT NULL DEFAULT 'main',
    manifest_path       TEXT    NOT NULL DEFAULT 'PANDIUM.yaml',
    default_release_id  INTEGER REFERENCES releases (id) ON DELETE SET NULL,
    run_timeout_secs    INTEGER NOT NULL DEFAULT 600 CHECK (run_timeout_secs > 0),
    -- Marketplace listing.
    published           INTEGER NOT NULL DEFAULT 0 CHECK (published IN (0, 1)),
    short_description   TEXT    NOT NULL DEFAULT '',
    long_description    TEXT    NOT NULL DEFAULT '',
    categories          TEXT    NOT NULL DEFAULT '[]',
    tags                TEXT    NOT NULL DEFAULT '[]',
    flag_name           TEXT,
    flag_color          TEXT,
    created_at          TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL
);

CREATE TABLE integration_connectors (
    integration_id  INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    connector_name  TEXT    NOT NULL REFERENCES connectors (name),
    position        INTEGER NOT NULL,
    PRIMARY KEY (integration_id, connector_name)
);

CREATE TABLE releases (
    id              INTEGER PRIMARY KEY,
    integration_id  INTEGER NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    git_ref         TEXT    NOT NULL,
    commit_sha      TEXT,
    status          TEXT    NOT NULL CHECK (status IN ('queued', 'building', 'succeeded', 'failed')),
    error           TEXT,
    build_log       TEXT    NOT NULL DEFAULT '',
    run_command     TEXT,
    -- The parsed and validated PANDIUM.yaml, as JSON.
    manifest        TEXT,
    created_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      TEXT    NOT NULL,
    started_at      TEXT,
    finished_at     TEXT
);
CREATE INDEX releases_integration ON releases (integration_id, created_at);

CREATE TABLE tenants (
    id               INTEGER PRIMARY KEY,
    integration_id   INTEGER NOT NULL REFERENCES integrations (id),
    name             TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 63),
    -- 'specific' uses release_id; 'default' and 'latest' are channels.
    release_choice   TEXT    NOT NULL CHECK (release_choice IN ('specific', 'default', 'latest')),
    release_id       INTEGER REFERENCES releases (id),
    configs          TEXT    NOT NULL DEFAULT '{}',
    dynamic_options  TEXT    NOT NULL DEFAULT '{}',
    metadata         TEXT    NOT NULL DEFAULT '{}',
    schedule_kind    TEXT    NOT NULL DEFAULT 'preset' CHECK (schedule_kind IN ('preset', 'cron')),
    schedule         TEXT    NOT NULL DEFAULT 'daily',
    timezone         TEXT    NOT NULL DEFAULT 'UTC',
    paused           INTEGER NOT NULL DEFAULT 1 CHECK (paused IN (0, 1)),
    archived         INTEGER NOT NULL DEFAULT 0 CHECK (archived IN (0, 1)),
    source           TEXT    NOT NULL CHECK (source IN ('hub', 'marketplace', 'api')),
    -- The marketplace end user (JWT `sub`) the tenant belongs to, if any.
    external_user    TEXT,
    -- The stdout context of the last run, handed to the next one.
    context          TEXT,
    -- When the scheduler next fires this tenant; NULL when paused or archived.
    next_fire_at     TEXT,
    created_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    CHECK (release_choice <> 'specific' OR release_id IS NOT NULL),
    UNIQUE (integration_id, name)
);
CREATE INDEX tenants_next_fire ON tenants (next_fire_at) WHERE next_fire_at IS NOT NULL;
CREATE INDEX tenants_external_user ON tenants (external_user) WHERE external_user IS NOT NULL;

-- Tenant × connector: the stored (encrypted) credentials and the magic link.
CREATE TABLE connections (
    id                 INTEGER PRIMARY KEY,
    tenant_id          INTEGER NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connector_name     TEXT    NOT NULL REFERENCES connectors (name),
    status             TEXT    NOT NULL DEFAULT 'disconnected' CHECK (status IN ('connected', 'disconnected', 'error')),
    status_reason      TEXT,
    status_changed_at  TEXT    NOT NULL,
    -- AEAD ciphertext (nonce prepended) of the credentials JSON; NULL when disconnected.
    credentials        BLOB,
    -- Stays the same across disconnect and reconnect.
    magic_token        TEXT    NOT NULL UNIQUE,
    UNIQUE (tenant_id, connector_name)
);

CREATE TABLE runs (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants (id),
    release_id    INTEGER REFERENCES releases (id),
    mode          TEXT    NOT NULL CHECK (mode IN ('init', 'normal', 'webhook')),
    phase         TEXT    NOT NULL CHECK (phase IN (
                      'queued', 'running', 'succeeded', 'failed_integration', 'failed_timeout',
                      'failed_refresh', 'failed_platform', 'failed_metadata', 'skipped')),
    queued_at     TEXT    NOT NULL,
    started_at    TEXT,
    finished_at   TEXT,
    exit_code     INTEGER,
    -- The last non-empty stdout line when it was JSON.
    stdout_context TEXT,
    log_bytes     INTEGER NOT NULL DEFAULT 0,
    log_truncated INTEGER NOT NULL DEFAULT 0 CHECK (log_truncated IN (0, 1)),
    error         TEXT
);
CREATE INDEX runs_tenant ON runs (tenant_id, queued_at);
-- At most one queued or running run per tenant.
CREATE UNIQUE INDEX runs_one_active ON runs (tenant_id) WHERE phase IN ('queued', 'running');

-- Why a run happened. Triggers that arrive during a run wait (run_id NULL) and are
-- bundled into the next one.
CREATE TABLE run_triggers (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    run_id      INTEGER REFERENCES runs (id),
    kind        TEXT    NOT NULL CHECK (kind IN ('schedule', 'manual', 'api', 'webhook')),
    mode        TEXT    NOT NULL CHECK (mode IN ('init', 'normal', 'webhook')),
    payload     TEXT,
    created_by  TEXT,
    created_at  TEXT    NOT NULL
);
CREATE INDEX run_triggers_pending ON run_triggers (tenant_id, created_at) WHERE run_id IS NULL;
CREATE INDEX run_triggers_run ON run_triggers (run_id);

-- stderr of a run, stored in chunks as it arrives.
CREATE TABLE run_log_chunks (
    run_id  INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      TEXT    NOT NULL,
    text    TEXT    NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- Who changed what. Never updated or deleted by the application.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,
    at           TEXT    NOT NULL,
    actor_kind   TEXT    NOT NULL CHECK (actor_kind IN ('user', 'system', 'api', 'marketplace')),
    actor_user   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_label  TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    object_type  TEXT    NOT NULL,
    object_id    TEXT,
    detail       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Small hub-wide settings (marketplace, notifications) as JSON values by key.
CREATE TABLE settings (
    key         TEXT PRIMARY KEY,
    value       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
