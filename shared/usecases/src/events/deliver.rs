//! Push delivery (RFC 8935): each due subscription on its own task, its events one at
//! a time in feed order under a lease, each outcome recorded with a write conditioned
//! on the version read. A 202 moves the cursor on; a 400 is the receiver's permanent
//! refusal of that SET (it is skipped, and counted); anything else, or no answer in
//! time, is retried with exponential back-off and jitter for the retry window, the
//! later events waiting behind it. A process that dies between the send and the record
//! sends the same SET (same `jti`) again once its lease lapses: at least once, never lost.

use super::Transmitter;
use super::due::{Due, next_due};
use crate::ports::{ChangeFeed, Commit, StoreError, StoredSubscription, Subscriptions};
use directory_domain::events::set;
use directory_domain::events::subscription::{Status, Subscription, backoff_secs};
use directory_domain::events::wire::PushError;
use directory_domain::signature::{BoxFuture, Signer};
use futures_util::{StreamExt, stream};
use std::time::Duration;

/// A receiver's answer to a pushed SET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// The start of its body (an RFC 8935 error is small).
    pub body: Vec<u8>,
}

/// Sends one SET to a receiver: POST, `Content-Type: application/secevent+jwt`, no
/// redirects followed, addresses checked against the deployment's reach. `Err`: no
/// answer (refused address, connection, timeout).
pub trait Transport: Send + Sync {
    fn post<'a>(&'a self, url: &'a str, set: &'a str) -> BoxFuture<'a, Result<Answer, String>>;
}

/// How delivery runs.
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// How long a failing event is retried before the subscription is deactivated.
    pub retry_window_secs: i64,
    /// How long a receiver has to answer.
    pub timeout: Duration,
    /// Subscriptions served at once.
    pub concurrency: usize,
    /// Events one subscription gets per run at most (the rest in the next run).
    pub per_run: usize,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            retry_window_secs: directory_domain::events::subscription::retry_window_secs(),
            timeout: Duration::from_secs(5),
            concurrency: 16,
            per_run: 100,
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivered {
    /// Subscriptions that had something due.
    pub subscriptions: usize,
    /// SETs accepted (202).
    pub accepted: u64,
    /// SETs refused for good (400).
    pub refused: u64,
    /// Attempts that failed (to be retried).
    pub failed: u64,
}

impl std::ops::AddAssign for Delivered {
    fn add_assign(&mut self, o: Self) {
        self.subscriptions += o.subscriptions;
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.failed += o.failed;
    }
}

