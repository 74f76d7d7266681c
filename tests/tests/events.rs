//! Change events on both stores, with a real receiver on loopback (an HTTP server in
//! this process, reached through the delivery's own client): a revoked claim arrives
//! as a verified SET; a receiver down for a while gets every event once, in order; a
//! 400 is not retried; an unconfirmed subscription gets nothing but the verification;
//! a delivery that dies between the send and the record sends again; a slow receiver
//! does not hold up another; a failure for the whole window deactivates; polling
//! acknowledges and replays; and a participant cannot touch another's subscription.

use directory_domain::Refusal;
use directory_domain::auth::Caller;
use directory_domain::events::endpoint::Reach;
use directory_domain::events::set;
use directory_domain::events::subscription::Status;
use directory_domain::events::wire::PollRequest;
use directory_domain::events::{EventKind, VERIFICATION_EVENT};
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::model::ResourceStatus;
use directory_domain::signature::Jwks;
use directory_tests::receiver::Receiver;
use directory_tests::{both_stores, set_status};
use directory_usecases::events::{self, DeliveryConfig, EventsError, Transmitter};
use directory_usecases::feed::sequence;
use directory_usecases::import;
use directory_usecases::ports::{Commit, Store, StoredSubscription, Subscriptions};
use directory_usecases::writes::DirectoryWrites;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

const BANK: &str = "c5de3366-d2fb-5b13-9457-76244d8fd242";
const ISSUER: &str = "http://directory.test";

fn transmitter() -> Transmitter {
    Transmitter {
        issuer: ISSUER.into(),
        jwks_uri: format!("{ISSUER}/jwks"),
        reach: Reach::Loopback,
    }
}

fn bank() -> Caller {
    Caller {
        sub: Some("bank-client".into()),
        organisation_id: Some(BANK.into()),
        scopes: vec!["directory:read".into()],
    }
}

fn actor() -> directory_domain::audit::Actor {
    directory_domain::audit::Actor::system("events-test", "subscriptions")
}

fn config() -> DeliveryConfig {
    DeliveryConfig {
        retry_window_secs: 24 * 3600,
        timeout: Duration::from_millis(700),
        concurrency: 8,
        per_run: 100,
    }
}

/// A test clock.
#[derive(Clone, Default)]
struct Clock(Arc<AtomicI64>);

