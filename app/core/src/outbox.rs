//! Outgoing webhooks' outbox: the notification settings as stored, `emit` of an event
//! in the caller's transaction, and the deliverer that signs and sends them, retrying
//! with backoff.
//!
//! Emitting is one insert in the caller's transaction, so an event exists exactly
//! when the change it reports was committed. Delivery happens in its own task with a
//! timeout on every request: a receiver that is down or slow never holds up the hub.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::SqliteConnection;

use crate::db::webhooks::{self as store, Attempt, DeliveryRow};
use crate::db::{Db, DbError};
use crate::egress::{self, read_capped, Egress};
use crate::secrets::SecretKey;
use crate::worker::{Clock, Signal, Step, Worker};

/// The header that carries `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Hub-Signature-256";
pub const EVENT_HEADER: &str = "X-Hub-Event";
pub const DELIVERY_HEADER: &str = "X-Hub-Delivery";

pub(crate) const SETTING: &str = "notifications";
/// How much of a receiver's answer is kept for the console.
const RESPONSE_KEPT: usize = 2048;

/// How many deliveries one step of the deliverer tries, side by side.
const BATCH: i64 = 32;

/// The notification settings as stored.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Notifications {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    /// The signing secret, sealed with the hub's key, in base64.
    #[serde(default)]
    pub secret: Option<String>,
}

impl Notifications {
    pub fn wants(&self, event: &str) -> bool {
        !self.url.is_empty() && self.secret.is_some() && self.events.iter().any(|e| e == event)
    }
}

pub async fn settings(db: impl sqlx::SqliteExecutor<'_>) -> Result<Notifications, DbError> {
    Ok(store::setting(db, SETTING).await?.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default())
}

/// Records `event` for delivery, in the caller's transaction, when the receiver asked
/// for it. The payload is `{"type", "timestamp", "data"}`. After the commit, the caller
/// tells the deliverer with [`Db::outbox_written`].
pub async fn emit(tx: &mut SqliteConnection, event: &str, data: Value, now: DateTime<Utc>) -> Result<(), DbError> {
    let current = settings(&mut *tx).await?;
    if !current.wants(event) {
        return Ok(());
    }
    let payload =
        json!({ "type": event, "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "data": data });
    store::enqueue(&mut *tx, event, &payload.to_string(), &current.url, now).await?;
    Ok(())
}

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    format!("sha256={}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// How deliveries are retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// The wait after the first failure; each later one waits four times longer.
    pub first: Duration,
    /// Attempts before a delivery is given up.
    pub attempts: i64,
    /// How long one request may take.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        // 30 s, 2 min, 8 min, 32 min, about 2 h: six attempts over about 3 hours.
        Self { first: Duration::from_secs(30), attempts: 6, timeout: Duration::from_secs(10) }
    }
}

impl Retry {
    /// When to try again after `attempts` failed attempts, or `None` to give up.
    pub fn next(&self, attempts: i64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if attempts >= self.attempts {
            return None;
        }
        let factor = 4u32.saturating_pow(u32::try_from(attempts.saturating_sub(1)).unwrap_or(u32::MAX));
        let wait = self.first.saturating_mul(factor);
        Some(now + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::days(1)))
    }
}

/// Sends pending deliveries in the background.
#[derive(Clone, Debug)]
pub struct Deliverer {
    db: Db,
    key: Arc<SecretKey>,
    client: reqwest::Client,
    retry: Retry,
    clock: Clock,
    egress: Egress,
}

impl Deliverer {
    /// A deliverer that refuses every internal receiver ([`Deliverer::with_egress`]
    /// allows the operator's ranges).
    pub fn new(db: Db, key: Arc<SecretKey>, retry: Retry) -> Self {
        let egress = Egress::strict();
        Self { db, key, client: egress.client(retry.timeout), retry, clock: Clock::system(), egress }
    }

