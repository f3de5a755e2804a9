-- Retention: what grows with use is pruned by the janitor (`engine::janitor`).

-- When a finished run's log was deleted; the run itself stays until its tenant has more
-- runs than it keeps.
ALTER TABLE runs ADD COLUMN log_removed_at TEXT;
CREATE INDEX runs_log_kept ON runs (finished_at) WHERE log_removed_at IS NULL AND finished_at IS NOT NULL;

-- Releases whose checkout was removed because nothing used it. A release never changes
-- once built (0002), so the mark is a row of its own. Such a release cannot be chosen.
CREATE TABLE release_files_removed (
    release_id  INTEGER PRIMARY KEY REFERENCES releases (id) ON DELETE CASCADE,
    removed_at  TEXT    NOT NULL
);

CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE status <> 'pending';
CREATE INDEX login_failures_at ON login_failures (failed_at);
