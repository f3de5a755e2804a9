-- The tenant creation flow and the tenants list.
--
-- A tenant exists from the flow's first step on; `setup_step` is the step it has not
-- finished yet ('done' once its schedule was saved). `draft` keeps what the admin last
-- typed into a step that failed validation (JSON of field → text), so a reload loses
-- nothing. The last run's phase and time are copied onto the tenant by the run engine,
-- so the list can filter and sort on them without reading the runs table.
ALTER TABLE tenants ADD COLUMN setup_step TEXT NOT NULL DEFAULT 'done'
    CHECK (setup_step IN ('credentials', 'configuration', 'schedule', 'done'));
ALTER TABLE tenants ADD COLUMN draft TEXT;
ALTER TABLE tenants ADD COLUMN last_run_phase TEXT;
ALTER TABLE tenants ADD COLUMN last_run_at TEXT;

-- The list's orders: by name (the default), by last run, and (for "last run failed")
-- only the failing ones. By integration uses UNIQUE (integration_id, name); by
-- creation uses the rowid.
CREATE INDEX tenants_name ON tenants (name);
CREATE INDEX tenants_last_run ON tenants (last_run_at);
CREATE INDEX tenants_failing ON tenants (name) WHERE last_run_phase LIKE 'failed%';
CREATE INDEX connections_not_connected ON connections (tenant_id) WHERE status <> 'connected';
