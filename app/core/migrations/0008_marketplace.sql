-- The embedded marketplace. A tenant installed there (or linked to a marketplace user
-- by an admin) carries the end user's `sub` in `external_user` (0001); the name and
-- email the company's token gave are kept beside it for the console.
ALTER TABLE tenants ADD COLUMN external_name TEXT;
ALTER TABLE tenants ADD COLUMN external_email TEXT;

-- An end user's tenants, by integration: what the marketplace lists and counts.
CREATE INDEX tenants_external_apps ON tenants (external_user, integration_id) WHERE external_user IS NOT NULL AND archived = 0;
