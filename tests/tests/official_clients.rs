//! What a client generated from the official Directory API document (Raidiam Connect
//! v1.3.7) sends and expects, through the real handlers on both stores: the claims
//! list without paging parameters is every claim, the PUT reads the document's
//! `UniqueTechnicalIdenifier` spelling instead of silently clearing the identifiers.

use directory_http::handlers::{authority_claims, put_authority_claim};
use directory_tests::{both_stores, demo_bytes, event_fixture};
use directory_usecases::import;
use directory_usecases::ports::Store;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

const VALE_VERDE: &str = "34e0b251-3677-5c59-8bc9-dc3a3e92a907";
const VALE_VERDE_CLAIM: &str = "b55bd9a3-5b75-5205-b106-a82e8d437350";
const BCB: &str = "a2aa96ec-f48b-5767-b62c-f2e981e14f52";
/// How many claims the organisation gets: more than a default page.
const CLAIMS: usize = 31;

/// The demo data with Vale Verde holding [`CLAIMS`] (non-exclusive DADOS) claims.
fn demo_with_many_claims() -> Vec<u8> {
    let mut file: Value = serde_json::from_slice(&demo_bytes()).unwrap();
    let orgs = file["Organisations"].as_array_mut().unwrap();
    let org = orgs
        .iter_mut()
        .find(|o| o["OrganisationDetails"]["OrganisationId"] == VALE_VERDE)
        .unwrap();
    let first = org["OrgDomainRoleClaims"][0].clone();
    let claims = org["OrgDomainRoleClaims"].as_array_mut().unwrap();
    for i in 1..CLAIMS {
        let mut claim = first.clone();
        claim["OrganisationAuthorityClaimId"] = json!(format!("00000000-0000-4000-8000-{i:012}"));
        claim["RegistrationId"] = json!(format!("BR-{i}"));
        claims.push(claim);
    }
    serde_json::to_vec(&file).unwrap()
}

fn body(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap()
}

/// GET the claims of Vale Verde with `query` (`name=value` pairs).
async fn list<S: Store>(store: &S, query: &[(&str, &str)]) -> Vec<String> {
    let mut e = event_fixture("get-authority-claims", "200-own-organisation");
    e["pathParameters"] = json!({"OrganisationId": VALE_VERDE});
    e["rawPath"] = json!(format!("/organisations/{VALE_VERDE}/authorityclaims"));
    e["requestContext"]["authorizer"]["jwt"]["claims"]["organisation_id"] = json!(VALE_VERDE);
    let raw: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    e["rawQueryString"] = json!(raw.join("&"));
    if !query.is_empty() {
        e["queryStringParameters"] = query.iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
    }
    let r = authority_claims::handle(store, lambda_http::request::from_str(&e.to_string()).unwrap()).await;
    assert_eq!(r.status(), 200, "{}", body(&r));
    body(&r)
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["OrganisationAuthorityClaimId"].as_str().unwrap().to_owned())
        .collect()
}

async fn claims_list_without_paging_is_every_claim<S: Store>(store: S) {
    import::import(&store, &demo_with_many_claims(), |_, _| {})
        .await
        .unwrap();
    let all = list(&store, &[]).await;
    assert_eq!(all.len(), CLAIMS, "no page or size: every claim");
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted, "in claim id order");
    assert_eq!(list(&store, &[("sort", "RegistrationId,desc")]).await.len(), CLAIMS);
    assert_eq!(list(&store, &[("page", "0")]).await, all[..20], "page alone: 20 a page");
    assert_eq!(list(&store, &[("page", "1")]).await, all[20..]);
    assert_eq!(list(&store, &[("size", "25")]).await, all[..25], "size alone: page 0");
    assert_eq!(list(&store, &[("page", "1"), ("size", "30")]).await, all[30..]);
}

async fn put<S: Store>(store: &S, claim_body: &Value) -> Response<Body> {
    let mut e = event_fixture("put-authority-claim", "200-update");
    e["pathParameters"] = json!({"OrganisationId": VALE_VERDE, "OrganisationAuthorityClaimId": VALE_VERDE_CLAIM});
    e["rawPath"] = json!(format!(
        "/organisations/{VALE_VERDE}/authorityclaims/{VALE_VERDE_CLAIM}"
    ));
    directory_tests::set_jwt_scope(&mut e, "directory:write");
    e["requestContext"]["authorizer"]["jwt"]["claims"]["organisation_id"] = json!(VALE_VERDE);
    e["body"] = json!(claim_body.to_string());
    put_authority_claim::handle(store, lambda_http::request::from_str(&e.to_string()).unwrap()).await
}

async fn the_documents_identifiers_spelling_is_read<S: Store>(store: S) {
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let base = json!({"AuthorityId": BCB, "Status": "Inactive", "RegistrationId": "BR-1003"});
    let with = |extra: Value| {
        let mut b = base.clone();
        b.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        b
    };

    let r = put(&store, &with(json!({"UniqueTechnicalIdenifier": ["api.vv.example"]}))).await;
    assert_eq!(r.status(), 200, "{}", body(&r));
    assert_eq!(body(&r)["UniqueTechnicalIdentifiers"], json!(["api.vv.example"]));

    let both_same = json!({"UniqueTechnicalIdenifier": ["b.example"], "UniqueTechnicalIdentifiers": ["b.example"]});
    let r = put(&store, &with(both_same)).await;
    assert_eq!(body(&r)["UniqueTechnicalIdentifiers"], json!(["b.example"]));

    let before = store.authority_claims(&VALE_VERDE.into()).await.unwrap().unwrap();
    let both_differ = json!({"UniqueTechnicalIdenifier": ["x.example"], "UniqueTechnicalIdentifiers": ["y.example"]});
    let r = put(&store, &with(both_differ)).await;
    assert_eq!(r.status(), 400);
    assert_eq!(
        body(&r),
        json!({"errors": ["UniqueTechnicalIdenifier: is an alias of UniqueTechnicalIdentifiers; give one of them, or both with the same value"]})
    );
    let r = put(&store, &with(json!({"UniqueTechnicalIdenifier": "not-a-list"}))).await;
    assert_eq!(
        body(&r),
        json!({"errors": ["UniqueTechnicalIdentifiers: must be an array, not a string"]})
    );
    let after = store.authority_claims(&VALE_VERDE.into()).await.unwrap().unwrap();
    assert_eq!(before, after, "a rejected write changes nothing");
}

both_stores!(
    claims_list_without_paging_is_every_claim,
    the_documents_identifiers_spelling_is_read
);