    /// The same deliverer calling only the receivers `egress` allows.
    pub fn with_egress(self, egress: Egress) -> Self {
        Self { client: egress.client(self.retry.timeout), egress, ..self }
    }

    /// The same deliverer reading the time from `clock` (the hub's is the system clock).
    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    /// Tries the deliveries due by `now` (a batch of them) once, side by side; each
    /// attempt is stamped with the deliverer's clock when its answer came. Returns how
    /// many were tried.
    pub async fn deliver_due(&self, now: DateTime<Utc>) -> Result<usize, DbError> {
        let due = store::due(self.db.pool(), now, BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let secret = match settings(self.db.pool()).await?.secret.and_then(|s| STANDARD.decode(s).ok()) {
            Some(sealed) => self.key.decrypt(&sealed).ok(),
            None => None,
        };
        let mut tasks = tokio::task::JoinSet::new();
        let count = due.len();
        for d in due {
            let this = self.clone();
            let secret = secret.clone();
            tasks.spawn(async move { this.attempt(d, secret.as_deref()).await });
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok(Err(e)) = done {
                tracing::warn!("webhook delivery: {e}");
            }
        }
        Ok(count)
    }

    async fn attempt(&self, d: DeliveryRow, secret: Option<&[u8]>) -> Result<(), DbError> {
        let mut req = self
            .client
            .post(&d.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::USER_AGENT, concat!("integration-hub/", env!("CARGO_PKG_VERSION")))
            .header(EVENT_HEADER, &d.event)
            .header(DELIVERY_HEADER, d.id.to_string())
            .body(d.payload.clone());
        if let Some(s) = secret {
            req = req.header(SIGNATURE_HEADER, signature(s, d.payload.as_bytes()));
        }
        let refused = reqwest::Url::parse(&d.url)
            .map_err(|_| egress::Refused::NoHost)
            .and_then(|u| self.egress.check_literal(&u));
        let (status, response, error) = match refused {
            Err(e) => (None, None, Some(e.to_string())),
            Ok(()) => match req.send().await {
                Ok(resp) => {
                    let status = resp.status();
                    // Only the start of an answer is kept, so only that much is read.
                    let (body, _) = read_capped(resp, RESPONSE_KEPT).await.unwrap_or_default();
                    let kept = String::from_utf8_lossy(&body).into_owned();
                    let error = (!status.is_success()).then(|| format!("HTTP {status}"));
                    (Some(i64::from(status.as_u16())), Some(kept), error)
                }
                Err(e) => (None, None, Some(describe(&e))),
            },
        };
        let now = self.clock.now();
        let delivered = error.is_none();
        let retry_at = if delivered { None } else { self.retry.next(d.attempts + 1, now) };
        let a = Attempt { status, response: response.as_deref(), error: error.as_deref(), retry_at, delivered };
        store::record_attempt(self.db.pool(), d.id, &a, now).await?;
        Ok(())
    }
}

impl Worker for Deliverer {
    const NAME: &'static str = "webhook deliverer";

    async fn step(&self, now: DateTime<Utc>) -> Result<Step, DbError> {
        if self.deliver_due(now).await? == BATCH as usize {
            return Ok(Step::more());
        }
        Ok(Step::idle(store::next_due(self.db.pool()).await?))
    }

    /// Raised by whoever committed an event ([`Db::outbox_written`]).
    fn signal(&self) -> &Signal {
        self.db.outbox_signal()
    }
}

/// A request failure in words, without the URL (which may carry a token).
fn describe(e: &reqwest::Error) -> String {
    if let Some(refused) = egress::refusal(e as &(dyn std::error::Error + 'static)) {
        refused.to_string()
    } else if e.is_timeout() {
        "The receiver did not answer in time.".to_owned()
    } else if e.is_connect() {
        "The receiver could not be reached.".to_owned()
    } else {
        "The request failed before an answer came back.".to_owned()
    }
}
