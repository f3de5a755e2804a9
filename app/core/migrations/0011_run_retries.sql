-- A run the platform failed (its hub stopped or hung, the sandbox or the start of its
-- program failed) is tried again as a new run of the same triggers: `attempt` counts
-- the tries, `first_run` names the run that holds the triggers, and `not_before` is
-- when a queued retry may start.
ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE runs ADD COLUMN first_run INTEGER REFERENCES runs (id);
ALTER TABLE runs ADD COLUMN not_before TEXT;
