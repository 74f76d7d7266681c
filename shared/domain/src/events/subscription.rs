//! A subscription (an SSF stream): who owns it, where and how its events go, which
//! ones, and how delivery stands. Its states: `Pending` until the receiver accepts the
//! verification event, `Confirmed` while deliveries succeed, `Failing` while one is
//! being retried, `Deactivated` when one failed for the whole retry window (or the
//! verification was refused). Nothing but the verification is sent before `Confirmed`.

use super::EventKind;
use super::endpoint::{self, Reach};
use super::set::Place;
use crate::ids::OrganisationId;
use serde::{Deserialize, Serialize};

/// RFC 8935 push delivery (the SSF `delivery.method` URN).
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// RFC 8936 poll delivery.
pub const POLL: &str = "urn:ietf:rfc:8936";
/// Subscriptions one participant may hold.
pub const MAX_PER_OWNER: usize = 10;
/// Organisations one subscription may name.
pub const MAX_ORGANISATIONS: usize = 100;
/// How long a failing delivery is retried unless configured (hours; at least 24).
pub const DEFAULT_RETRY_HOURS: u32 = 72;
/// The variable that configures it (the template sets it from its parameter).
pub const RETRY_ENV: &str = "DELIVERY_RETRY_HOURS";
/// The first retry's wait; each later one doubles it, up to [`MAX_BACKOFF_SECS`].
pub const FIRST_BACKOFF_SECS: i64 = 5;
/// The longest wait between two attempts.
pub const MAX_BACKOFF_SECS: i64 = 3600;

/// The retry window from [`RETRY_ENV`] (never under 24 hours), or the default.
pub fn retry_window_secs() -> i64 {
    let hours = std::env::var(RETRY_ENV)
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|h| *h >= 24)
        .unwrap_or(DEFAULT_RETRY_HOURS);
    i64::from(hours) * 3600
}

/// The wait before attempt `failures + 1`: exponential from [`FIRST_BACKOFF_SECS`]
/// up to [`MAX_BACKOFF_SECS`], with up to a fifth of it added as jitter (`jitter` in
/// 0..1), so receivers that failed together are not retried together.
pub fn backoff_secs(failures: u32, jitter: f64) -> i64 {
    let base = FIRST_BACKOFF_SECS
        .saturating_mul(1i64 << failures.saturating_sub(1).min(20))
        .min(MAX_BACKOFF_SECS);
    base + (base as f64 * 0.2 * jitter.clamp(0.0, 1.0)) as i64
}

/// How a subscription stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Pending,
    Confirmed,
    Failing,
    Deactivated,
}

/// How events reach the receiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// [`PUSH`] or [`POLL`].
    pub method: String,
    /// Where pushed SETs are POSTed (push only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
}

impl Delivery {
    /// Whether events are pushed.
    pub fn push(&self) -> bool {
        self.method == PUSH
    }
}

/// A subscription as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    /// The stream id (a UUID).
    pub stream_id: String,
    /// The organisation that owns it.
    pub owner: String,
    pub delivery: Delivery,
    /// The event types the receiver asked for.
    pub events_requested: Vec<EventKind>,
    /// The organisations whose events it wants (`None`: every organisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisations: Option<Vec<String>>,
    pub status: Status,
    /// The verification event's `state`.
    pub state: String,
    /// When it was made (NumericDate).
    pub created_at: i64,
    /// The next event to deliver: revisions before `cursor.revision` and events of it
    /// below `cursor.index` are done.
    pub cursor: Place,
    /// Whether the receiver accepted (push) or acknowledged (poll) the verification.
    pub verified: bool,
    /// Poll: `jti`s acknowledged past the cursor (out of order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acked: Vec<String>,
    /// Consecutive failed attempts at the event at the cursor.
    #[serde(default)]
    pub failures: u32,
    /// When the current run of failures began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<i64>,
    /// Push: not before this time (NumericDate).
    #[serde(default)]
    pub next_attempt_at: i64,
    /// Push: a delivery worker holds it until this time.
    #[serde(default)]
    pub leased_until: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    /// The last attempt's outcome (`202`, `HTTP 503`, `timeout`, `400 invalid_key: …`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    /// SETs delivered (push: accepted; poll: acknowledged).
    #[serde(default)]
    pub delivered: u64,
    /// SETs the receiver refused for good (RFC 8935 400, RFC 8936 `setErrs`).
    #[serde(default)]
    pub refused: u64,
}

