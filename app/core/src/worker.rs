//! The one shape of the hub's background loops (the release builder, the mailer, the
//! run engine and the webhook deliverer).
//!
//! Each is a [`Worker`]: a `step(now)` that does one unit of work and says whether
//! more is waiting and when to look again, and a [`Signal`] that other code raises
//! when it gave the worker something to do. [`run`] is the thin loop around it that
//! the hub starts; [`run_until_idle`] is what tests and benchmarks call instead, so
//! they never sleep for a worker. Time comes from a [`Clock`] the hub passes in: no
//! worker reads the system clock itself.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use crate::db::DbError;

/// The longest a loop sleeps without taking a step, however idle it is.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

/// How long a loop waits after a step failed (the database was busy or gone) before
/// it tries again, unless it is woken first.
const AFTER_ERROR: Duration = Duration::from_secs(5);

/// Where the hub's background work reads the time: the system clock in the hub, a
/// clock the test moves in tests.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self(Arc::new(Utc::now))
    }

    /// A clock that answers what `now` returns.
    pub fn from_fn(now: impl Fn() -> DateTime<Utc> + Send + Sync + 'static) -> Self {
        Self(Arc::new(now))
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
}

/// Raised when a worker was given something to do. A signal raised while the worker
/// is busy is kept: its next wait ends at once.
#[derive(Clone, Debug, Default)]
pub struct Signal(Arc<Notify>);

impl Signal {
    pub fn raise(&self) {
        self.0.notify_one();
    }

    /// Resolves at the next raise (or at once, for one raised since the last wait).
    pub async fn raised(&self) {
        self.0.notified().await;
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Step {
    /// More work is waiting now: step again without sleeping.
    pub more: bool,
    /// When work is due next (a retry, a schedule), if the worker knows.
    pub next: Option<DateTime<Utc>>,
}

impl Step {
    /// Work is waiting.
    pub fn more() -> Self {
        Self { more: true, next: None }
    }

    /// Nothing waits now; the next known work is due at `next`.
    pub fn idle(next: Option<DateTime<Utc>>) -> Self {
        Self { more: false, next }
    }
}

/// A background loop's unit of work.
pub trait Worker: Send + Sync + 'static {
    /// How the loop is named in the log.
    const NAME: &'static str;

    /// Once, before the first step: puts right what a stop of the hub left half done.
    fn start(&self, now: DateTime<Utc>) -> impl Future<Output = Result<(), DbError>> + Send {
        let _ = now;
        async { Ok(()) }
    }

    /// Does one unit of work due by `now`.
    fn step(&self, now: DateTime<Utc>) -> impl Future<Output = Result<Step, DbError>> + Send;

    /// Raised when the worker was given something to do.
    fn signal(&self) -> &Signal;

    /// Waits for work that steps started and left going (the engine's runs); false
    /// when there was none.
    fn settle(&self) -> impl Future<Output = bool> + Send {
        async { false }
    }
}

/// Steps at `now` until nothing is waiting and nothing started is still going
/// (for tests and benchmarks). Returns how many steps found work.
pub async fn run_until_idle<W: Worker>(worker: &W, now: DateTime<Utc>) -> Result<usize, DbError> {
    let mut busy = 0;
    loop {
        let step = worker.step(now).await?;
        if step.more {
            busy += 1;
            continue;
        }
        if !worker.settle().await {
            return Ok(busy);
        }
        busy += 1;
    }
}

/// The background loop: `start`, then steps, sleeping while idle until the worker's
/// signal, its next due time or [`MAX_SLEEP`], until `stop` resolves.
pub async fn run<W: Worker>(worker: W, clock: Clock, stop: impl Future<Output = ()>) {
    tokio::pin!(stop);
    if let Err(e) = worker.start(clock.now()).await {
        tracing::error!("{}: cannot finish what a stop left: {e}", W::NAME);
    }
    loop {
        let sleep = match worker.step(clock.now()).await {
            Ok(Step { more: true, .. }) => Duration::ZERO,
            Ok(Step { next, .. }) => {
                let until = next.and_then(|at| (at - clock.now()).to_std().ok()).unwrap_or(MAX_SLEEP);
                // Due times are often whole seconds: wake just after, not just before.
                until.min(MAX_SLEEP) + Duration::from_millis(5)
            }
            Err(e) => {
                tracing::error!("{}: {e}", W::NAME);
                AFTER_ERROR
            }
        };
        // With more work waiting the sleep is zero: the stop still comes first, and the
        // hub's other tasks get their turn between steps.
        tokio::select! {
            biased;
            () = &mut stop => break,
            () = worker.signal().raised(), if !sleep.is_zero() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}
