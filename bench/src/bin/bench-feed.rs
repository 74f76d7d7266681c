//! The change feed's costs, in process (figures printed, nothing asserted):
//! - `contention`: on DynamoDB Local, writers on different organisations committing a
//!   claim-shaped transaction without the feed (the baseline), with an outbox item
//!   (what the directory does) and with a directory-wide counter item instead (the
//!   alternative docs/design.md rejects): throughput, p50/p99 and conflicts.
//! - `visible`: a claim write, then the sequencer (as the local worker and the stream
//!   start it), until the changes page shows it: p50/p99 on both stores.
//! - `bytes`: a consumer staying current over 10 changes at 10,000 organisations, the
//!   whole file each time against the changes pages (bodies and headers), and the poll
//!   with nothing new (304) through the route's handler: bytes and time.
//!
//! `bench-feed [contention|visible|bytes|all]` (all: every part).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use directory_bench::summary;
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::model::ResourceStatus;
use directory_domain::routes;
use directory_http::{Signed, dispatch};
use directory_tests::{embedded_store, flipped, generated_organisations, set_status};
use directory_usecases::export::file_at;
use directory_usecases::feed::{page, sequence};
use directory_usecases::ports::Store;
use directory_usecases::prelude::*;
use directory_usecases::writes::DirectoryWrites;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Transactions per writer in the contention run.
const PER_WRITER: usize = 150;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

#[derive(Clone, Copy, Debug)]
enum Variant {
    /// The claim, the version and the audit record: a write without the feed.
    NoFeed,
    /// Plus the organisation's own outbox item (no shared item).
    Outbox,
    /// Plus `ADD Rev :1` on one directory-wide counter item.
    Counter,
}

