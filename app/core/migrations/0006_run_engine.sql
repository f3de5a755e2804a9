-- The run engine.
--
-- A run knows its integration (for the Activity page's filter without a join per row),
-- the process group it started (killed at the next start if the hub stopped mid-run),
-- whether it was made of scheduled triggers, and the names (never the values) of the
-- environment variables it was given.
ALTER TABLE runs ADD COLUMN integration_id INTEGER REFERENCES integrations (id);
ALTER TABLE runs ADD COLUMN pid INTEGER;
ALTER TABLE runs ADD COLUMN scheduled INTEGER NOT NULL DEFAULT 0 CHECK (scheduled IN (0, 1));
ALTER TABLE runs ADD COLUMN env_names TEXT;
UPDATE runs SET integration_id = (SELECT integration_id FROM tenants t WHERE t.id = runs.tenant_id);

-- A tenant's runs newest first; all runs by phase and by integration newest first
-- (the Activity page); the queued and running ones (dispatch and recovery at start).
CREATE INDEX runs_tenant_id ON runs (tenant_id, id);
CREATE INDEX runs_phase ON runs (phase, id);
CREATE INDEX runs_integration ON runs (integration_id, id);
CREATE INDEX runs_active ON runs (id) WHERE phase IN ('queued', 'running');

-- Triggers waiting for a run, for the dispatcher's scan of tenants with work.
CREATE INDEX run_triggers_waiting ON run_triggers (id) WHERE run_id IS NULL;