impl Clock {
    fn at(t: i64) -> Clock {
        Clock(Arc::new(AtomicI64::new(t)))
    }
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
    fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

async fn loaded<S: Store>(store: &S) {
    import::import(store, &directory_tests::demo_bytes(), |_, _| {})
        .await
        .unwrap();
    sequence(store).await.unwrap();
}

async fn subscribe<S: Store>(store: &S, endpoint: Option<&str>, events: Option<Vec<EventKind>>) -> String {
    let delivery = match endpoint {
        Some(url) => json!({"method": "urn:ietf:rfc:8935", "endpoint_url": url}),
        None => json!({"method": "urn:ietf:rfc:8936"}),
    };
    let mut body = json!({ "delivery": delivery });
    if let Some(events) = events {
        body["events_requested"] = json!(events.iter().map(|e| e.uri()).collect::<Vec<_>>());
    }
    let request = serde_json::from_value(body).unwrap();
    events::create(store, &transmitter(), &bank(), &actor(), request, 1)
        .await
        .unwrap()
        .stream_id
}

async fn deliver<S: Store>(store: &S, clock: &Clock) -> events::Delivered {
    let push = directory_authz::push::PushClient::new(Reach::Loopback).unwrap();
    let c = clock.clone();
    let now = move || c.now();
    events::deliver_due(
        store,
        directory_tests::signer().as_ref(),
        &push,
        &transmitter(),
        &config(),
        &now,
    )
    .await
    .unwrap()
}

/// Sets the bank's first claim to `status`, and sequences it.
async fn set_first_claim<S: Store>(store: &S, status: ResourceStatus) -> String {
    let id = OrganisationId::from(BANK);
    let claims = store.authority_claims(&id).await.unwrap().unwrap();
    let claim = claims[0].organisation_authority_claim_id.clone();
    store
        .update_authority_claim(&id, &ClaimId::stored(claim.clone()), set_status(status))
        .await
        .unwrap();
    sequence(store).await.unwrap();
    claim
}

async fn stored<S: Store>(store: &S, id: &str) -> StoredSubscription {
    store.subscription(id).await.unwrap().unwrap()
}

fn event_of(claims: &Map<String, Value>) -> (String, Value) {
    let (uri, payload) = claims["events"].as_object().unwrap().iter().next().unwrap();
    (uri.clone(), payload.clone())
}

async fn a_revoked_claim_reaches_the_receiver_verified<S: Store>(store: S) {
    loaded(&store).await;
    let receiver = Receiver::start().await;
    let clock = Clock::at(1_000);
    let id = subscribe(&store, Some(&receiver.url), None).await;
    assert_eq!(stored(&store, &id).await.subscription.status, Status::Pending);
    deliver(&store, &clock).await;
    assert_eq!(stored(&store, &id).await.subscription.status, Status::Confirmed);
    let claim = set_first_claim(&store, ResourceStatus::Inactive).await;
    deliver(&store, &clock).await;
    let got = receiver.claims(ISSUER).await;
    assert_eq!(got.len(), 2, "the verification, then the change");
    assert!(got[0]["events"][VERIFICATION_EVENT]["state"].is_string());
    let (uri, payload) = event_of(&got[1]);
    assert_eq!(uri, EventKind::AuthorityClaimDeactivated.uri());
    assert_eq!(payload["authority_claim_id"], claim.as_str());
    assert_eq!(payload["organisation_id"], BANK);
    assert_eq!(payload["status"], "Inactive");
    assert!(payload["role"].is_string() && payload["authority_id"].is_string());
    assert_eq!(got[1]["sub_id"], json!({"format": "opaque", "id": BANK}));
    assert_eq!(
        got[1]["txn"],
        set::txn(ISSUER, payload["revision"].as_u64().unwrap()).as_str()
    );
    // Nothing private: the payload names ids, role, authority and status only.
    let text = serde_json::to_string(&got[1]).unwrap();
    assert!(!text.contains("Contact") && !text.contains("SoftwareStatement"));
    // Nothing more to send.
    assert_eq!(deliver(&store, &clock).await.accepted, 0);
}

async fn a_receiver_down_for_a_while_gets_every_event_once_in_order<S: Store>(store: S) {
    loaded(&store).await;
    let receiver = Receiver::start().await;
    let clock = Clock::at(1_000);
    let id = subscribe(&store, Some(&receiver.url), None).await;
    deliver(&store, &clock).await;
    receiver.set(503);
    for status in [
        ResourceStatus::Inactive,
        ResourceStatus::Active,
        ResourceStatus::Inactive,
    ] {
        set_first_claim(&store, status).await;
    }
    let done = deliver(&store, &clock).await;
    assert_eq!(
        (done.accepted, done.failed),
        (0, 1),
        "one attempt, the rest wait behind it"
    );
    let s = stored(&store, &id).await.subscription;
    assert_eq!(s.status, Status::Failing);
    assert_eq!(s.last_status.as_deref(), Some("HTTP 503"));
    // Not due before its back-off.
    assert_eq!(deliver(&store, &clock).await.failed, 0);
    clock.advance(10);
    assert_eq!(deliver(&store, &clock).await.failed, 1);
    receiver.set(202);
    clock.advance(3600);
    deliver(&store, &clock).await;
    assert_eq!(stored(&store, &id).await.subscription.status, Status::Confirmed);
    let got = receiver.claims(ISSUER).await;
    let mut seen = std::collections::BTreeSet::new();
    let mut changes = Vec::new();
    for c in &got {
        if seen.insert(c["jti"].as_str().unwrap().to_owned()) && c["events"].get(VERIFICATION_EVENT).is_none() {
            changes.push(event_of(c));
        }
    }
    let kinds: Vec<String> = changes.iter().map(|(uri, _)| uri.clone()).collect();
    assert_eq!(
        kinds,
        [
            EventKind::AuthorityClaimDeactivated.uri(),
            EventKind::AuthorityClaimActivated.uri(),
            EventKind::AuthorityClaimDeactivated.uri()
        ]
    );
    let revisions: Vec<u64> = changes.iter().map(|(_, p)| p["revision"].as_u64().unwrap()).collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "in revision order: {revisions:?}"
    );
    // Three sends of the first change (two failed), one of each other: once each by jti.
    assert_eq!(got.len(), 1 + 3 + 2);
}

