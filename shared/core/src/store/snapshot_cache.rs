//! The embedded store's memory of assembled organisations: repeated snapshot reads
//! (the local server's hot path) skip the database read and the parse of every item.
//! Every committed write empties it. The database file is held by one process
//! (redb refuses a second), so no write can bypass that.

use crate::model::OrganisationSnapshot;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// At most this many organisations are remembered (about 30 KB each for a large
/// one); past it the memory starts again, so it stays bounded without bookkeeping.
const MAX_ENTRIES: usize = 256;

/// Whole snapshots by organisation id, and the write generation they were read at.
#[derive(Default)]
pub struct SnapshotCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every write: a read that began before a write may not be remembered.
    generation: u64,
    entries: HashMap<String, Arc<OrganisationSnapshot>>,
}

impl SnapshotCache {
    /// The current write generation; pass it to [`Self::remember`] after the read.
    pub fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(u64::MAX)
    }

    /// The remembered snapshot of `org_id`.
    pub fn get(&self, org_id: &str) -> Option<Arc<OrganisationSnapshot>> {
        self.inner.lock().ok()?.entries.get(org_id).cloned()
    }

    /// Remembers a snapshot read at `generation`, unless a write has committed since.
    pub fn remember(&self, generation: u64, org_id: &str, snapshot: Arc<OrganisationSnapshot>) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(org_id.to_owned(), snapshot);
    }

    /// Forgets everything: called after every committed write.
    pub fn written(&self) {
        // A poisoned lock forgets too: its entries may be stale.
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(id: &str) -> Arc<OrganisationSnapshot> {
        let mut o = OrganisationSnapshot::default();
        o.organisation_details.organisation_id = id.into();
        Arc::new(o)
    }

    #[test]
    fn a_read_that_a_write_overtook_is_not_remembered_and_writes_forget() {
        let cache = SnapshotCache::default();
        let before = cache.generation();
        cache.remember(before, "a", org("a"));
        assert_eq!(cache.get("a").unwrap().id(), "a");
        // A read that began before this write finishes after it: not remembered.
        let stale = cache.generation();
        cache.written();
        assert!(cache.get("a").is_none());
        cache.remember(stale, "b", org("b"));
        assert!(cache.get("b").is_none());
        let now = cache.generation();
        cache.remember(now, "b", org("b"));
        assert!(cache.get("b").is_some());
    }

    #[test]
    fn the_cache_stays_bounded() {
        let cache = SnapshotCache::default();
        for i in 0..MAX_ENTRIES * 3 {
            cache.remember(cache.generation(), &i.to_string(), org("x"));
            assert!(cache.inner.lock().unwrap().entries.len() <= MAX_ENTRIES);
        }
    }
}
