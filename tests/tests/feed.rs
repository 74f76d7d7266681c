//! Revisions and the changes feed on both stores: the file at A with the changes after
//! A is the file at B byte for byte (over random sequences of writes), private-only
//! changes get no revision, a removal is a tombstone, revisions seen are contiguous and
//! final while writers and sequencers run concurrently, and `since` past the head,
//! past the retention and at the head answer 400, 410 and an empty page.

use directory_domain::audit::Actor;
use directory_domain::feed::{Head, Mirror, Revision};
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::model::{OrganisationSnapshot, ResourceStatus};
use directory_tests::contract::demo;
use directory_tests::{both_stores, flipped, set_status};
use directory_usecases::export::file_at;
use directory_usecases::feed::{FeedError, page, page_at, sequence};
use directory_usecases::import;
use directory_usecases::ports::{Sequenced, Store};
use directory_usecases::writes::{ClaimWrite, DirectoryWrites, Replaced};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

async fn loaded<S: Store>(store: &S) -> Vec<OrganisationSnapshot> {
    import::import(store, &directory_tests::demo_bytes(), |_, _| {})
        .await
        .unwrap();
    sequence(store).await.unwrap();
    demo().1
}

async fn head<S: Store>(store: &S) -> Revision {
    store.feed_head().await.unwrap().unwrap_or_default().revision
}

/// Every page after `since`, applied to the copy (the consumer's loop).
async fn catch_up<S: Store>(store: &S, mirror: &mut Mirror, limit: u64) -> usize {
    let mut pages = 0;
    loop {
        let p = page(store, mirror.revision, limit).await.unwrap();
        let more = p.more;
        // Through the bytes, as a consumer gets them.
        let bytes = p.to_bytes();
        mirror.apply(serde_json::from_slice(&bytes).unwrap()).unwrap();
        pages += 1;
        if !more {
            return pages;
        }
    }
}

/// One random write: a claim's status, an organisation's name, a private-only change,
/// a removal, or the return of a removed organisation.
async fn random_write<S: Store>(
    store: &S,
    orgs: &[OrganisationSnapshot],
    rng: &mut fastrand::Rng,
    gone: &mut Vec<usize>,
) {
    let i = rng.usize(..orgs.len());
    let org = &orgs[i];
    let id = OrganisationId::stored(org.id());
    match rng.u8(..5) {
        0 if !org.org_domain_role_claims.is_empty() && !gone.contains(&i) => {
            let claim = &org.org_domain_role_claims[rng.usize(..org.org_domain_role_claims.len())];
            let status = if rng.bool() {
                ResourceStatus::Active
            } else {
                ResourceStatus::Inactive
            };
            let claim_id = ClaimId::stored(claim.organisation_authority_claim_id.clone());
            let outcome = store
                .update_authority_claim(&id, &claim_id, set_status(status))
                .await
                .unwrap();
            assert!(
                matches!(outcome, ClaimWrite::Updated(_) | ClaimWrite::Rejected(_)),
                "{outcome:?}"
            );
        }
        1 => {
            let mut changed = org.clone();
            changed.organisation_details.organisation_name = Some(format!("Renamed {}", rng.u32(..1000)));
            store.replace_organisation(&changed).await.unwrap();
            gone.retain(|g| *g != i);
        }
        2 => {
            let mut private = org.clone();
            for c in &mut private.contacts {
                c.phone_number = Some(format!("+44{}", rng.u32(100_000..999_999)));
            }
            store.replace_organisation(&private).await.unwrap();
            gone.retain(|g| *g != i);
        }
        3 if !gone.contains(&i) => {
            let actor = Actor::system("test", "remove");
            assert_eq!(
                store.remove_organisation_as(&id, &actor).await.unwrap(),
                Replaced::Written
            );
            gone.push(i);
        }
        _ => {
            store.replace_organisation(org).await.unwrap();
            gone.retain(|g| *g != i);
        }
    }
}