async fn a_400_is_a_refusal_that_is_not_retried<S: Store>(store: S) {
    loaded(&store).await;
    let receiver = Receiver::start().await;
    let clock = Clock::at(1_000);
    let id = subscribe(&store, Some(&receiver.url), None).await;
    deliver(&store, &clock).await;
    receiver.set(400);
    set_first_claim(&store, ResourceStatus::Inactive).await;
    let done = deliver(&store, &clock).await;
    assert_eq!((done.refused, done.failed), (1, 0));
    let s = stored(&store, &id).await.subscription;
    assert_eq!(s.status, Status::Confirmed);
    assert_eq!(s.last_status.as_deref(), Some("400 invalid_request: not for us"));
    clock.advance(7200);
    assert_eq!(deliver(&store, &clock).await, events::Delivered::default());
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        2,
        "the verification and the one refusal"
    );
}

async fn never_confirmed_gets_nothing_but_the_verification<S: Store>(store: S) {
    loaded(&store).await;
    let receiver = Receiver::start().await;
    receiver.set(500);
    let clock = Clock::at(1_000);
    let id = subscribe(&store, Some(&receiver.url), None).await;
    for status in [ResourceStatus::Inactive, ResourceStatus::Active] {
        deliver(&store, &clock).await;
        set_first_claim(&store, status).await;
        clock.advance(4000);
    }
    deliver(&store, &clock).await;
    let got = receiver.claims(ISSUER).await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|c| c["events"].get(VERIFICATION_EVENT).is_some()));
    assert_eq!(stored(&store, &id).await.subscription.status, Status::Pending);
    // Failing for the whole window: deactivated, and the owner sees why.
    clock.advance(25 * 3600);
    deliver(&store, &clock).await;
    let s = stored(&store, &id).await.subscription;
    assert_eq!(s.status, Status::Deactivated);
    assert_eq!(s.last_status.as_deref(), Some("HTTP 500"));
    let sent = receiver.got.lock().unwrap().len();
    clock.advance(3600);
    deliver(&store, &clock).await;
    assert_eq!(
        receiver.got.lock().unwrap().len(),
        sent,
        "nothing is sent to a deactivated subscription"
    );
}

/// A store whose next subscription update fails: the process died after the send.
struct DiesAfterSend<S> {
    inner: S,
    /// Updates until the one that fails (the lease is the first, the record the second).
    updates: std::sync::atomic::AtomicUsize,
}

impl<S: Subscriptions> Subscriptions for DiesAfterSend<S> {
    async fn create_subscription(
        &self,
        s: &directory_domain::events::subscription::Subscription,
        cap: usize,
        audit: &directory_domain::audit::AuditRecord,
    ) -> Result<bool, directory_usecases::ports::StoreError> {
        self.inner.create_subscription(s, cap, audit).await
    }
    async fn subscription(
        &self,
        id: &str,
    ) -> Result<Option<StoredSubscription>, directory_usecases::ports::StoreError> {
        self.inner.subscription(id).await
    }
    async fn subscriptions(
        &self,
        owner: Option<&str>,
    ) -> Result<Vec<StoredSubscription>, directory_usecases::ports::StoreError> {
        self.inner.subscriptions(owner).await
    }
    async fn update_subscription(
        &self,
        s: &directory_domain::events::subscription::Subscription,
        expected: u64,
    ) -> Result<Commit, directory_usecases::ports::StoreError> {
        // The lease is taken (the first update), the send happens, the record dies.
        if self.updates.fetch_add(1, Ordering::SeqCst) == 1 {
            return Err(directory_usecases::ports::StoreError::Backend("killed".into()));
        }
        self.inner.update_subscription(s, expected).await
    }
    async fn delete_subscription(
        &self,
        s: &directory_domain::events::subscription::Subscription,
        audit: &directory_domain::audit::AuditRecord,
    ) -> Result<bool, directory_usecases::ports::StoreError> {
        self.inner.delete_subscription(s, audit).await
    }
}

