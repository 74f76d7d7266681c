//! The export lease's state and rules, shared by the adapters: free or expired →
//! taken with the next fencing number; held → refused.

use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The lease item's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseState {
    /// Who holds (or last held) it, for people reading the table.
    pub holder: String,
    /// Grows by one with every grant.
    pub fence: u64,
    /// Milliseconds since the epoch after which the lease is free again.
    pub until_ms: u64,
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The lease after `holder` asks for it at `now` for `ttl`; `None` while it is held.
pub fn take(current: Option<&LeaseState>, holder: &str, now: u64, ttl: Duration) -> Option<LeaseState> {
    match current {
        Some(held) if held.until_ms > now => None,
        _ => Some(LeaseState {
            holder: holder.to_owned(),
            fence: current.map_or(0, |c| c.fence) + 1,
            until_ms: now + ttl.as_millis() as u64,
        }),
    }
}

/// Whether `fence` still holds the lease at `now`.
pub fn holds(current: Option<&LeaseState>, fence: u64, now: u64) -> bool {
    current.is_some_and(|c| c.fence == fence && c.until_ms > now)
}

/// The lease after its holder under `fence` gives it back (unchanged otherwise).
pub fn released(current: LeaseState, fence: u64) -> LeaseState {
    if current.fence == fence {
        LeaseState { until_ms: 0, ..current }
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_is_exclusive_until_released_or_expired_and_fences_grow() {
        let ttl = Duration::from_secs(10);
        let a = take(None, "a", 1_000, ttl).unwrap();
        assert_eq!(a.fence, 1);
        assert_eq!(take(Some(&a), "b", 2_000, ttl), None, "held");
        assert!(holds(Some(&a), 1, 2_000));
        let expired = take(Some(&a), "b", 11_001, ttl).unwrap();
        assert_eq!(expired.fence, 2, "an expired lease is taken with the next fence");
        assert!(!holds(Some(&expired), 1, 11_002), "the old holder no longer holds it");
        assert_eq!(released(expired.clone(), 1), expired, "a stale release changes nothing");
        let free = released(expired, 2);
        assert_eq!(take(Some(&free), "c", 11_003, ttl).unwrap().fence, 3);
    }
}
