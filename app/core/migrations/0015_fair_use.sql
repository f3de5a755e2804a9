-- Fair use counts recent requests: webhook calls per tenant, syncs per asker (a
-- marketplace user's `created_by`), syncs per organization (by time), and installs
-- per marketplace user.
CREATE INDEX run_triggers_tenant_kind ON run_triggers (tenant_id, kind, created_at);
CREATE INDEX run_triggers_created_by ON run_triggers (created_by, created_at);
CREATE INDEX run_triggers_created ON run_triggers (created_at);
CREATE INDEX tenants_external_created ON tenants (external_user, created_at);
