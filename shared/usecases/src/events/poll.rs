//! Poll delivery (RFC 8936): a poll acknowledges SETs (`ack`, `setErrs`) and returns
//! the next ones not yet acknowledged; unacknowledged SETs come again in every poll
//! until acknowledged (or past the feed's retention). `replayFrom` (an extension)
//! moves the subscription back to a revision.

use super::Transmitter;
use super::due::{Due, next_due};
use super::manage::{EventsError, read};
use crate::ports::{ChangeFeed, Commit, MAX_WRITE_ATTEMPTS, StoreError, Subscriptions};
use directory_domain::Refusal;
use directory_domain::auth::Caller;
use directory_domain::events::set::{self, Place};
use directory_domain::events::subscription::{Status, Subscription};
use directory_domain::events::wire::{MAX_POLL_ACKS, MAX_POLL_EVENTS, PollRequest, PollResponse};
use directory_domain::signature::Signer;
use std::collections::BTreeSet;
use std::time::Duration;

/// SETs one poll returns when `maxEvents` is not given.
pub const DEFAULT_POLL_EVENTS: usize = 25;
/// How long a poll with `returnImmediately: false` waits for a SET (RFC 8936 §2.4:
/// the transmitter decides; well inside API Gateway's 30 s).
pub const LONG_POLL: Duration = Duration::from_secs(10);
/// How often a waiting poll looks again.
const LONG_POLL_STEP: Duration = Duration::from_millis(250);

/// One poll of `stream_id` by `caller`.
pub async fn poll<S: Subscriptions + ChangeFeed>(
    store: &S,
    signer: &dyn Signer,
    transmitter: &Transmitter,
    caller: &Caller,
    stream_id: &str,
    request: PollRequest,
    clock: impl Fn() -> i64,
) -> Result<PollResponse, EventsError> {
    let problems = request.check();
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems).into());
    }
    if request.replay_from == Some(0) {
        return Err(Refusal::Invalid(vec!["replayFrom: a revision from 1".into()]).into());
    }
    let max = request
        .max_events
        .map_or(DEFAULT_POLL_EVENTS, |m| m as usize)
        .min(MAX_POLL_EVENTS);
    let acks: BTreeSet<&str> = request
        .ack
        .iter()
        .chain(request.set_errs.keys())
        .map(String::as_str)
        .collect();
    let started = tokio::time::Instant::now();
    let mut first = true;
    let mut attempts = 0;
    loop {
        let found = read(store, caller, stream_id).await?;
        let mut s = found.subscription.clone();
        if s.delivery.push() {
            return Err(Refusal::Invalid(vec![format!(
                "delivery.method: subscription {stream_id} is pushed; only a {} subscription is polled",
                directory_domain::events::subscription::POLL
            )])
            .into());
        }
        let now = clock();
        let mut changed = false;
        if first {
            if let Some(from) = request.replay_from {
                s.cursor = Place {
                    revision: from,
                    index: 0,
                };
                s.acked.clear();
                changed = true;
            }
            if !acks.is_empty() {
                changed |= acknowledge(store, &mut s, &acks, &request, now).await?;
            }
        }
        let (due, _) = next_due(store, &s, max + 1, now).await?;
        let pending: Vec<&Due> = due.iter().filter(|d| !s.acked.contains(&d.jti(&s))).collect();
        if changed || first {
            s.last_attempt_at = Some(now);
            s.last_status = Some("polled".into());
            match store.update_subscription(&s, found.version).await? {
                Commit::Done => {}
                Commit::Conflict => {
                    attempts += 1;
                    if attempts >= MAX_WRITE_ATTEMPTS {
                        return Err(StoreError::Contention(attempts).into());
                    }
                    continue;
                }
            }
            first = false;
        }
        let wait = request.return_immediately != Some(true) && max > 0;
        if pending.is_empty() && wait && started.elapsed() < LONG_POLL {
            tokio::time::sleep(LONG_POLL_STEP).await;
            continue;
        }
        let mut response = PollResponse {
            more_available: pending.len() > max,
            ..PollResponse::default()
        };
        for d in pending.into_iter().take(max) {
            let claims = d.claims(&s, &transmitter.issuer, now);
            response.sets.insert(d.jti(&s), set::sign(signer, &claims).await?);
        }
        return Ok(response);
    }
}

/// Applies acknowledgements to `s`: the acknowledged prefix moves the cursor, later
/// ones are remembered; `true` if anything changed.
async fn acknowledge<S: ChangeFeed>(
    store: &S,
    s: &mut Subscription,
    acks: &BTreeSet<&str>,
    request: &PollRequest,
    now: i64,
) -> Result<bool, StoreError> {
    let window = s.acked.len() + acks.len() + 1;
    let (due, _) = next_due(store, s, window.min(MAX_POLL_ACKS + MAX_POLL_EVENTS), now).await?;
    let mut changed = false;
    let mut prefix = true;
    let mut later = Vec::new();
    for d in &due {
        let jti = d.jti(s);
        let acked = acks.contains(jti.as_str()) || s.acked.contains(&jti);
        if acked && acks.contains(jti.as_str()) {
            changed = true;
            if request.set_errs.contains_key(&jti) {
                s.refused += 1;
            } else {
                s.delivered += 1;
            }
        }
        match (acked, prefix) {
            (true, true) => {
                if *d == Due::Verification {
                    s.verified = true;
                    s.status = Status::Confirmed;
                    // The verification acknowledged, the change events follow.
                    return Ok(true);
                }
                s.cursor = d.after(s);
            }
            (true, false) => later.push(jti),
            (false, _) => prefix = false,
        }
    }
    s.acked = later;
    Ok(changed)
}
