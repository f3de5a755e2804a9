-- A connector's per-connection parameters (a Shopify shop, a Zendesk subdomain) as
-- the person connecting gave them, kept with the sign-in they started until the
-- provider sends them back: only a finished sign-in stores them with the connection.
ALTER TABLE oauth_states ADD COLUMN parameters TEXT NOT NULL DEFAULT '{}';
