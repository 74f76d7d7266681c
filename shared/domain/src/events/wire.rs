//! The wire formats around SETs: the RFC 8935 error a receiver answers with, the
//! RFC 8936 poll request and response, and the SSF 1.0 transmitter configuration.

use super::EventKind;
use super::subscription::{POLL, PUSH};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of a receiver's 400 (RFC 8935 §2.3): an error code and a description.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushError {
    pub err: String,
    #[serde(default)]
    pub description: String,
}

/// The error codes RFC 8935 §2.3 registers (a 400 with another code is still a refusal).
pub const ERROR_CODES: [&str; 6] = [
    "invalid_request",
    "invalid_key",
    "invalid_issuer",
    "invalid_audience",
    "authentication_failed",
    "access_denied",
];

/// Most SETs one poll returns, whatever `maxEvents` asks.
pub const MAX_POLL_EVENTS: usize = 100;
/// `jti`s one poll may acknowledge or report.
pub const MAX_POLL_ACKS: usize = 1000;

/// A poll request (RFC 8936 §2.4), with one extension: `replayFrom`, a revision to
/// deliver again from (within the feed's retention).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PollRequest {
    #[serde(default)]
    pub ack: Vec<String>,
    #[serde(default)]
    pub set_errs: BTreeMap<String, PushError>,
    #[serde(default)]
    pub max_events: Option<u64>,
    #[serde(default)]
    pub return_immediately: Option<bool>,
    #[serde(default)]
    pub replay_from: Option<u64>,
}

impl PollRequest {
    /// Checks sizes; every problem.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.ack.len() + self.set_errs.len() > MAX_POLL_ACKS {
            problems.push(format!("ack, setErrs: at most {MAX_POLL_ACKS} jti values in one poll"));
        }
        if self
            .ack
            .iter()
            .chain(self.set_errs.keys())
            .any(|j| j.is_empty() || j.len() > 256)
        {
            problems.push("ack, setErrs: a jti is 1 to 256 characters".into());
        }
        if self
            .set_errs
            .values()
            .any(|e| e.err.chars().count() > 64 || e.description.chars().count() > 512)
        {
            problems.push("setErrs: an err is at most 64 characters, a description at most 512".into());
        }
        if self.max_events.is_some_and(|m| m > MAX_POLL_EVENTS as u64) {
            problems.push(format!("maxEvents: at most {MAX_POLL_EVENTS}"));
        }
        problems
    }
}

/// A poll response (RFC 8936 §2.5).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollResponse {
    pub sets: BTreeMap<String, String>,
    pub more_available: bool,
}

/// The transmitter configuration (SSF 1.0 §7.1), at `/.well-known/ssf-configuration`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Configuration {
    pub spec_version: String,
    pub issuer: String,
    pub jwks_uri: String,
    pub delivery_methods_supported: Vec<String>,
    pub configuration_endpoint: String,
    pub events_supported: Vec<EventKind>,
    pub authorization_schemes: Vec<serde_json::Value>,
}

impl Configuration {
    /// The configuration of the transmitter at `issuer` (its API's base URL) whose
    /// signing keys are at `jwks_uri`.
    pub fn new(issuer: &str, jwks_uri: &str) -> Configuration {
        Configuration {
            spec_version: "1_0".into(),
            issuer: issuer.to_owned(),
            jwks_uri: jwks_uri.to_owned(),
            delivery_methods_supported: vec![PUSH.into(), POLL.into()],
            configuration_endpoint: format!("{}/subscriptions", issuer.trim_end_matches('/')),
            events_supported: EventKind::ALL.to_vec(),
            authorization_schemes: vec![serde_json::json!({"spec_urn": "urn:ietf:rfc:6749"})],
        }
    }
}

/// The transmitter's issuer and JWKS URL, from `EVENTS_ISSUER` and `EVENTS_JWKS_URI`
/// (the template sets them; the local server sets them to its own base URL).
pub fn issuer_from_env() -> (String, String) {
    let issuer = std::env::var("EVENTS_ISSUER").unwrap_or_default();
    let jwks = std::env::var("EVENTS_JWKS_URI")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("{}/.well-known/participants-jwks.json", issuer.trim_end_matches('/')));
    (issuer, jwks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_requests_use_the_rfc_names_and_are_bounded() {
        let r: PollRequest = serde_json::from_str(
            r#"{"ack":["a"],"setErrs":{"b":{"err":"invalid_key","description":"x"}},"maxEvents":5,"returnImmediately":true}"#,
        )
        .unwrap();
        assert_eq!(
            (r.ack.len(), r.set_errs["b"].err.as_str(), r.max_events),
            (1, "invalid_key", Some(5))
        );
        assert!(r.check().is_empty());
        assert!(serde_json::from_str::<PollRequest>(r#"{"acks":[]}"#).is_err());
        let too_many = PollRequest {
            max_events: Some(1000),
            ..PollRequest::default()
        };
        assert_eq!(too_many.check(), ["maxEvents: at most 100"]);
        let body = serde_json::to_string(&PollResponse::default()).unwrap();
        assert_eq!(body, r#"{"sets":{},"moreAvailable":false}"#);
    }

    #[test]
    fn the_configuration_names_both_delivery_methods() {
        let c = serde_json::to_value(Configuration::new("https://dir.example", "https://dir.example/jwks")).unwrap();
        assert_eq!(c["delivery_methods_supported"], serde_json::json!([PUSH, POLL]));
        assert_eq!(c["configuration_endpoint"], "https://dir.example/subscriptions");
        assert_eq!(c["spec_version"], "1_0");
    }
}
