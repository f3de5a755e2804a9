-- A release never changes once built: the database itself refuses to update a
-- finished release's record.
CREATE TRIGGER releases_never_change_once_built
BEFORE UPDATE ON releases
WHEN OLD.status IN ('succeeded', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'a finished release never changes');
END;

-- The default release must be a successful build of the same integration.
CREATE TRIGGER integrations_default_release_is_a_good_build
BEFORE UPDATE OF default_release_id ON integrations
WHEN NEW.default_release_id IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM releases r
    WHERE r.id = NEW.default_release_id AND r.integration_id = NEW.id AND r.status = 'succeeded'
)
BEGIN
    SELECT RAISE(ABORT, 'the default release must be a successful build of this integration');
END;