impl Subscription {
    /// Whether the event of `kind` about `organisation` is for this subscription.
    pub fn wants(&self, kind: EventKind, organisation: &str) -> bool {
        self.events_requested.contains(&kind)
            && self
                .organisations
                .as_ref()
                .is_none_or(|orgs| orgs.iter().any(|o| o == organisation))
    }

    /// The `aud` of its SETs: the endpoint for push, the stream for poll.
    pub fn audience(&self) -> String {
        self.delivery
            .endpoint_url
            .clone()
            .unwrap_or_else(|| self.stream_id.clone())
    }
}

/// `POST /subscriptions`: the SSF stream configuration fields a receiver sets, and the
/// organisations of interest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    pub delivery: DeliveryRequest,
    #[serde(default)]
    pub events_requested: Option<Vec<String>>,
    #[serde(default)]
    pub organisations: Option<Vec<String>>,
    /// The owner, for an administrator subscribing on a participant's behalf.
    #[serde(default)]
    pub organisation_id: Option<String>,
}

/// The request's `delivery`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryRequest {
    pub method: String,
    #[serde(default)]
    pub endpoint_url: Option<String>,
}

/// What a valid request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub delivery: Delivery,
    pub events_requested: Vec<EventKind>,
    pub organisations: Option<Vec<String>>,
    pub organisation_id: Option<String>,
}

impl CreateRequest {
    /// Checks every field; every problem, each naming its field and rule.
    pub fn check(self, reach: Reach) -> Result<Wanted, Vec<String>> {
        let mut problems = Vec::new();
        let method = self.delivery.method;
        match (method.as_str(), &self.delivery.endpoint_url) {
            (PUSH, Some(url)) => {
                if let Err(p) = endpoint::parse(url, reach) {
                    problems.push(p);
                }
            }
            (PUSH, None) => problems.push("delivery.endpoint_url: required for push delivery".into()),
            (POLL, Some(_)) => problems.push("delivery.endpoint_url: not allowed for poll delivery".into()),
            (POLL, None) => {}
            _ => problems.push(format!("delivery.method: must be {PUSH} (push) or {POLL} (poll)")),
        }
        let mut events = Vec::new();
        match self.events_requested {
            None => events.extend(EventKind::ALL),
            Some(list) if list.is_empty() => problems.push("events_requested: at least one event type".into()),
            Some(list) if list.len() > EventKind::ALL.len() => {
                problems.push(format!(
                    "events_requested: at most {} event types",
                    EventKind::ALL.len()
                ));
            }
            Some(list) => {
                for (i, uri) in list.iter().enumerate() {
                    match EventKind::from_uri(uri) {
                        Some(k) if events.contains(&k) => problems.push(format!("events_requested[{i}]: given twice")),
                        Some(k) => events.push(k),
                        None => problems.push(format!(
                            "events_requested[{i}]: not an event type of this transmitter (see events_supported)"
                        )),
                    }
                }
            }
        }
        if let Some(orgs) = &self.organisations {
            if orgs.is_empty() || orgs.len() > MAX_ORGANISATIONS {
                problems.push(format!(
                    "organisations: from 1 to {MAX_ORGANISATIONS} organisation ids (leave it out for all)"
                ));
            } else {
                for (i, id) in orgs.iter().enumerate() {
                    if OrganisationId::parse(id).is_err() {
                        problems.push(format!(
                            "organisations[{i}]: not an OrganisationId (1-40 characters, no <>)"
                        ));
                    } else if orgs[..i].contains(id) {
                        problems.push(format!("organisations[{i}]: given twice"));
                    }
                }
            }
        }
        if let Some(id) = &self.organisation_id
            && OrganisationId::parse(id).is_err()
        {
            problems.push("organisation_id: not an OrganisationId (1-40 characters, no <>)".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Wanted {
            delivery: Delivery {
                method,
                endpoint_url: self.delivery.endpoint_url,
            },
            events_requested: events,
            organisations: self.organisations,
            organisation_id: self.organisation_id,
        })
    }
}

/// A subscription as its owner reads it: the SSF stream configuration, and how
/// delivery stands (never the verification `state`).
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub stream_id: String,
    pub iss: String,
    pub aud: String,
    pub owner: String,
    pub delivery: Delivery,
    pub events_supported: Vec<EventKind>,
    pub events_requested: Vec<EventKind>,
    pub events_delivered: Vec<EventKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisations: Option<Vec<String>>,
    pub status: Status,
    pub created_at: i64,
    /// The revision whose events come next.
    pub next_revision: u64,
    pub delivered: u64,
    pub refused: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<i64>,
}

