-- The run engine's lookups by tenant. An index on `run_triggers (run_id)` that also
-- held the waiting triggers (run_id NULL) was taken for `run_id IS NULL` and scanned
-- every waiting trigger of every tenant to find one tenant's; without them it serves
-- only a run's own triggers, and a tenant's waiting ones come from
-- `run_triggers_pending`.
DROP INDEX run_triggers_run;
CREATE INDEX run_triggers_run ON run_triggers (run_id) WHERE run_id IS NOT NULL;