async fn a_delivery_that_dies_after_sending_sends_again<S: Store>(store: S) {
    loaded(&store).await;
    let receiver = Receiver::start().await;
    let clock = Clock::at(1_000);
    subscribe(&store, Some(&receiver.url), None).await;
    deliver(&store, &clock).await;
    set_first_claim(&store, ResourceStatus::Inactive).await;
    let dying = DiesAfterSend {
        inner: store,
        updates: 0.into(),
    };
    let push = directory_authz::push::PushClient::new(Reach::Loopback).unwrap();
    let c = clock.clone();
    let now = move || c.now();
    let signer = directory_tests::signer();
    let cfg = config();
    let t = transmitter();
    let run = || async {
        let due: Vec<_> = dying.subscriptions(None).await.unwrap();
        let one = &due[0];
        // The use case over the dying store (the feed read from the real one).
        events::deliver_due(&Both(&dying, &dying.inner), signer.as_ref(), &push, &t, &cfg, &now)
            .await
            .map(|_| one.version)
    };
    assert!(run().await.is_err(), "the record failed");
    assert_eq!(receiver.got.lock().unwrap().len(), 2);
    // Its lease lapses; the next run sends the same SET again.
    clock.advance(120);
    run().await.unwrap();
    let got = receiver.claims(ISSUER).await;
    assert_eq!(got.len(), 3);
    assert_eq!(got[1]["jti"], got[2]["jti"], "the same event, by jti");
    clock.advance(120);
    run().await.unwrap();
    assert_eq!(receiver.got.lock().unwrap().len(), 3, "and then never again");
}

/// Subscriptions from one store, the feed from another (the fault-injecting wrapper).
struct Both<'a, A, B>(&'a A, &'a B);

impl<A: Subscriptions, B: Send + Sync> Subscriptions for Both<'_, A, B> {
    async fn create_subscription(
        &self,
        s: &directory_domain::events::subscription::Subscription,
        cap: usize,
        audit: &directory_domain::audit::AuditRecord,
    ) -> Result<bool, directory_usecases::ports::StoreError> {
        self.0.create_subscription(s, cap, audit).await
    }
    async fn subscription(
        &self,
        id: &str,
    ) -> Result<Option<StoredSubscription>, directory_usecases::ports::StoreError> {
        self.0.subscription(id).await
    }
    async fn subscriptions(
        &self,
        owner: Option<&str>,
    ) -> Result<Vec<StoredSubscription>, directory_usecases::ports::StoreError> {
        self.0.subscriptions(owner).await
    }
    async fn update_subscription(
        &self,
        s: &directory_domain::events::subscription::Subscription,
        expected: u64,
    ) -> Result<Commit, directory_usecases::ports::StoreError> {
        self.0.update_subscription(s, expected).await
    }
    async fn delete_subscription(
        &self,
        s: &directory_domain::events::subscription::Subscription,
        audit: &directory_domain::audit::AuditRecord,
    ) -> Result<bool, directory_usecases::ports::StoreError> {
        self.0.delete_subscription(s, audit).await
    }
}

