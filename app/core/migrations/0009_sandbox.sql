-- What sandbox each build and run had (its attestation): the layers in force, or
-- that it ran unsandboxed because the operator turned the sandbox off.
ALTER TABLE releases ADD COLUMN sandbox TEXT;
ALTER TABLE runs ADD COLUMN sandbox TEXT;