fn transaction(table: &str, variant: Variant, org: usize, n: usize) -> Vec<TransactWriteItem> {
    let pk = format!("ORG#bench-{org:05}");
    let body = "x".repeat(900);
    let put = |pk: &str, sk: &str| {
        TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(table)
                    .item("PK", s(pk))
                    .item("SK", s(sk))
                    .item("Body", s(&body))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let add = |pk: &str, sk: &str| {
        TransactWriteItem::builder()
            .update(
                Update::builder()
                    .table_name(table)
                    .key("PK", s(pk))
                    .key("SK", s(sk))
                    .update_expression("ADD Rev :one")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .build()
                    .unwrap(),
            )
            .build()
    };
    let mut items = vec![
        put(&pk, "CLAIM#c"),
        add(&pk, "VERSION"),
        put(&format!("AUDIT#bench-{org:05}"), &format!("{n:020}")),
    ];
    match variant {
        Variant::NoFeed => {}
        Variant::Outbox => items.push(put("OUTBOX", &format!("bench-{org:05}#{n:020}"))),
        Variant::Counter => items.push(add("FEED", "COUNTER")),
    }
    items
}

async fn contention() {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_err() {
        println!("(AWS_ENDPOINT_URL_DYNAMODB not set: contention skipped)");
        return;
    }
    let store = directory_tests::dynamodb_store().await;
    let (client, table) = (store.client().clone(), store.table().to_owned());
    println!("contention: {PER_WRITER} transactions per writer, each writer its own organisation");
    for writers in [1usize, 4, 16] {
        let mut base = None;
        for variant in [Variant::NoFeed, Variant::Outbox, Variant::Counter] {
            let conflicts = Arc::new(AtomicU64::new(0));
            let started = Instant::now();
            let tasks: Vec<_> = (0..writers)
                .map(|w| {
                    let (client, table, conflicts) = (client.clone(), table.clone(), conflicts.clone());
                    tokio::spawn(async move {
                        let mut samples = Vec::with_capacity(PER_WRITER);
                        for n in 0..PER_WRITER {
                            let t = Instant::now();
                            // Retried on conflict, as the store's writes are.
                            loop {
                                let items = transaction(&table, variant, w, n);
                                match client
                                    .transact_write_items()
                                    .set_transact_items(Some(items))
                                    .send()
                                    .await
                                {
                                    Ok(_) => break,
                                    Err(e) => {
                                        let text = format!("{:?}", e.into_service_error());
                                        assert!(text.contains("Conflict") || text.contains("Canceled"), "{text}");
                                        conflicts.fetch_add(1, Ordering::Relaxed);
                                        tokio::time::sleep(Duration::from_millis(fastrand_ms(w, n))).await;
                                    }
                                }
                            }
                            samples.push(t.elapsed());
                        }
                        samples
                    })
                })
                .collect();
            let mut samples = Vec::new();
            for t in tasks {
                samples.extend(t.await.unwrap());
            }
            let secs = started.elapsed().as_secs_f64();
            let rate = samples.len() as f64 / secs;
            let ratio = base.map_or(String::new(), |b: f64| {
                format!(", {:.2}× the rate without the feed", rate / b)
            });
            base.get_or_insert(rate);
            println!(
                "  {writers:>2} writers, {variant:?}: {rate:.0} tx/s{ratio}, {} conflicts retried; {}",
                conflicts.load(Ordering::Relaxed),
                summary(samples)
            );
        }
    }
}

/// A small back-off that differs between writers.
fn fastrand_ms(w: usize, n: usize) -> u64 {
    5 + ((w * 7 + n * 13) % 20) as u64
}

async fn visible_on<S: Store>(label: &str, store: &S) {
    let orgs = generated_organisations(50);
    for o in &orgs {
        store.replace_organisation(o).await.unwrap();
    }
    sequence(store).await.unwrap();
    let mut samples = Vec::new();
    // Each write flips the claim's status, so each one changes the public record.
    let mut statuses: Vec<ResourceStatus> = orgs.iter().map(|o| o.org_domain_role_claims[0].status).collect();
    for round in 0..100 {
        let k = round % orgs.len();
        let org = &orgs[k];
        let id = OrganisationId::stored(org.id());
        let claim = ClaimId::stored(org.org_domain_role_claims[0].organisation_authority_claim_id.clone());
        let before = store.feed_head().await.unwrap().unwrap_or_default().revision;
        let status = flipped(statuses[k]);
        statuses[k] = status;
        store
            .update_authority_claim(&id, &claim, set_status(status))
            .await
            .unwrap();
        let committed = Instant::now();
        loop {
            sequence(store).await.unwrap();
            let p = page(store, before, 100).await.unwrap();
            if p.changes.iter().any(|c| c.organisation_id == org.id()) {
                break;
            }
        }
        samples.push(committed.elapsed());
    }
    println!(
        "visible, {label}: write committed -> in the changes page: {}",
        summary(samples)
    );
}

async fn visible() {
    let (store, _dir) = embedded_store();
    visible_on("embedded", &store).await;
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok() {
        let store = directory_tests::dynamodb_store().await;
        visible_on("DynamoDB Local (the stream's delivery not included)", &store).await;
    }
}

fn response_bytes(resp: &lambda_http::Response<lambda_http::Body>) -> (usize, usize) {
    let headers: usize = resp
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum::<usize>()
        + "HTTP/1.1 200 OK\r\n\r\n".len();
    (headers, resp.body().len())
}

fn changes_request(since: u64, etag: Option<&str>) -> lambda_http::Request {
    let mut builder = lambda_http::http::Request::builder()
        .method("GET")
        .uri(format!("https://directory.example/participants/changes?since={since}"))
        .header("accept", "application/json");
    if let Some(e) = etag {
        builder = builder.header("if-none-match", e);
    }
    let req: lambda_http::Request = builder.body(lambda_http::Body::Empty).unwrap();
    use lambda_http::RequestExt;
    let query: std::collections::HashMap<String, String> = [("since".to_owned(), since.to_string())].into();
    req.with_query_string_parameters(query)
}

async fn bytes() {
    let (store, _dir) = embedded_store();
    let n = 10_000;
    let started = Instant::now();
    let orgs = generated_organisations(n);
    for o in &orgs {
        store.replace_organisation(o).await.unwrap();
    }
    sequence(&store).await.unwrap();
    println!(
        "bytes: {n} organisations stored and sequenced in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let keys = tempfile::tempdir().unwrap();
    let services = Signed {
        store,
        signer: directory_embedded::LocalSigner::open_or_create(keys.path()).unwrap(),
    };
    let store = &services.store;
    let route = &routes::PARTICIPANT_CHANGES;
    let mut since = store.feed_head().await.unwrap().unwrap_or_default().revision;
    let (mut file_total, mut feed_total, mut pages) = (0usize, 0usize, 0usize);
    for k in 0..10 {
        let org = &orgs[k * 997 % n];
        let id = OrganisationId::stored(org.id());
        let claim = ClaimId::stored(org.org_domain_role_claims[0].organisation_authority_claim_id.clone());
        let status = flipped(org.org_domain_role_claims[0].status);
        store
            .update_authority_claim(&id, &claim, set_status(status))
            .await
            .unwrap();
        sequence(store).await.unwrap();
        let head = store.feed_head().await.unwrap().unwrap_or_default().revision;
        file_total += file_at(store, head).await.unwrap().len();
        loop {
            let resp = dispatch(route, &services, changes_request(since, None)).await;
            assert_eq!(resp.status(), 200);
            let (h, b) = response_bytes(&resp);
            feed_total += h + b;
            pages += 1;
            let body: serde_json::Value = serde_json::from_slice(resp.body()).unwrap();
            since = body["Revision"].as_u64().unwrap();
            if !body["More"].as_bool().unwrap() {
                break;
            }
        }
    }
    println!(
        "bytes: 10 changes at {n} organisations: whole file each time {:.1} MB, changes pages {:.1} KB ({pages} pages, headers included): {:.0}× less",
        file_total as f64 / 1e6,
        feed_total as f64 / 1e3,
        file_total as f64 / feed_total as f64
    );
    // The poll with nothing new: the first answer at the head, then 304s.
    let first = dispatch(route, &services, changes_request(since, None)).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let mut samples = Vec::new();
    let mut size = (0, 0);
    for _ in 0..1000 {
        let t = Instant::now();
        let resp = dispatch(route, &services, changes_request(since, Some(&etag))).await;
        samples.push(t.elapsed());
        assert_eq!(resp.status(), 304);
        size = response_bytes(&resp);
    }
    println!(
        "no-change poll (304): {} bytes of headers, {} of body; handler time {}",
        size.0,
        size.1,
        summary(samples)
    );
}

#[tokio::main]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if what == "all" || what == "contention" {
        contention().await;
    }
    if what == "all" || what == "visible" {
        visible().await;
    }
    if what == "all" || what == "bytes" {
        bytes().await;
    }
}
