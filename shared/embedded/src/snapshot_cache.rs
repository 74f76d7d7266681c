//! The embedded store's memory of assembled organisations: repeated snapshot reads
//! (the local server's hot path) skip the database read and the parse of every item.
//! Every committed write empties it. The database file is held by one process
//! (redb refuses a second), so no write can bypass that.

use directory_domain::model::OrganisationSnapshot;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// At most this many organisations are remembered; past it, or past
/// [`MAX_BYTES`], the memory starts again, so it stays bounded without bookkeeping.
const MAX_ENTRIES: usize = 256;
/// At most this many bytes of stored item bodies (a proxy for the assembled
/// snapshots' size) are remembered; an organisation over a quarter of it never is.
const MAX_BYTES: usize = 32 * 1024 * 1024;

/// Whole snapshots by organisation id, and the write generation they were read at.
#[derive(Default)]
pub struct SnapshotCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Bumped by every write: a read that began before a write may not be remembered.
    generation: u64,
    /// Each snapshot with the stored size it was assembled from.
    entries: HashMap<String, (Arc<OrganisationSnapshot>, usize)>,
    /// The sum of the entries' sizes.
    bytes: usize,
}

impl SnapshotCache {
    /// The current write generation; pass it to [`Self::remember`] after the read.
    pub fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(u64::MAX)
    }

    /// The remembered snapshot of `org_id`.
    pub fn get(&self, org_id: &str) -> Option<Arc<OrganisationSnapshot>> {
        self.inner.lock().ok()?.entries.get(org_id).map(|(s, _)| s.clone())
    }

    /// Remembers a snapshot read at `generation` from `bytes` of stored bodies,
    /// unless a write has committed since or it is too large to keep.
    pub fn remember(&self, generation: u64, org_id: &str, snapshot: Arc<OrganisationSnapshot>, bytes: usize) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        if inner.generation != generation || bytes > MAX_BYTES / 4 {
            return;
        }
        if let Some((_, old)) = inner.entries.remove(org_id) {
            inner.bytes -= old;
        }
        if inner.entries.len() >= MAX_ENTRIES || inner.bytes + bytes > MAX_BYTES {
            inner.entries.clear();
            inner.bytes = 0;
        }
        inner.bytes += bytes;
        inner.entries.insert(org_id.to_owned(), (snapshot, bytes));
    }

    /// Forgets everything: called after every committed write.
    pub fn written(&self) {
        // A poisoned lock forgets too: its entries may be stale.
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        inner.generation = inner.generation.wrapping_add(1);
        inner.entries.clear();
        inner.bytes = 0;
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
        cache.remember(before, "a", org("a"), 10);
        assert_eq!(cache.get("a").unwrap().id(), "a");
        // A read that began before this write finishes after it: not remembered.
        let stale = cache.generation();
        cache.written();
        assert!(cache.get("a").is_none());
        cache.remember(stale, "b", org("b"), 10);
        assert!(cache.get("b").is_none());
        let now = cache.generation();
        cache.remember(now, "b", org("b"), 10);
        assert!(cache.get("b").is_some());
    }

    #[test]
    fn the_cache_stays_bounded_in_entries_and_bytes() {
        let cache = SnapshotCache::default();
        let within = |cache: &SnapshotCache| {
            let inner = cache.inner.lock().unwrap();
            assert!(inner.entries.len() <= MAX_ENTRIES);
            assert!(inner.bytes <= MAX_BYTES);
            assert_eq!(inner.bytes, inner.entries.values().map(|(_, b)| b).sum::<usize>());
        };
        for i in 0..MAX_ENTRIES * 3 {
            cache.remember(cache.generation(), &i.to_string(), org("x"), 100);
            within(&cache);
        }
        for i in 0..40 {
            cache.remember(cache.generation(), &(i % 7).to_string(), org("x"), MAX_BYTES / 5);
            within(&cache);
        }
        cache.remember(cache.generation(), "huge", org("huge"), MAX_BYTES / 4 + 1);
        assert!(cache.get("huge").is_none());
    }
}
