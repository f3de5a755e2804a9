//! Outgoing mail: messages are stored in the outbox first, then delivered by SMTP in the
//! background with retries. Without SMTP configured they are kept for the console's
//! Sent mail page and written to the log, so nothing sent is ever lost.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::db::{mail, Db, DbError};
use crate::worker::{Signal, Step, Worker};

/// How many times a message is tried before it is marked failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// How many messages one step of the mailer handles.
const BATCH: i64 = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Plain SMTP (a local relay, a test server).
    None,
    /// SMTP, upgraded with STARTTLS (port 587).
    StartTls,
    /// SMTP inside TLS from the first byte (port 465).
    Tls,
}

/// Where and how to deliver mail.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub user: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Delivers the outbox.
#[derive(Clone)]
pub struct Mailer {
    db: Db,
    transport: Option<Arc<AsyncSmtpTransport<Tokio1Executor>>>,
    from: Mailbox,
    signal: Signal,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("smtp", &self.transport.is_some()).field("from", &self.from).finish()
    }
}

/// The wait before attempt `n + 1`: 30 s, doubling, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(0, 7)).unwrap_or(7);
    Duration::seconds((30 * 2i64.pow(exp)).min(3600))
}

impl Mailer {
    /// `from` is a mailbox like `Integration Hub <hub@example.com>`.
    pub fn new(db: Db, smtp: Option<&SmtpSettings>, from: &str) -> Result<Self, String> {
        let from: Mailbox = from.parse().map_err(|e| format!("{from:?} is not a sender address: {e}"))?;
        let transport = match smtp {
            None => None,
            Some(s) => {
                let builder = match s.tls {
                    Tls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host),
                    Tls::StartTls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&s.host).map_err(|e| e.to_string())?
                    }
                    Tls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&s.host).map_err(|e| e.to_string())?,
                };
                let mut builder = builder.port(s.port).timeout(Some(StdDuration::from_secs(20)));
                if let (Some(user), Some(password)) = (&s.user, &s.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                Some(Arc::new(builder.build()))
            }
        };
        Ok(Self { db, transport, from, signal: Signal::default() })
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Tells the background loop that a message was queued.
    pub fn wake(&self) {
        self.signal.raise();
    }

    /// Delivers (or keeps) every message that is due; returns how many were handled.
    pub async fn send_due(&self, now: DateTime<Utc>) -> Result<usize, DbError> {
        let due = mail::due(self.db.pool(), now, BATCH).await?;
        for m in &due {
            let Some(transport) = &self.transport else {
                // The body stays out of the log: it may hold a link that signs someone in.
                tracing::info!(to = %m.recipient, subject = %m.subject, "no SMTP configured; kept for the Sent mail page");
                mail::mark(self.db.pool(), m.id, "kept", None, now, now).await?;
                continue;
            };
            match self.deliver(transport, &m.recipient, &m.subject, &m.body).await {
                Ok(()) => mail::mark(self.db.pool(), m.id, "sent", None, now, now).await?,
                Err(e) => {
                    let attempts = m.attempts + 1;
                    let status = if attempts >= MAX_ATTEMPTS { "failed" } else { "queued" };
                    tracing::warn!(to = %m.recipient, attempt = attempts, "mail delivery failed: {e}");
                    mail::mark(self.db.pool(), m.id, status, Some(&e), now + backoff(attempts), now).await?;
                }
            }
        }
        Ok(due.len())
    }

    async fn deliver(
        &self,
        transport: &AsyncSmtpTransport<Tokio1Executor>,
        to: &str,
        subject: &str,
        body: &str,
    ) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("bad recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .body(body.to_owned())
            .map_err(|e| e.to_string())?;
        transport.send(message).await.map(drop).map_err(|e| e.to_string())
    }
}

impl Worker for Mailer {
    const NAME: &'static str = "mailer";

    /// Delivers (or keeps) a batch of the messages due by `now`.
    async fn step(&self, now: DateTime<Utc>) -> Result<Step, DbError> {
        if self.send_due(now).await? == BATCH as usize {
            return Ok(Step::more());
        }
        Ok(Step::idle(mail::next_due_at(self.db.pool()).await?))
    }

    fn signal(&self) -> &Signal {
        &self.signal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(0), Duration::seconds(30));
        assert_eq!(backoff(1), Duration::seconds(60));
        assert_eq!(backoff(3), Duration::seconds(240));
        assert_eq!(backoff(20), Duration::seconds(3600));
    }
}
