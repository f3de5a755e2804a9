-- Sign-in failures count per account and address, per address, and per account: the
-- client address of each failure ('' when unknown). A failure is written before the
-- password is checked, in the transaction that counts the earlier ones.
ALTER TABLE login_failures ADD COLUMN address TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_address ON login_failures (address, failed_at);
