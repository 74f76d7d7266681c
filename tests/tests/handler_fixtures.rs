//! Every API Gateway v2 event fixture under tests/events/<function>/ goes through
//! `lambda_http`'s event parser and the function's handler, on the embedded store
//! and on DynamoDB Local. The file name starts with the expected status. Rejected
//! requests must leave the organisation unchanged; DynamoDB calls are counted.

use directory_domain::ids::OrganisationId;
use directory_domain::model::*;
use directory_domain::routes;
use directory_embedded::LocalDirTarget;
use directory_http::handlers::{Services, dispatch};
use directory_tests::calls::CallLog;
use directory_tests::{counting_dynamodb_store, demo_bytes, embedded_store, event_fixtures};
use directory_usecases::export::ObjectTarget;
use directory_usecases::import;
use directory_usecases::ports::Store;
use lambda_http::{Body, Response};
use serde_json::Value;

/// Through the one dispatcher, by the function's row of the route table.
async fn call<S: Store, T: ObjectTarget>(services: &Services<S, T>, function: &str, event: &str) -> Response<Body> {
    let req = lambda_http::request::from_str(event).expect("fixture is an API Gateway v2 event");
    let route = routes::by_name(function).unwrap_or_else(|| panic!("no route row for {function}"));
    dispatch(&route, services, req).await
}

fn body_json(resp: &Response<Body>) -> Value {
    let mut bytes = resp.body().to_vec();
    if resp.headers().get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut plain = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut plain).unwrap();
        bytes = plain;
    }
    serde_json::from_slice(&bytes).expect("JSON body")
}

/// Checks a Trust Anchor fixture's response: the specification's media types and
/// error shape (OpenID Federation 1.0 §8.9), not this API's `errors` list.
fn check_federation(name: &str, status: u16, resp: &Response<Body>, event: &Value) -> Value {
    let text = String::from_utf8_lossy(resp.body().as_ref()).into_owned();
    assert_eq!(resp.status().as_u16(), status, "federation/{name}: {text}");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{name}");
    assert_eq!(
        resp.headers()["x-fapi-interaction-id"],
        event["headers"]["x-fapi-interaction-id"].as_str().unwrap(),
        "{name}"
    );
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_owned();
    if status >= 400 || content_type == "application/json" {
        assert_eq!(content_type, "application/json", "{name}");
        let body: Value = serde_json::from_str(&text).unwrap();
        if status >= 400 {
            assert!(
                body["error"].is_string() && body["error_description"].is_string(),
                "{name}: {body}"
            );
        }
        return body;
    }
    let claims = directory_domain::jwt::decode(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        content_type,
        format!("application/{}", claims.header["typ"].as_str().unwrap()),
        "{name}"
    );
    Value::Object(claims.claims)
}

/// Checks one fixture's response shape; returns the body.
fn check(function: &str, name: &str, status: u16, resp: &Response<Body>, event: &Value) -> Value {
    if function == "federation" {
        return check_federation(name, status, resp, event);
    }
    assert_eq!(
        resp.status().as_u16(),
        status,
        "{function}/{name}: {}",
        String::from_utf8_lossy(resp.body().as_ref())
    );
    assert_eq!(resp.headers()["content-type"], "application/json", "{function}/{name}");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff", "{function}/{name}");
    if function != "get-open-data-export" || status >= 400 {
        assert_eq!(resp.headers()["cache-control"], "no-store", "{function}/{name}");
    }
    let sent = event["headers"]["x-fapi-interaction-id"].as_str().unwrap();
    let got = resp.headers()["x-fapi-interaction-id"].to_str().unwrap();
    if name.contains("bad-interaction-id") {
        assert_ne!(got, sent, "an invalid interaction id is never echoed");
        assert!(uuid::Uuid::parse_str(got).is_ok());
    } else {
        assert_eq!(got, sent, "{function}/{name}: interaction id echoed");
    }
    let body = body_json(resp);
    if status >= 400 {
        let errors = body["errors"]
            .as_array()
            .unwrap_or_else(|| panic!("{function}/{name}: {body}"));
        assert!(!errors.is_empty() && errors.iter().all(|e| e.as_str().is_some_and(|s| !s.is_empty())));
        if function == "put-authority-claim" && name.starts_with("403-write-scope") {
            // Each field the caller may not change is named, and nothing else.
            assert!(
                errors
                    .iter()
                    .all(|e| e.as_str().unwrap().ends_with(": changing it needs directory:admin")),
                "{name}: {body}"
            );
        }
        if name == "403-write-scope-grants-itself-pagto" {
            assert_eq!(
                body["errors"],
                serde_json::json!([
                    "Role: changing it needs directory:admin",
                    "Status: changing it needs directory:admin"
                ])
            );
        }
    } else {
        match function {
            "get-organisation-snapshot" => drop(serde_json::from_value::<OrganisationSnapshot>(body.clone()).unwrap()),
            "get-api-resource" => {
                let r: ApiResourceResponse = serde_json::from_value(body.clone()).unwrap();
                assert_eq!(
                    r.api_resource_id,
                    event["pathParameters"]["ApiResourceId"].as_str().unwrap()
                );
                let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
                assert!(!keys.iter().any(|k| *k == "ApiMetadata"), "only documented fields");
                assert!(
                    !r.api_discovery_endpoints.is_empty(),
                    "the resource's discovery endpoints are part of the answer: {body}"
                );
            }
            "get-authority-claims" => drop(serde_json::from_value::<Vec<AuthorityClaim>>(body.clone()).unwrap()),
            "put-authority-claim" => drop(serde_json::from_value::<AuthorityClaim>(body.clone()).unwrap()),
            _ => {}
        }
    }
    body
}