impl<A: Send + Sync, B: directory_usecases::ports::ChangeFeed> directory_usecases::ports::ChangeFeed
    for Both<'_, A, B>
{
    async fn feed_head(&self) -> Result<Option<directory_domain::feed::Head>, directory_usecases::ports::StoreError> {
        self.1.feed_head().await
    }
    async fn pending(
        &self,
        limit: usize,
    ) -> Result<Vec<directory_usecases::ports::Pending>, directory_usecases::ports::StoreError> {
        self.1.pending(limit).await
    }
    async fn enqueue(
        &self,
        p: &[directory_usecases::ports::Pending],
    ) -> Result<(), directory_usecases::ports::StoreError> {
        self.1.enqueue(p).await
    }
    async fn public_record(
        &self,
        o: &OrganisationId,
    ) -> Result<(Option<directory_domain::feed::Record>, u64), directory_usecases::ports::StoreError> {
        self.1.public_record(o).await
    }
    async fn current_records(
        &self,
        o: &[String],
    ) -> Result<Vec<directory_domain::feed::Current>, directory_usecases::ports::StoreError> {
        self.1.current_records(o).await
    }
    async fn keep_superseded(
        &self,
        r: &[directory_domain::feed::Current],
        now: i64,
    ) -> Result<(), directory_usecases::ports::StoreError> {
        self.1.keep_superseded(r, now).await
    }
    async fn commit_sequence(
        &self,
        e: Option<&directory_domain::feed::Head>,
        b: &directory_usecases::ports::Sequenced,
    ) -> Result<Commit, directory_usecases::ports::StoreError> {
        self.1.commit_sequence(e, b).await
    }
    async fn entries_after(
        &self,
        since: u64,
        limit: usize,
        now: i64,
    ) -> Result<
        (Vec<directory_domain::feed::Entry>, Option<directory_domain::feed::Head>),
        directory_usecases::ports::StoreError,
    > {
        self.1.entries_after(since, limit, now).await
    }
    async fn current_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<directory_domain::feed::Current>, directory_usecases::ports::StoreError> {
        self.1.current_page(after, limit).await
    }
    async fn superseded(
        &self,
        o: &str,
        at: u64,
        now: i64,
    ) -> Result<Option<directory_domain::feed::Current>, directory_usecases::ports::StoreError> {
        self.1.superseded(o, at, now).await
    }
    fn settle_time(&self) -> Duration {
        self.1.settle_time()
    }
    fn feed_retention_days(&self) -> u32 {
        self.1.feed_retention_days()
    }
}

