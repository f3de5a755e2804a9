-- An API key's scope ('read': GET only; 'full': everything) and, optionally, when it
-- stops working. Keys made before keep full access and do not expire.
ALTER TABLE api_keys ADD COLUMN scope TEXT NOT NULL DEFAULT 'full' CHECK (scope IN ('read', 'full'));
ALTER TABLE api_keys ADD COLUMN expires_at TEXT;
