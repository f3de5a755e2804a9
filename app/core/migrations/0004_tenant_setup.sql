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

-- How many of a tenant's connections are not connected, kept by triggers on
-- connections so that the list can show and filter it without a subquery per row.
ALTER TABLE tenants ADD COLUMN disconnected INTEGER NOT NULL DEFAULT 0;
UPDATE tenants SET disconnected =
    (SELECT count(*) FROM connections c WHERE c.tenant_id = tenants.id AND c.status <> 'connected');
CREATE TRIGGER connections_count_insert AFTER INSERT ON connections WHEN NEW.status <> 'connected'
BEGIN
    UPDATE tenants SET disconnected = disconnected + 1 WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER connections_count_update AFTER UPDATE OF status ON connections
    WHEN (OLD.status = 'connected') <> (NEW.status = 'connected')
BEGIN
    UPDATE tenants SET disconnected = disconnected + (CASE WHEN NEW.status = 'connected' THEN -1 ELSE 1 END)
    WHERE id = NEW.tenant_id;
END;
CREATE TRIGGER connections_count_delete AFTER DELETE ON connections WHEN OLD.status <> 'connected'
BEGIN
    UPDATE tenants SET disconnected = disconnected - 1 WHERE id = OLD.tenant_id;
END;

-- The list's orders and counts. Live (not archived) tenants by name, carrying every
-- column a filter tests, so that a page and its count read only this index; by last
-- run; only the failing ones. By integration uses UNIQUE (integration_id, name); by
-- creation the rowid.
CREATE INDEX tenants_name ON tenants (name, id, paused, integration_id, setup_step, disconnected) WHERE archived = 0;
CREATE INDEX tenants_last_run ON tenants (last_run_at) WHERE archived = 0;
CREATE INDEX tenants_failing ON tenants (name) WHERE archived = 0 AND last_run_phase LIKE 'failed%';
