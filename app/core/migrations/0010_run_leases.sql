-- A running run is owned through a lease its executor renews while the program runs;
-- a run whose lease has lapsed (its hub stopped or hung) is failed by the engine that
-- sees it. `process` names the program by more than its pid:
-- "<boot id> <pid> <start time in clock ticks>", so a reused pid is never killed.
-- Lease sweeps find running runs through `runs_phase`.
ALTER TABLE runs ADD COLUMN lease_until TEXT;
ALTER TABLE runs ADD COLUMN process TEXT;
