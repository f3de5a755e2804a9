-- An integration's live tenants, counted on every integrations page and in the REST
-- API's totals. Through `tenants (integration_id, name)` each count read every
-- tenant's row for `archived` (32 ms with 100,000 tenants for three integrations);
-- this index holds only live tenants, so a count reads the index alone (6 ms). It
-- keeps the name, so the tenants list's search count, which the planner then scans
-- it for, reads no rows either.
CREATE INDEX tenants_live_integration ON tenants (integration_id, name) WHERE archived = 0;