/// Delivers what is due to every push subscription, `clock` telling the time.
pub async fn deliver_due<S: Subscriptions + ChangeFeed>(
    store: &S,
    signer: &dyn Signer,
    transport: &dyn Transport,
    transmitter: &Transmitter,
    config: &DeliveryConfig,
    clock: &(dyn Fn() -> i64 + Sync),
) -> Result<Delivered, StoreError> {
    let now = clock();
    let due: Vec<StoredSubscription> = store
        .subscriptions(None)
        .await?
        .into_iter()
        .filter(|s| {
            let s = &s.subscription;
            s.delivery.push() && s.status != Status::Deactivated && s.next_attempt_at <= now && s.leased_until <= now
        })
        .collect();
    let results: Vec<Result<Delivered, StoreError>> = stream::iter(due)
        .map(|found| deliver_one(store, signer, transport, transmitter, config, clock, found))
        .buffer_unordered(config.concurrency.max(1))
        .collect()
        .await;
    let mut total = Delivered::default();
    let mut error = None;
    for r in results {
        match r {
            Ok(d) => total += d,
            Err(e) => error = Some(e),
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(total),
    }
}

/// The lease one delivery takes on a subscription: longer than it may take to send.
fn lease_secs(config: &DeliveryConfig) -> i64 {
    config.timeout.as_secs() as i64 * 2 + 30
}

async fn deliver_one<S: Subscriptions + ChangeFeed>(
    store: &S,
    signer: &dyn Signer,
    transport: &dyn Transport,
    transmitter: &Transmitter,
    config: &DeliveryConfig,
    clock: &(dyn Fn() -> i64 + Sync),
    found: StoredSubscription,
) -> Result<Delivered, StoreError> {
    let mut done = Delivered::default();
    let (mut s, mut version) = (found.subscription, found.version);
    // The lease: one delivery at a time per subscription keeps its order.
    s.leased_until = clock() + lease_secs(config);
    if store.update_subscription(&s, version).await? == Commit::Conflict {
        return Ok(done);
    }
    version += 1;
    let mut sent = 0;
    loop {
        let now = clock();
        let (due, scanned) = next_due(store, &s, 1, now).await?;
        let Some(event) = due.into_iter().next().filter(|_| sent < config.per_run) else {
            // Nothing (more) wanted: move the cursor past what was scanned, give the lease back.
            if s.verified && scanned > s.cursor {
                s.cursor = scanned;
            }
            s.leased_until = 0;
            store.update_subscription(&s, version).await?;
            return Ok(done);
        };
        if sent == 0 {
            done.subscriptions = 1;
        }
        sent += 1;
        let claims = event.claims(&s, &transmitter.issuer, now);
        let token = set::sign(signer, &claims)
            .await
            .map_err(|e| StoreError::Backend(format!("signing a SET: {e}")))?;
        let url = s.delivery.endpoint_url.clone().unwrap_or_default();
        let answer = tokio::time::timeout(config.timeout, transport.post(&url, &token))
            .await
            .unwrap_or_else(|_| Err("no answer in time".into()));
        let now = clock();
        s.last_attempt_at = Some(now);
        let retry = match answer {
            Ok(a) if a.status == 202 => {
                done.accepted += 1;
                s.delivered += 1;
                s.last_status = Some("202".into());
                s.status = Status::Confirmed;
                settle(&mut s, &event);
                false
            }
            Ok(a) if a.status == 400 => {
                done.refused += 1;
                s.refused += 1;
                let why = serde_json::from_slice::<PushError>(&a.body)
                    .map(|e| {
                        format!(
                            "400 {}: {}",
                            e.err,
                            directory_domain::messages::clip(&e.description, 200)
                        )
                    })
                    .unwrap_or_else(|_| "400".into());
                s.last_status = Some(why);
                if event == Due::Verification {
                    // A receiver that refuses the verification does not want the stream.
                    s.status = Status::Deactivated;
                } else {
                    settle(&mut s, &event);
                }
                false
            }
            other => {
                done.failed += 1;
                s.last_status = Some(match other {
                    Ok(a) => format!("HTTP {}", a.status),
                    Err(e) => directory_domain::messages::clip(&e, 200).to_owned(),
                });
                s.failures += 1;
                let since = *s.failing_since.get_or_insert(now);
                s.next_attempt_at = now + backoff_secs(s.failures, fastrand::f64());
                s.status = if now - since >= config.retry_window_secs {
                    Status::Deactivated
                } else if s.verified {
                    Status::Failing
                } else {
                    Status::Pending
                };
                true
            }
        };
        tracing::info!(
            stream_id = %s.stream_id,
            jti = %event.jti(&s),
            outcome = s.last_status.as_deref().unwrap_or_default(),
            status = ?s.status,
            "SET delivery"
        );
        if retry || s.status == Status::Deactivated {
            s.leased_until = 0;
        }
        if store.update_subscription(&s, version).await? == Commit::Conflict {
            // Deleted or changed meanwhile: stop; the next run reads it again.
            return Ok(done);
        }
        version += 1;
        if retry || s.status == Status::Deactivated {
            return Ok(done);
        }
    }
}

/// The event is done with: the cursor passes it, the failure count starts again.
fn settle(s: &mut Subscription, event: &Due) {
    if *event == Due::Verification {
        s.verified = true;
    }
    s.cursor = event.after(s);
    s.failures = 0;
    s.failing_since = None;
    s.next_attempt_at = 0;
}