impl View {
    /// The owner's view of `s`, issued by `issuer`.
    pub fn of(s: &Subscription, issuer: &str) -> View {
        View {
            stream_id: s.stream_id.clone(),
            iss: issuer.to_owned(),
            aud: s.audience(),
            owner: s.owner.clone(),
            delivery: s.delivery.clone(),
            events_supported: EventKind::ALL.to_vec(),
            events_requested: s.events_requested.clone(),
            events_delivered: s.events_requested.clone(),
            organisations: s.organisations.clone(),
            status: s.status,
            created_at: s.created_at,
            next_revision: s.cursor.revision,
            delivered: s.delivered,
            refused: s.refused,
            last_attempt_at: s.last_attempt_at,
            last_status: s.last_status.clone(),
            failing_since: s.failing_since,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(json: serde_json::Value) -> Result<Wanted, Vec<String>> {
        serde_json::from_value::<CreateRequest>(json)
            .unwrap()
            .check(Reach::Public)
    }

    #[test]
    fn requests_are_checked_field_by_field() {
        let ok =
            request(serde_json::json!({"delivery": {"method": PUSH, "endpoint_url": "https://rp.example/e"}})).unwrap();
        assert_eq!(ok.events_requested, EventKind::ALL);
        assert!(request(serde_json::json!({"delivery": {"method": POLL}})).is_ok());
        let errs = request(serde_json::json!({
            "delivery": {"method": PUSH, "endpoint_url": "http://10.0.0.1/e"},
            "events_requested": ["urn:participant-directory:event:organisation-changed", "urn:x", "urn:participant-directory:event:organisation-changed"],
            "organisations": ["ok", "", "ok"],
            "organisation_id": "<x>",
        }))
        .unwrap_err();
        assert_eq!(errs.len(), 6, "{errs:?}");
        assert!(errs[0].starts_with("delivery.endpoint_url"));
        assert!(
            errs.iter()
                .any(|e| e.starts_with("events_requested[1]: not an event type"))
        );
        assert!(errs.iter().any(|e| e.starts_with("events_requested[2]: given twice")));
        assert!(errs.iter().any(|e| e.starts_with("organisations[1]")));
        assert!(errs.iter().any(|e| e.starts_with("organisations[2]: given twice")));
        assert!(errs.iter().any(|e| e.starts_with("organisation_id")));
        let errs = request(serde_json::json!({"delivery": {"method": POLL, "endpoint_url": "https://rp.example"}}))
            .unwrap_err();
        assert_eq!(errs, ["delivery.endpoint_url: not allowed for poll delivery"]);
        assert!(
            request(serde_json::json!({"delivery": {"method": "webhook"}})).unwrap_err()[0]
                .starts_with("delivery.method")
        );
        assert!(
            serde_json::from_value::<CreateRequest>(serde_json::json!({"delivery": {"method": POLL}, "extra": 1}))
                .is_err()
        );
    }

    #[test]
    fn back_off_doubles_to_an_hour_with_bounded_jitter() {
        assert_eq!(backoff_secs(1, 0.0), 5);
        assert_eq!(backoff_secs(2, 0.0), 10);
        assert_eq!(backoff_secs(3, 0.0), 20);
        assert_eq!(backoff_secs(40, 0.0), MAX_BACKOFF_SECS);
        assert_eq!(backoff_secs(1, 1.0), 6);
        assert_eq!(backoff_secs(40, 1.0), MAX_BACKOFF_SECS + 720);
        // At least 24 hours of attempts fit the default window.
        let mut t = 0;
        let mut n = 0;
        while t < retry_window_secs() {
            n += 1;
            t += backoff_secs(n, 0.5);
        }
        assert!(n > 20, "{n} attempts");
    }
}
