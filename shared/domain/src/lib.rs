//! The participant directory's domain: what the data is (models exact to the API
//! documents), what it may be (validation rules, the key grammar), and what may be done
//! with it (claim rules, the access decision, visibility), with the audit record of
//! each change, the route table and the formats the directory publishes. Pure: no
//! HTTP, runtime, AWS or database crate (a test holds it to that).

pub mod audit;
pub mod auth;
pub mod claims;
pub mod events;
pub mod federation;
pub mod feed;
pub mod ids;
pub mod items;
pub mod jwt;
pub mod keys;
pub mod lease;
pub mod limits;
pub mod messages;
pub mod model;
pub mod participants;
pub mod refusal;
pub mod routes;
pub mod signature;
pub mod validate;

pub use refusal::Refusal;

/// A whole number of days from the environment variable `var` (the template sets the
/// retentions so), or `default` when it is absent, not a number or zero.
pub fn days_from_env(var: &str, default: u32) -> u32 {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|d| *d > 0)
        .unwrap_or(default)
}
