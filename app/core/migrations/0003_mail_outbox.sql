-- Outgoing mail. Every message is stored before it is sent, so a failed delivery is
-- retried and never loses, say, an invitation. Without SMTP configured, messages are
-- kept here ('kept') for the console's Sent mail page.
CREATE TABLE mail_outbox (
    id               INTEGER PRIMARY KEY,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    -- What the message is about, e.g. the invited user, for the users list.
    user_id          INTEGER REFERENCES users (id) ON DELETE SET NULL,
    status           TEXT    NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed', 'kept')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    next_attempt_at  TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    sent_at          TEXT
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX mail_outbox_user ON mail_outbox (user_id, id);
