//! What a subscription has to deliver next: the verification event until it is
//! accepted, then the events of the feed's revisions from its cursor that it asked for.

use crate::ports::{ChangeFeed, StoreError};
use directory_domain::events::ChangeEvent;
use directory_domain::events::set::{self, Place};
use directory_domain::events::subscription::Subscription;
use serde_json::Value;

/// Revisions read per scan of the feed.
const SCAN_PAGE: usize = 100;
/// Pages one call scans at most looking for wanted events.
const SCAN_PAGES: usize = 4;

/// One event to deliver.
#[derive(Debug, Clone, PartialEq)]
pub enum Due {
    /// The verification event (before anything else).
    Verification,
    /// A change event at `place` of the feed.
    Change {
        place: Place,
        organisation_id: String,
        event: ChangeEvent,
        /// When its revision was committed (the SET's `toe`).
        at: i64,
    },
}

impl Due {
    /// The SET's `jti` for `s`.
    pub fn jti(&self, s: &Subscription) -> String {
        match self {
            Due::Verification => set::verification_jti(&s.stream_id, &s.state),
            Due::Change { place, .. } => set::jti(&s.stream_id, *place),
        }
    }

    /// The SET's claims for `s`, issued by `issuer` at `iat`.
    pub fn claims(&self, s: &Subscription, issuer: &str, iat: i64) -> Value {
        match self {
            Due::Verification => set::verification_claims(issuer, &s.audience(), &s.stream_id, &s.state, iat),
            Due::Change {
                place,
                organisation_id,
                event,
                at,
            } => set::change_claims(
                issuer,
                &s.audience(),
                &s.stream_id,
                *place,
                organisation_id,
                event,
                *at,
                iat,
            ),
        }
    }

    /// The cursor once this event is done.
    pub fn after(&self, s: &Subscription) -> Place {
        match self {
            Due::Verification => s.cursor,
            Due::Change { place, .. } => Place {
                revision: place.revision,
                index: place.index + 1,
            },
        }
    }
}

/// Up to `max` events `s` has to deliver, in order, and the place after the last
/// revision scanned (a cursor may move there when nothing in between was wanted).
pub async fn next_due<S: ChangeFeed>(
    store: &S,
    s: &Subscription,
    max: usize,
    now: i64,
) -> Result<(Vec<Due>, Place), StoreError> {
    let mut due = Vec::new();
    if !s.verified {
        due.push(Due::Verification);
        // Nothing else is sent before the receiver accepted the verification.
        return Ok((due, s.cursor));
    }
    let mut scanned = s.cursor;
    for _ in 0..SCAN_PAGES {
        let since = scanned.revision.saturating_sub(1);
        let (entries, _) = store.entries_after(since, SCAN_PAGE, now).await?;
        let full = entries.len() == SCAN_PAGE;
        for entry in entries {
            for (index, event) in entry.events.iter().enumerate() {
                let place = Place {
                    revision: entry.revision,
                    index: index as u32,
                };
                if place < s.cursor || !s.wants(event.kind, &entry.organisation_id) {
                    continue;
                }
                due.push(Due::Change {
                    place,
                    organisation_id: entry.organisation_id.clone(),
                    event: event.clone(),
                    at: entry.at,
                });
                if due.len() >= max {
                    return Ok((due, scanned));
                }
            }
            scanned = Place {
                revision: entry.revision + 1,
                index: 0,
            };
        }
        if !full {
            break;
        }
    }
    Ok((due, scanned))
}