/// The invariant, over random write sequences: the file at A plus the changes after A,
/// applied in order, is the file at B, byte for byte; and the file at A can still be
/// read at A after later revisions (from the superseded records).
pub async fn file_plus_changes_is_the_next_file<S: Store>(store: S) {
    let orgs = loaded(&store).await;
    let mut gone = Vec::new();
    for seed in [7u64, 1913, 424_242] {
        let mut rng = fastrand::Rng::with_seed(seed);
        let a = head(&store).await;
        let file_a = file_at(&store, a).await.unwrap();
        let mut mirror = Mirror::from_file(&file_a, a).unwrap();
        assert_eq!(
            mirror.file_bytes(),
            file_a,
            "the mirror writes the file as the export does"
        );
        for _ in 0..rng.usize(4..12) {
            random_write(&store, &orgs, &mut rng, &mut gone).await;
            if rng.bool() {
                sequence(&store).await.unwrap();
            }
        }
        sequence(&store).await.unwrap();
        let b = head(&store).await;
        let limit = rng.u64(1..=5);
        catch_up(&store, &mut mirror, limit).await;
        assert_eq!(mirror.revision, b, "seed {seed}");
        let file_b = file_at(&store, b).await.unwrap();
        assert_eq!(
            String::from_utf8(mirror.file_bytes()).unwrap(),
            String::from_utf8(file_b).unwrap(),
            "seed {seed}: file(A) + changes(A..B) = file(B)"
        );
        assert_eq!(
            file_at(&store, a).await.unwrap(),
            file_a,
            "seed {seed}: the file at A, read later"
        );
    }
}

/// A change of private data only (contacts) changes nothing the file holds: no revision.
pub async fn private_changes_get_no_revision<S: Store>(store: S) {
    let orgs = loaded(&store).await;
    let before = head(&store).await;
    assert_eq!(before, orgs.len() as u64, "one revision per organisation imported");
    let mut private = orgs[0].clone();
    assert!(!private.contacts.is_empty());
    private.contacts[0].phone_number = Some("+441234567890".into());
    assert_eq!(store.replace_organisation(&private).await.unwrap(), Replaced::Written);
    let done = sequence(&store).await.unwrap();
    assert_eq!((done.revisions, done.settled), (0, 1));
    assert_eq!(head(&store).await, before);
    assert!(store.pending(10).await.unwrap().is_empty(), "the outbox is empty");
    // A public change does get one, and its entry is the file's record.
    let mut public = orgs[0].clone();
    public.organisation_details.organisation_name = Some("A public change".into());
    store.replace_organisation(&public).await.unwrap();
    sequence(&store).await.unwrap();
    assert_eq!(head(&store).await, before + 1);
    let p = page(&store, before, 100).await.unwrap();
    assert_eq!(p.changes.len(), 1);
    let record = p.changes[0].organisation.as_ref().unwrap().get();
    assert!(record.contains("A public change") && !record.contains("+441234567890"));
    let file = String::from_utf8(file_at(&store, before + 1).await.unwrap()).unwrap();
    assert!(file.contains(record), "the entry is the file's record, byte for byte");
}

/// A removed organisation's change is a tombstone, and it leaves the file.
pub async fn a_removal_is_a_tombstone<S: Store>(store: S) {
    let orgs = loaded(&store).await;
    let id = OrganisationId::stored(orgs[2].id());
    let before = head(&store).await;
    let actor = Actor::system("test", "remove");
    assert_eq!(
        store.remove_organisation_as(&id, &actor).await.unwrap(),
        Replaced::Written
    );
    assert_eq!(
        store.remove_organisation_as(&id, &actor).await.unwrap(),
        Replaced::Unchanged
    );
    sequence(&store).await.unwrap();
    let p = page(&store, before, 100).await.unwrap();
    assert_eq!(p.changes.len(), 1);
    assert!(p.changes[0].removed && p.changes[0].organisation.is_none());
    assert_eq!(p.changes[0].organisation_id, orgs[2].id());
    let file = String::from_utf8(file_at(&store, before + 1).await.unwrap()).unwrap();
    assert!(!file.contains(orgs[2].id()));
    assert!(store.snapshot(&id).await.unwrap().is_none());
    // It comes back: a new revision with its record.
    store.replace_organisation(&orgs[2]).await.unwrap();
    sequence(&store).await.unwrap();
    let p = page(&store, before + 1, 100).await.unwrap();
    assert!(!p.changes[0].removed);
}

