-- Connectors an admin enabled from the catalogue or wrote in the console. They are
-- read at start beside the connectors folder's, and again after each change; the
-- `connectors` table keeps mirroring whatever is loaded.
CREATE TABLE console_connectors (
    name           TEXT PRIMARY KEY CHECK (name GLOB '[a-z0-9]*' AND name NOT GLOB '*[^a-z0-9-]*'),
    -- `catalogue`: the shipped definition of this name; `custom`: `definition`.
    origin         TEXT NOT NULL CHECK (origin IN ('catalogue', 'custom')),
    -- The YAML an admin wrote (custom only). It holds no secret.
    definition     TEXT NOT NULL DEFAULT '',
    client_id      TEXT NOT NULL DEFAULT '',
    -- Sealed with the hub key; never shown again.
    client_secret  BLOB,
    updated_at     TEXT NOT NULL,
    updated_by     TEXT NOT NULL DEFAULT ''
);