async fn a_slow_receiver_does_not_hold_up_another<S: Store>(store: S) {
    loaded(&store).await;
    let slow = Receiver::start().await;
    let fast = Receiver::start().await;
    let clock = Clock::at(1_000);
    subscribe(&store, Some(&slow.url), None).await;
    subscribe(&store, Some(&fast.url), None).await;
    deliver(&store, &clock).await;
    slow.delay_ms.store(5_000, Ordering::SeqCst);
    set_first_claim(&store, ResourceStatus::Inactive).await;
    let started = std::time::Instant::now();
    let done = deliver(&store, &clock).await;
    // The slow one timed out (700 ms) while the fast one got its event.
    assert_eq!((done.accepted, done.failed), (1, 1));
    assert_eq!(fast.got.lock().unwrap().len(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "the run waited for the slow receiver"
    );
}

async fn polling_acknowledges_and_replays<S: Store>(store: S) {
    loaded(&store).await;
    let clock = Clock::at(1_000);
    let id = subscribe(
        &store,
        None,
        Some(vec![
            EventKind::AuthorityClaimDeactivated,
            EventKind::AuthorityClaimActivated,
        ]),
    )
    .await;
    let signer = directory_tests::signer();
    let jwks = Jwks::of(signer.public_jwk().await.unwrap());
    let poll = |request: Value| {
        let signer = signer.clone();
        let store = &store;
        let c = clock.clone();
        let id = id.clone();
        async move {
            let request: PollRequest = serde_json::from_value(request).unwrap();
            events::poll(
                store,
                signer.as_ref(),
                &transmitter(),
                &bank(),
                &id,
                request,
                move || c.now(),
            )
            .await
        }
    };
    let first = poll(json!({"returnImmediately": true})).await.unwrap();
    assert_eq!(first.sets.len(), 1, "the verification first");
    let (jti, token) = first.sets.iter().next().unwrap();
    let claims = set::verify(token, &jwks, ISSUER, Some(&id), 0).unwrap();
    assert!(claims["events"].get(VERIFICATION_EVENT).is_some());
    // Unacknowledged: it comes again.
    assert_eq!(poll(json!({"returnImmediately": true})).await.unwrap().sets.len(), 1);
    let revision = {
        set_first_claim(&store, ResourceStatus::Inactive).await;
        set_first_claim(&store, ResourceStatus::Active).await;
        store.feed_head().await.unwrap().unwrap().revision
    };
    let after_ack = poll(json!({"ack": [jti], "returnImmediately": true, "maxEvents": 1}))
        .await
        .unwrap();
    assert_eq!(stored(&store, &id).await.subscription.status, Status::Confirmed);
    assert_eq!((after_ack.sets.len(), after_ack.more_available), (1, true));
    let all = poll(json!({"returnImmediately": true})).await.unwrap();
    assert_eq!(all.sets.len(), 2);
    let jtis: Vec<String> = all.sets.keys().cloned().collect();
    let done = poll(json!({"ack": jtis, "returnImmediately": true})).await.unwrap();
    assert!(done.sets.is_empty() && !done.more_available);
    // Replay from the first of the two revisions: both come again, same jtis.
    let replayed = poll(json!({"replayFrom": revision - 1, "returnImmediately": true}))
        .await
        .unwrap();
    assert_eq!(replayed.sets.keys().cloned().collect::<Vec<_>>(), jtis);
    // A push subscription is not polled; a bad request is a 400 naming the field.
    let refused = poll(json!({"maxEvents": 500})).await.unwrap_err();
    assert!(matches!(refused, EventsError::Refused(Refusal::Invalid(m)) if m[0].starts_with("maxEvents")));
}

async fn a_participant_cannot_read_change_or_poll_anothers_subscription<S: Store>(store: S) {
    loaded(&store).await;
    let id = subscribe(&store, None, None).await;
    let other = Caller {
        sub: Some("fintech".into()),
        organisation_id: Some("0d3b8d1a-6d3b-5d2e-8f5b-2a1c5a9e1f11".into()),
        scopes: vec!["directory:read".into()],
    };
    let missing = uuid::Uuid::new_v4().to_string();
    for target in [&id, &missing] {
        let read = events::read(&store, &other, target).await.unwrap_err();
        assert!(matches!(read, EventsError::Refused(Refusal::Forbidden(_))), "{read:?}");
        let delete = events::delete(&store, &other, &actor(), target).await.unwrap_err();
        assert!(matches!(delete, EventsError::Refused(Refusal::Forbidden(_))));
        let poll = events::poll(
            &store,
            directory_tests::signer().as_ref(),
            &transmitter(),
            &other,
            target,
            PollRequest::default(),
            || 1,
        )
        .await
        .unwrap_err();
        assert!(matches!(poll, EventsError::Refused(Refusal::Forbidden(_))));
    }
    assert!(events::list(&store, &other, None).await.unwrap().is_empty());
    assert!(store.subscription(&id).await.unwrap().is_some(), "untouched");
    // The cap holds: ten per participant.
    for _ in 1..10 {
        subscribe(&store, None, None).await;
    }
    let request = serde_json::from_value(json!({"delivery": {"method": "urn:ietf:rfc:8936"}})).unwrap();
    let over = events::create(&store, &transmitter(), &bank(), &actor(), request, 1)
        .await
        .unwrap_err();
    assert!(matches!(over, EventsError::Refused(Refusal::Invalid(_))));
    assert_eq!(store.subscriptions(Some(BANK)).await.unwrap().len(), 10);
    events::delete(&store, &bank(), &actor(), &id).await.unwrap();
    subscribe(&store, None, None).await;
    // Each made and deleted subscription left its audit record, in the owner's partition.
    let records = store
        .audit_records(Some(&OrganisationId::from(BANK)), None)
        .await
        .unwrap();
    let about = |action: &str| {
        records
            .iter()
            .filter(|r| r.target.contains_key("SubscriptionId") && r.action == action)
            .count()
    };
    assert_eq!(about("subscriptions"), 12, "11 made and 1 deleted");
}

both_stores!(
    a_revoked_claim_reaches_the_receiver_verified,
    a_receiver_down_for_a_while_gets_every_event_once_in_order,
    a_400_is_a_refusal_that_is_not_retried,
    never_confirmed_gets_nothing_but_the_verification,
    a_delivery_that_dies_after_sending_sends_again,
    a_slow_receiver_does_not_hold_up_another,
    polling_acknowledges_and_replays,
    a_participant_cannot_read_change_or_poll_anothers_subscription,
);
