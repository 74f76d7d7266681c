//! Simultaneous PUTs through the handler on DynamoDB Local that would jointly break
//! the exclusive-role rule: every answer is 200 or 400, the invariant holds, and
//! exactly the 200s are visible.

use directory_usecases::prelude::*;

use directory_domain::ids::OrganisationId;
use directory_http::handlers::put_authority_claim;
use directory_tests::contract::{demo, exclusive_org};
use directory_tests::{demo_bytes, dynamodb_store, event_fixtures};
use directory_usecases::import;
use serde_json::{Value, json};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_four_simultaneous_puts_keep_the_exclusive_rule() {
    let store = Arc::new(dynamodb_store().await);
    import::import(&*store, &demo_bytes(), |_, _| {}).await.unwrap();
    let (reference, _) = demo();
    let n = 24;
    let org = exclusive_org(&reference, n);
    store.replace_organisation(&org).await.unwrap();
    let template: Value = serde_json::from_str(
        &event_fixtures("put-authority-claim")
            .into_iter()
            .find(|(name, ..)| name == "200-update")
            .unwrap()
            .2,
    )
    .unwrap();
    let mut tasks = Vec::new();
    for claim in &org.org_domain_role_claims {
        let mut event = template.clone();
        let id = &claim.organisation_authority_claim_id;
        event["pathParameters"] = json!({"OrganisationId": "exclusive-org", "OrganisationAuthorityClaimId": id});
        event["rawPath"] = json!(format!("/organisations/exclusive-org/authorityclaims/{id}"));
        directory_tests::set_jwt_scope(&mut event, "directory:admin");
        event["body"] = json!(
            json!({
                "AuthorityId": claim.authority_id,
                "Status": "Active",
                "AuthorisationDomainRoleIdentifier": claim.authorisation_domain_role_identifier,
            })
            .to_string()
        );
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let req = lambda_http::request::from_str(&event.to_string()).unwrap();
            let resp = put_authority_claim::handle(&*store, req).await;
            (
                resp.status().as_u16(),
                String::from_utf8_lossy(resp.body().as_ref()).into_owned(),
            )
        }));
    }
    let mut ok = 0;
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => ok += 1,
            400 => assert!(body.contains("exclusive role rule"), "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    let claims = store
        .authority_claims(&OrganisationId::from("exclusive-org"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(directory_domain::claims::exclusive_rule_violation(&claims), None);
    assert_eq!(claims.iter().filter(|c| c.is_active()).count(), ok);
    assert!(ok == 1 || ok == n - 1, "{ok}");
}