async fn run_fixtures<S: Store, T: ObjectTarget>(services: &Services<S, T>, function: &str, log: Option<&CallLog>) {
    directory_tests::install_federation_kit();
    let store = &services.store;
    import::import(store, &demo_bytes(), |_, _| {}).await.unwrap();
    let fixtures = event_fixtures(function);
    assert!(fixtures.len() >= 5, "{function}: too few fixtures");
    for (name, status, text) in fixtures {
        let event: Value = serde_json::from_str(&text).unwrap();
        let org = event["pathParameters"]["OrganisationId"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let before = store.snapshot(&OrganisationId::from(&org)).await.unwrap();
        if let Some(log) = log {
            log.take();
        }
        let resp = call(services, function, &text).await;
        let calls = log.map(CallLog::take);
        let body = check(function, &name, status, &resp, &event);
        if status != 200 {
            assert_eq!(
                store.snapshot(&OrganisationId::from(&org)).await.unwrap(),
                before,
                "{function}/{name} changed data"
            );
        }
        match (function, status, &calls) {
            ("get-organisation-snapshot", 200, Some(c)) => {
                assert_eq!(c, &["Query"], "{name}: one Query")
            }
            ("get-api-resource", 200 | 404, Some(c)) if !name.contains("longer-than") => {
                assert_eq!(c, &["GetItem"], "{name}: one GetItem")
            }
            ("get-authority-claims", 200, Some(c)) => {
                assert_eq!(c, &["Query"], "{name}: one Query")
            }
            // Two sequential round trips: the reference data and the version with the
            // claims (two Queries sent together), then the one transaction.
            ("put-authority-claim", 200, Some(c)) => {
                assert_eq!(c, &["Query", "Query", "TransactWriteItems"], "{name}: two round trips")
            }
            // A change that needs admin is refused inside the store's guard, after
            // reading the claim; every other 401/403/406 before any store call.
            ("put-authority-claim", 403, Some(c)) if name.starts_with("403-write-scope") => {
                assert!(
                    !c.iter().any(|op| op == "TransactWriteItems"),
                    "{name}: nothing written: {c:?}"
                )
            }
            // Whose subscription an id names is known only once it is read: one GetItem.
            ("subscriptions", 403, Some(c)) if name.contains("unknown") || name.contains("no-such") => {
                assert_eq!(c, &["GetItem"], "{name}: one read, nothing written")
            }
            (_, 401 | 403 | 406, Some(c)) => {
                assert!(c.is_empty(), "{name}: refused before any store call: {c:?}")
            }
            _ => {}
        }
        if function == "put-authority-claim" && status == 200 {
            // The change shows at once in the list and the snapshot.
            let claim_id = event["pathParameters"]["OrganisationAuthorityClaimId"]
                .as_str()
                .unwrap();
            let listed = store
                .authority_claims(&OrganisationId::from(&org))
                .await
                .unwrap()
                .unwrap();
            let stored = listed
                .iter()
                .find(|c| c.organisation_authority_claim_id == claim_id)
                .unwrap();
            assert_eq!(
                serde_json::to_value(stored).unwrap(),
                body,
                "{name}: the list shows the answer"
            );
            let snapshot = store.snapshot(&OrganisationId::from(&org)).await.unwrap().unwrap();
            assert_eq!(
                snapshot.org_domain_role_claims, listed,
                "{name}: the snapshot shows it too"
            );
        }
    }
}

macro_rules! fixture_tests {
    ($($test:ident => $function:literal),* $(,)?) => {
        mod embedded {
            use super::*;
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, dir) = embedded_store();
                    let target = LocalDirTarget::new(dir.path().join("exports"), directory_tests::signer());
                    run_fixtures(&Services { store, exports: target }, $function, None).await;
                }
            )*
        }
        mod dynamodb {
            use super::*;
            $(
                #[tokio::test]
                async fn $test() {
                    let (store, log) = counting_dynamodb_store().await;
                    let (client, bucket) = directory_tests::s3_bucket().await;
                    let target = directory_aws::S3Target::new(client, bucket, directory_tests::signer());
                    run_fixtures(&Services { store, exports: target }, $function, Some(&log)).await;
                }
            )*
        }
    };
}

fixture_tests!(
    organisation_snapshot => "get-organisation-snapshot",
    api_resource => "get-api-resource",
    authority_claims => "get-authority-claims",
    put_authority_claim => "put-authority-claim",
    open_data_export => "get-open-data-export",
    subscriptions => "subscriptions",
    federation => "federation",
    pin_federation_keys => "pin-federation-keys",
);
