//! Handler latency (p50/p99) and store calls per request, in process, on the embedded
//! store and on DynamoDB Local (AWS_ENDPOINT_URL_DYNAMODB): snapshot, API resource,
//! claims list (500 claims, size 20 and 1000) and claim PUT with write units per PUT.

use directory_usecases::prelude::*;

use directory_aws::CapacityMeter;
use directory_bench::summary;
use directory_domain::routes;
use directory_http::{StoreOnly, dispatch};
use directory_tests::calls::CallLog;
use directory_tests::contract::{demo, exclusive_org};
use directory_tests::{demo_bytes, embedded_store, event_fixtures};
use directory_usecases::import;
use directory_usecases::ports::Store;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ROUNDS: usize = 300;

fn fixture(function: &str, name: &str) -> Value {
    let text = event_fixtures(function)
        .into_iter()
        .find(|(n, ..)| n == name)
        .expect("fixture")
        .2;
    serde_json::from_str(&text).unwrap()
}

async fn time<F, Fut>(mut f: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let mut samples = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS + 20 {
        let t = Instant::now();
        let status = f(i).await;
        assert!(status == 200, "status {status}");
        if i >= 20 {
            samples.push(t.elapsed());
        }
    }
    samples
}

async fn run<S: Store>(label: &str, services: &StoreOnly<S>, log: Option<&CallLog>, meter: Option<&CapacityMeter>) {
    let store = &services.0;
    import::import(store, &demo_bytes(), |_, _| {}).await.unwrap();
    let (reference, _) = demo();
    let mut big = exclusive_org(&reference, 500);
    big.organisation_details.organisation_id = "org-500-claims".into();
    for c in &mut big.org_domain_role_claims {
        c.organisation_id = Some("org-500-claims".into());
    }
    store.replace_organisation(&big).await.unwrap();

    let calls = |what: &str| {
        if let Some(log) = log {
            let c = log.take();
            println!(
                "  {what}: {} store call(s) per request: {:?}",
                c.len() / (ROUNDS + 20),
                c.first()
            );
        }
    };
    let snapshot = fixture("get-organisation-snapshot", "200-own-organisation").to_string();
    log.map(CallLog::take);
    let s = time(|_| async {
        dispatch(
            &routes::ORGANISATION_SNAPSHOT,
            services,
            lambda_http::request::from_str(&snapshot).unwrap(),
        )
        .await
        .status()
        .as_u16()
    })
    .await;
    println!("{label} snapshot GET: {}", summary(s));
    calls("snapshot");
    let resource = fixture("get-api-resource", "200-any-organisation").to_string();
    let s = time(|_| async {
        dispatch(
            &routes::API_RESOURCE,
            services,
            lambda_http::request::from_str(&resource).unwrap(),
        )
        .await
        .status()
        .as_u16()
    })
    .await;
    println!("{label} API resource GET: {}", summary(s));
    calls("api resource");
    for size in [20, 1000] {
        let mut e = fixture("get-authority-claims", "200-own-organisation");
        e["pathParameters"] = json!({"OrganisationId": "org-500-claims"});
        e["rawQueryString"] = json!(format!("size={size}"));
        directory_tests::set_jwt_scope(&mut e, "directory:admin");
        let text = e.to_string();
        let s = time(|_| async {
            dispatch(
                &routes::AUTHORITY_CLAIMS,
                services,
                lambda_http::request::from_str(&text).unwrap(),
            )
            .await
            .status()
            .as_u16()
        })
        .await;
        println!("{label} claims list, 500 claims, size={size}: {}", summary(s));
        calls("claims list");
    }
    let put = fixture("put-authority-claim", "200-update");
    let before = meter.map(|m| m.write_units());
    let s = time(|i| {
        let mut e = put.clone();
        let mut body: Value = serde_json::from_str(e["body"].as_str().unwrap()).unwrap();
        body["RegistrationId"] = json!(format!("REG-{i}"));
        e["body"] = json!(body.to_string());
        let text = e.to_string();
        async move {
            dispatch(
                &routes::PUT_AUTHORITY_CLAIM,
                services,
                lambda_http::request::from_str(&text).unwrap(),
            )
            .await
            .status()
            .as_u16()
        }
    })
    .await;
    println!("{label} claim PUT: {}", summary(s));
    calls("claim PUT");
    if let (Some(m), Some(b)) = (meter, before) {
        println!(
            "  write capacity units per PUT: {:.2}",
            (m.write_units() - b) / (ROUNDS + 20) as f64
        );
    }
}

#[tokio::main]
async fn main() {
    let (store, _dir) = embedded_store();
    let services = StoreOnly(store);
    run("embedded", &services, None, None).await;
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok() {
        let meter = CapacityMeter::default();
        let (store, log) = directory_tests::metered_dynamodb_store(Some(meter.clone())).await;
        let services = StoreOnly(store);
        run("dynamodb-local", &services, Some(&log), Some(&meter)).await;
    } else {
        println!("(AWS_ENDPOINT_URL_DYNAMODB not set: DynamoDB Local figures skipped)");
    }
}
