//! Change events' use cases (docs/design.md, "Change events"): subscriptions made,
//! read and deleted by their owners, events polled (RFC 8936) and pushed (RFC 8935).
//! A subscription's queue is the change feed itself from its cursor: each revision's
//! events were derived by the sequencer, so nothing is written per event and
//! subscriber, order per subscription is the feed's, and a subscriber can be replayed
//! from any revision still kept.

mod deliver;
mod due;
mod manage;
mod poll;

pub use deliver::{Answer, Delivered, DeliveryConfig, Transport, deliver_due};
pub use due::{Due, next_due};
pub use manage::{EventsError, create, delete, list, read};
pub use poll::poll;

use directory_domain::events::endpoint::Reach;

/// The transmitter as a deployment configures it.
#[derive(Debug, Clone)]
pub struct Transmitter {
    /// The `iss` of every SET (the API's base URL).
    pub issuer: String,
    /// Where its keys are published (the SSF configuration's `jwks_uri`).
    pub jwks_uri: String,
    /// Which endpoints subscribers may name.
    pub reach: Reach,
}

impl Transmitter {
    /// From the environment (`EVENTS_ISSUER`, `EVENTS_JWKS_URI`, `EVENTS_ALLOW_LOOPBACK`).
    pub fn from_env() -> Transmitter {
        let (issuer, jwks_uri) = directory_domain::events::wire::issuer_from_env();
        Transmitter {
            issuer,
            jwks_uri,
            reach: Reach::from_env(),
        }
    }
}
