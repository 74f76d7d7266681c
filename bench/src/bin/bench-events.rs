//! Change events' costs, in process on the embedded store with receivers on loopback
//! (figures printed, nothing asserted):
//! - `latency`: a claim write, the sequencer, the delivery (as the local server's
//!   workers run them), until each receiver has the SET: p50/p99 with 1 and with 100
//!   subscribers.
//! - `throughput`: 500 revisions queued for one subscriber: SETs a delivery worker sends
//!   per second (each signed, POSTed, and its outcome recorded).
//! - `signs`: signatures per revision (one per SET: events × subscribers that want
//!   them), and what KMS would charge for them at a stated rate of change.
//!
//! `bench-events [latency|throughput|signs|all]`.

use directory_bench::summary;
use directory_domain::audit::Actor;
use directory_domain::auth::Caller;
use directory_domain::events::endpoint::Reach;
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::signature::{BoxFuture, Jwk, SignError, Signer};
use directory_tests::receiver::Receiver;
use directory_tests::{embedded_store, flipped, set_status};
use directory_usecases::events::{self, DeliveryConfig, Transmitter};
use directory_usecases::feed::sequence;
use directory_usecases::ports::Store;
use directory_usecases::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Counts the signatures made through it.
struct Counting {
    inner: Arc<dyn Signer>,
    signs: AtomicU64,
}

impl Signer for Counting {
    fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>> {
        self.inner.public_jwk()
    }
    fn sign_digest(&self, digest: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>> {
        self.signs.fetch_add(1, Ordering::Relaxed);
        self.inner.sign_digest(digest)
    }
}

fn transmitter() -> Transmitter {
    Transmitter {
        issuer: "http://directory.bench".into(),
        jwks_uri: "http://directory.bench/jwks".into(),
        reach: Reach::Loopback,
    }
}

struct Bench<S> {
    store: S,
    signer: Counting,
    push: directory_authz::push::PushClient,
    orgs: Vec<String>,
    /// The organisation and claim flipped by each write.
    claim: (OrganisationId, ClaimId),
}

impl<S: Store> Bench<S> {
    async fn new(store: S) -> Self {
        directory_usecases::import::import(&store, &directory_tests::demo_bytes(), |_, _| {})
            .await
            .unwrap();
        sequence(&store).await.unwrap();
        let orgs = store.organisation_ids(None, 100).await.unwrap();
        let org = OrganisationId::from(&orgs[0]);
        let claims = store.authority_claims(&org).await.unwrap().unwrap();
        let claim = ClaimId::stored(claims[0].organisation_authority_claim_id.clone());
        Self {
            store,
            signer: Counting {
                inner: directory_tests::signer(),
                signs: AtomicU64::new(0),
            },
            push: directory_authz::push::PushClient::new(Reach::Loopback).unwrap(),
            orgs,
            claim: (org, claim),
        }
    }

    /// `n` push subscriptions (every event), owned round-robin by the demo organisations.
    async fn subscribe(&self, n: usize) -> Vec<Receiver> {
        let admin = Caller {
            sub: Some("bench".into()),
            organisation_id: None,
            scopes: vec!["directory:admin".into()],
        };
        let mut receivers = Vec::new();
        for i in 0..n {
            let r = Receiver::start().await;
            let request = serde_json::from_value(serde_json::json!({
                "delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": r.url},
                "organisation_id": self.orgs[i % self.orgs.len()],
            }))
            .unwrap();
            events::create(
                &self.store,
                &transmitter(),
                &admin,
                &Actor::system("bench", "subscriptions"),
                request,
                1,
            )
            .await
            .unwrap();
            receivers.push(r);
        }
        self.deliver().await;
        receivers
    }

    async fn deliver(&self) -> events::Delivered {
        let config = DeliveryConfig {
            concurrency: 128,
            per_run: 1000,
            ..DeliveryConfig::default()
        };
        let clock = directory_usecases::clock::now;
        events::deliver_due(&self.store, &self.signer, &self.push, &transmitter(), &config, &clock)
            .await
            .unwrap()
    }

    async fn flip(&self) {
        let (org, claim) = &self.claim;
        let claims = self.store.authority_claims(org).await.unwrap().unwrap();
        let now = claims
            .iter()
            .find(|c| c.organisation_authority_claim_id == claim.as_str())
            .unwrap()
            .status;
        self.store
            .update_authority_claim(org, claim, set_status(flipped(now)))
            .await
            .unwrap();
    }
}

async fn latency(subscribers: usize) {
    let (store, _dir) = embedded_store();
    let bench = Bench::new(store).await;
    let receivers = bench.subscribe(subscribers).await;
    let mut samples = Vec::new();
    // The baseline, in the same run: commit -> in the changes feed (what a poller sees).
    let mut visible = Vec::new();
    for _ in 0..30 {
        let before: Vec<usize> = receivers.iter().map(|r| r.arrived.lock().unwrap().len()).collect();
        let start = Instant::now();
        bench.flip().await;
        sequence(&bench.store).await.unwrap();
        visible.push(start.elapsed());
        bench.deliver().await;
        for (r, n) in receivers.iter().zip(before) {
            let arrived = r.arrived.lock().unwrap();
            samples.extend(arrived[n..].iter().map(|t| t.duration_since(start)));
        }
    }
    println!("commit -> delivered, {subscribers} subscriber(s): {}", summary(samples));
    println!("  baseline, commit -> in the changes feed: {}", summary(visible));
}

async fn throughput() {
    let (store, _dir) = embedded_store();
    let bench = Bench::new(store).await;
    let receivers = bench.subscribe(1).await;
    // Each write sequenced on its own (writes between two sequencer runs would be one
    // revision: the sequencer keeps an organisation's latest record).
    for _ in 0..500 {
        bench.flip().await;
        sequence(&bench.store).await.unwrap();
    }
    let before = receivers[0].got.lock().unwrap().len();
    let start = Instant::now();
    loop {
        if bench.deliver().await.accepted == 0 {
            break;
        }
    }
    let elapsed = start.elapsed();
    let sent = receivers[0].got.lock().unwrap().len() - before;
    println!(
        "one delivery worker, one subscriber: {sent} SETs in {:.2} s = {:.0} SETs/s (each signed, sent, recorded)",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
}

async fn signs() {
    let (store, _dir) = embedded_store();
    let bench = Bench::new(store).await;
    let _receivers = bench.subscribe(100).await;
    let before = bench.signer.signs.load(Ordering::Relaxed);
    let revisions = 20;
    for _ in 0..revisions {
        bench.flip().await;
        sequence(&bench.store).await.unwrap();
        bench.deliver().await;
    }
    let per_revision = (bench.signer.signs.load(Ordering::Relaxed) - before) as f64 / revisions as f64;
    // KMS asymmetric Sign: $0.15 per 10,000 requests (the published rate used here).
    let per_month = |changes_a_day: f64| changes_a_day * 30.0 * per_revision * 0.15 / 10_000.0;
    println!(
        "signatures per revision (one claim changed, 100 subscribers to every event): {per_revision:.1}; \
         at 1,000 such revisions a day: {:.0} KMS Sign calls a month, ${:.2} at $0.15 per 10,000",
        1_000.0 * 30.0 * per_revision,
        per_month(1_000.0)
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if what == "all" || what == "latency" {
        latency(1).await;
        latency(100).await;
    }
    if what == "all" || what == "throughput" {
        throughput().await;
    }
    if what == "all" || what == "signs" {
        signs().await;
    }
}