/// `since` beyond the head is refused, at the head is an empty page, and older than
/// the revisions kept is gone (410: start from the file).
pub async fn since_past_present_and_future<S: Store>(store: S) {
    loaded(&store).await;
    let h = head(&store).await;
    assert!(matches!(page(&store, h + 1, 100).await, Err(FeedError::Future { .. })));
    let at_head = page(&store, h, 100).await.unwrap();
    assert_eq!(
        (at_head.since, at_head.revision, at_head.more, at_head.changes.len()),
        (h, h, false, 0)
    );
    let first = page(&store, 0, 5).await.unwrap();
    assert_eq!((first.revision, first.more), (5, true));
    let days = i64::from(store.feed_retention_days()) * 86_400;
    let later = move || time::OffsetDateTime::now_utc().unix_timestamp() + days + 60;
    assert!(matches!(
        page_at(&store, 0, 5, later).await,
        Err(FeedError::Gone { since: 0 })
    ));
    assert!(matches!(page_at(&store, h, 5, later).await, Ok(p) if p.changes.is_empty()));
}

/// A directory stored before the feed (organisations, no head): the first run queues
/// every organisation once and gives each its revision.
pub async fn a_directory_stored_before_the_feed_is_seeded<S: Store>(store: S) {
    import::import(&store, &directory_tests::demo_bytes(), |_, _| {})
        .await
        .unwrap();
    // As before the feed: the outbox settled without revisions, the head unseeded.
    let pending = store.pending(1000).await.unwrap();
    let batch = Sequenced {
        head: Head::default(),
        done: pending,
        ..Sequenced::default()
    };
    store.commit_sequence(None, &batch).await.unwrap();
    assert!(store.pending(10).await.unwrap().is_empty());
    let done = sequence(&store).await.unwrap();
    assert_eq!((done.seeded, done.revisions), (13, 13));
    assert!(store.feed_head().await.unwrap().unwrap().seeded);
    assert_eq!(sequence(&store).await.unwrap().revisions, 0, "once");
}

/// Writers on different organisations and two sequencers at once, a reader polling
/// throughout: every revision it sees follows the last one it saw, and a revision read
/// again says the same (final), and at the end every write has its revision.
pub async fn revisions_seen_are_contiguous_and_final<S: Store>(store: S) {
    let orgs = loaded(&store).await;
    let store = Arc::new(store);
    let done = Arc::new(AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen: BTreeMap<Revision, String> = BTreeMap::new();
            let mut since = 0;
            loop {
                let finished = done.load(Ordering::SeqCst);
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                let (entries, _) = store.entries_after(0, 10_000, now).await.unwrap();
                for (i, e) in entries.iter().enumerate() {
                    assert_eq!(e.revision, i as u64 + 1, "a revision missing before {}", e.revision);
                    let body = format!("{} {:?}", e.organisation_id, e.record.as_ref().map(|r| r.sha256()));
                    let old = seen.insert(e.revision, body.clone());
                    assert!(old.is_none_or(|o| o == body), "revision {} changed", e.revision);
                }
                let p = page(&*store, since, 7).await.unwrap();
                assert_eq!(p.since, since);
                assert!(p.revision >= since);
                since = p.revision;
                if finished && !p.more {
                    return seen.len() as u64;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let sequencers: Vec<_> = (0..2)
        .map(|_| {
            let (store, done) = (store.clone(), done.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::SeqCst) {
                    sequence(&*store).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let writers: Vec<_> = orgs
        .iter()
        .filter(|o| !o.org_domain_role_claims.is_empty())
        .take(4)
        .map(|org| {
            let store = store.clone();
            let id = OrganisationId::stored(org.id());
            let claim = ClaimId::stored(org.org_domain_role_claims[0].organisation_authority_claim_id.clone());
            let start = org.org_domain_role_claims[0].status;
            let flipped = flipped(start);
            tokio::spawn(async move {
                // Seven, starting with the other status: each organisation ends unlike
                // at the start, so its writes leave at least one revision however the
                // sequencers coalesce them.
                for n in 0..7 {
                    let status = if n % 2 == 0 { flipped } else { start };
                    store
                        .update_authority_claim(&id, &claim, set_status(status))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    done.store(true, Ordering::SeqCst);
    for s in sequencers {
        s.await.unwrap();
    }
    sequence(&*store).await.unwrap();
    let seen = reader.await.unwrap();
    let h = head(&*store).await;
    assert!(
        store.pending(10).await.unwrap().is_empty(),
        "every write has its revision"
    );
    assert!(h >= 13 + 4, "the writes got revisions: head {h}");
    assert!(seen <= h);
}

both_stores!(
    file_plus_changes_is_the_next_file,
    private_changes_get_no_revision,
    a_removal_is_a_tombstone,
    since_past_present_and_future,
    a_directory_stored_before_the_feed_is_seeded,
    revisions_seen_are_contiguous_and_final,
);
