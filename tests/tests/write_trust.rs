//! Who may change what, the audit trail and bounded errors, through the real
//! handlers on both stores: a participant cannot grant itself a role, every accepted
//! write leaves exactly one audit record written with it, a write that fails leaves
//! neither change nor record, private flags stay private.

use directory_usecases::prelude::*;

use directory_domain::audit::AuditRecord;
use directory_domain::ids::OrganisationId;
use directory_domain::model::{OrganisationSnapshot, ResourceStatus};
use directory_embedded::LocalDirTarget;
use directory_http::handlers::{organisation_snapshot, put_authority_claim};
use directory_tests::{both_stores, demo_bytes, event_fixture};
use directory_usecases::import;
use directory_usecases::ports::Store;
use lambda_http::{Body, Response};
use serde_json::{Value, json};

const AURORA: &str = "c5de3366-d2fb-5b13-9457-76244d8fd242";
const VALE_VERDE: &str = "34e0b251-3677-5c59-8bc9-dc3a3e92a907";
const VALE_VERDE_CLAIM: &str = "b55bd9a3-5b75-5205-b106-a82e8d437350";
const BCB: &str = "a2aa96ec-f48b-5767-b62c-f2e981e14f52";

/// A claim PUT event for `org`/`claim` with `body`, by a caller of `org` with `scope`.
fn put_event(org: &str, claim: &str, scope: &str, body: &Value) -> String {
    let mut e = event_fixture("put-authority-claim", "200-update");
    e["pathParameters"] = json!({"OrganisationId": org, "OrganisationAuthorityClaimId": claim});
    e["rawPath"] = json!(format!("/organisations/{org}/authorityclaims/{claim}"));
    directory_tests::set_jwt_scope(&mut e, scope);
    let claims = &mut e["requestContext"]["authorizer"]["jwt"]["claims"];
    claims["organisation_id"] = json!(org);
    claims["sub"] = json!("alice@vale-verde");
    e["body"] = json!(body.to_string());
    e.to_string()
}

async fn put<S: Store>(store: &S, event: String) -> Response<Body> {
    put_authority_claim::handle(store, lambda_http::request::from_str(&event).unwrap()).await
}

fn json_body(r: &Response<Body>) -> Value {
    serde_json::from_slice(r.body().as_ref()).unwrap()
}

async fn audit_of<S: Store>(store: &S, org: &str) -> Vec<AuditRecord> {
    store
        .audit_records(Some(&OrganisationId::from(org)), None)
        .await
        .unwrap()
}

async fn state<S: Store>(store: &S, org: &str) -> (Option<OrganisationSnapshot>, Vec<AuditRecord>) {
    (
        store.snapshot(&OrganisationId::from(org)).await.unwrap(),
        audit_of(store, org).await,
    )
}

/// The issue's scenario: an Inactive DADOS claim cannot become an Active PAGTO one
/// with a plain write token, nor change authority; deactivating and the writable
/// fields are fine; an admin may do everything and a new role clears Authorisations.
async fn who_may_change_what<S: Store>(store: S) {
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let before = state(&store, VALE_VERDE).await;
    assert_eq!(before.1.len(), 1, "the import of a new organisation is audited");
    assert_eq!(before.1[0].action, "import");
    let attempts = [
        json!({"AuthorityId": BCB, "Status": "Active", "AuthorisationDomain": "Open Finance", "Role": "PAGTO"}),
        json!({"AuthorityId": BCB, "Status": "Active", "RegistrationId": "BR-1003"}),
        json!({"AuthorityId": "424fb1ca-17f1-5414-b523-db6cd06ccaed", "Status": "Inactive"}),
        json!({"AuthorityId": BCB, "Status": "Inactive", "AuthorisationDomainRoleIdentifier": "ffccd758-b703-57dd-8097-7f26a183bf7e"}),
    ];
    for body in &attempts {
        let r = put(
            &store,
            put_event(VALE_VERDE, VALE_VERDE_CLAIM, "directory:read directory:write", body),
        )
        .await;
        assert_eq!(r.status(), 403, "{body}: {}", json_body(&r));
        assert_eq!(
            state(&store, VALE_VERDE).await,
            before,
            "{body}: a refused write changes nothing"
        );
    }
    // The writable fields, the current values sent back: allowed and audited.
    let ok = json!({"AuthorityId": BCB, "Status": "Inactive", "RegistrationId": "BR-1003-B",
        "AuthorisationDomain": "Open Finance", "Role": "DADOS", "UniqueTechnicalIdentifiers": ["api.valeverde.coop.br"]});
    let r = put(&store, put_event(VALE_VERDE, VALE_VERDE_CLAIM, "directory:write", &ok)).await;
    assert_eq!(r.status(), 200, "{}", json_body(&r));
    let records = audit_of(&store, VALE_VERDE).await;
    assert_eq!(records.len(), 2, "exactly one audit record more, newest first");
    let rec = &records[0];
    assert_eq!(rec.sub.as_deref(), Some("alice@vale-verde"));
    assert_eq!(rec.organisation_id.as_deref(), Some(VALE_VERDE));
    assert_eq!(rec.action, "put-authority-claim");
    assert_eq!(rec.target["OrganisationAuthorityClaimId"], VALE_VERDE_CLAIM);
    assert_eq!(
        rec.interaction_id.as_deref(),
        Some("73cac523-d3ae-2289-b106-330a6218710d")
    );
    let fields: Vec<&str> = rec.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["RegistrationId", "UniqueTechnicalIdentifiers"]);
    assert_eq!(rec.changes[0].before, json!("BR-1003"));
    assert_eq!(rec.changes[0].after, json!("BR-1003-B"));
    // The audit record is not part of what the snapshot or claims list return.
    let snapshot = store
        .snapshot(&OrganisationId::from(VALE_VERDE))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(snapshot.org_domain_role_claims.len(), 1);

    // An admin activates and changes the role: the old grants go.
    let aurora_claim = "1f34af8a-3d2e-59ad-8d72-64b8c04e5c12";
    let had = store
        .authority_claims(&OrganisationId::from(AURORA))
        .await
        .unwrap()
        .unwrap();
    assert!(
        !had.iter()
            .find(|c| c.organisation_authority_claim_id == aurora_claim)
            .unwrap()
            .authorisations
            .is_empty()
    );
    let admin = json!({"AuthorityId": BCB, "Status": "Active", "AuthorisationDomain": "Open Finance", "Role": "DADOS"});
    let r = put(&store, put_event(AURORA, aurora_claim, "directory:admin", &admin)).await;
    assert_eq!(r.status(), 200, "{}", json_body(&r));
    assert_eq!(json_body(&r)["Role"], "DADOS");
    assert_eq!(
        json_body(&r)["Authorisations"],
        json!([]),
        "a new role clears Authorisations"
    );
    // Deactivating one's own claim needs no admin.
    let off = json!({"AuthorityId": BCB, "Status": "Inactive", "AuthorisationDomain": "Open Finance", "Role": "DADOS"});
    let r = put(&store, put_event(AURORA, aurora_claim, "directory:write", &off)).await;
    assert_eq!(r.status(), 200, "{}", json_body(&r));
    let claims = store
        .authority_claims(&OrganisationId::from(AURORA))
        .await
        .unwrap()
        .unwrap();
    let claim = claims
        .iter()
        .find(|c| c.organisation_authority_claim_id == aurora_claim)
        .unwrap();
    assert_eq!(claim.status, ResourceStatus::Inactive);
    assert_eq!(audit_of(&store, AURORA).await.len(), 3, "import and two PUTs");
    // since: a time after both records finds none.
    let later = directory_domain::audit::parse_time("2999-01-01T00:00:00Z").unwrap();
    assert!(
        store
            .audit_records(Some(&OrganisationId::from(AURORA)), Some(&later))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Imports leave one record per organisation they change, none when nothing
/// changes; an export publish leaves one directory-wide record, an unchanged run none.
async fn imports_and_exports_are_audited<S: Store>(store: S) {
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let first = audit_of(&store, AURORA).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].action, "import");
    assert!(
        first[0].changes.iter().any(|c| c.field == "ORG"),
        "{:?}",
        first[0].changes
    );
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    assert_eq!(audit_of(&store, AURORA).await.len(), 1, "re-import changes nothing");
    let mut org = store.snapshot(&OrganisationId::from(AURORA)).await.unwrap().unwrap();
    org.organisation_details.organisation_name = Some("Banco Aurora S.A.".into());
    store.replace_organisation(&org).await.unwrap();
    let records = audit_of(&store, AURORA).await;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].changes.len(), 1, "newest first: {:?}", records[0].changes);
    assert_eq!(records[0].changes[0].field, "ORG.OrganisationName");

    let dir = tempfile::tempdir().unwrap();
    let target = LocalDirTarget::new(dir.path().to_path_buf(), directory_tests::signer());
    directory_usecases::export::run(&store, &target, &mut |_| {})
        .await
        .unwrap();
    directory_usecases::export::run(&store, &target, &mut |_| {})
        .await
        .unwrap();
    let published = store.audit_records(None, None).await.unwrap();
    assert_eq!(published.len(), 1, "the unchanged second run leaves no record");
    assert_eq!(published[0].changes[0].field, "participants");
    assert!(published[0].changes[0].after.as_str().unwrap().starts_with("sha256:"));
}

/// Flags above AccessLevel 1 are for admins only; a participant still sees its
/// level 0 and 1 flags.
async fn flags_follow_access_levels<S: Store>(store: S) {
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let stored = store.snapshot(&OrganisationId::from(AURORA)).await.unwrap().unwrap();
    let levels = |s: &OrganisationSnapshot| -> Vec<Option<u32>> {
        s.organisation_details
            .flags
            .iter()
            .chain(s.authorisation_servers.iter().flat_map(|a| a.flags.iter()))
            .map(|f| f.access_level)
            .collect()
    };
    assert!(
        levels(&stored).iter().any(|l| l.is_some_and(|l| l >= 2)),
        "the demo has private flags"
    );
    let get = |scope: &str| {
        let mut e = event_fixture("get-organisation-snapshot", "200-own-organisation");
        directory_tests::set_jwt_scope(&mut e, scope);
        e.to_string()
    };
    let own =
        organisation_snapshot::handle(&store, lambda_http::request::from_str(&get("directory:read")).unwrap()).await;
    let own: OrganisationSnapshot = serde_json::from_slice(own.body().as_ref()).unwrap();
    assert!(
        levels(&own).iter().all(|l| l.is_some_and(|l| l <= 1)),
        "{:?}",
        levels(&own)
    );
    assert!(!levels(&own).is_empty());
    let admin =
        organisation_snapshot::handle(&store, lambda_http::request::from_str(&get("directory:admin")).unwrap()).await;
    let admin: OrganisationSnapshot = serde_json::from_slice(admin.body().as_ref()).unwrap();
    assert_eq!(admin, stored);
}

/// Flags of every level (0–3 and none) at each place the import format has them, and
/// a client secret: a participant sees its level 0 and 1 flags everywhere, an admin
/// every flag, the file only Active level-0 ones, and nobody the secret, which the
/// import does not store and no audit record holds (nor one stored before that rule).
async fn flags_and_secrets_at_every_place<S: Store>(store: S) {
    const SECRET: &str = "s3cr3t-9f2c-do-not-show";
    let flags = json!([
        {"Name": "L0", "Value": "a", "Status": "Active", "AccessLevel": 0},
        {"Name": "L1", "Value": "b", "Status": "Active", "AccessLevel": 1},
        {"Name": "L2", "Value": "c", "Status": "Active", "AccessLevel": 2},
        {"Name": "L3", "Value": "d", "Status": "Active", "AccessLevel": 3},
        {"Name": "NoLevel", "Value": "e", "Status": "Active"}
    ]);
    let mut file: Value = serde_json::from_slice(&demo_bytes()).unwrap();
    let org = file["Organisations"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|o| o["OrganisationDetails"]["OrganisationId"] == AURORA)
        .unwrap();
    org["OrganisationDetails"]["Flags"] = flags.clone();
    org["AuthorisationServers"][0]["Flags"] = flags.clone();
    let statements = org["SoftwareStatements"].as_object_mut().unwrap();
    let ss_id = statements.keys().next().unwrap().clone();
    let details = &mut statements[&ss_id]["SoftwareDetails"];
    details["Flags"] = flags.clone();
    details["ClientSecret"] = json!(SECRET);
    details["TokenEndpointAuthMethod"] = json!("client_secret_basic");
    import::import(&store, &serde_json::to_vec(&file).unwrap(), |_, _| {})
        .await
        .unwrap();

    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["Name"].as_str().unwrap().to_owned())
            .collect()
    };
    let places = |body: &Value| {
        [
            names(&body["OrganisationDetails"]["Flags"]),
            names(&body["AuthorisationServers"][0]["Flags"]),
            names(&body["SoftwareStatements"][&ss_id]["SoftwareDetails"]["Flags"]),
        ]
    };
    let get = |scope: &str| {
        let mut e = event_fixture("get-organisation-snapshot", "200-own-organisation");
        e["pathParameters"]["OrganisationId"] = json!(AURORA);
        e["rawPath"] = json!(format!("/organisations/{AURORA}/snapshot"));
        directory_tests::set_jwt_scope(&mut e, scope);
        e["requestContext"]["authorizer"]["jwt"]["claims"]["organisation_id"] = json!(AURORA);
        e.to_string()
    };
    let read = |scope: &'static str| {
        let store = &store;
        let event = get(scope);
        async move {
            let r = organisation_snapshot::handle(store, lambda_http::request::from_str(&event).unwrap()).await;
            assert_eq!(r.status(), 200, "{scope}");
            let text = String::from_utf8(r.body().to_vec()).unwrap();
            assert!(!text.contains(SECRET), "{scope}: the secret was returned");
            serde_json::from_str::<Value>(&text).unwrap()
        }
    };
    let member = read("directory:read").await;
    for place in places(&member) {
        assert_eq!(place, ["L0", "L1"]);
    }
    let admin = read("directory:admin").await;
    for place in places(&admin) {
        assert_eq!(place, ["L0", "L1", "L2", "L3", "NoLevel"]);
    }
    let details = &admin["SoftwareStatements"][&ss_id]["SoftwareDetails"];
    assert!(details.get("ClientSecret").is_none());
    assert_eq!(details["TokenEndpointAuthMethod"], "client_secret_basic");
    // Not stored at all.
    let stored = store.snapshot(&OrganisationId::from(AURORA)).await.unwrap().unwrap();
    assert!(!serde_json::to_string(&stored).unwrap().contains(SECRET));
    // The file: Active level-0 flags only, at both places it has flags.
    let dir = tempfile::tempdir().unwrap();
    let target = LocalDirTarget::new(dir.path().to_owned(), directory_tests::signer());
    directory_usecases::export::run(&store, &target, &mut |_| {})
        .await
        .unwrap();
    let published: Value = serde_json::from_slice(&std::fs::read(dir.path().join("participants")).unwrap()).unwrap();
    let entry = published
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["OrganisationId"] == AURORA)
        .unwrap();
    assert_eq!(entry["Flags"], json!({"L0": ["a"]}));
    assert_eq!(entry["AuthorisationServers"][0]["Flags"], json!({"L0": ["a"]}));
    // Data stored before the rule (written past the import): never read back, and
    // its removal is audited without the value.
    let mut old = stored.clone();
    old.software_statements[&ss_id]["SoftwareDetails"]["ClientSecret"] = json!(SECRET);
    store.replace_organisation(&old).await.unwrap();
    let admin = read("directory:admin").await;
    assert!(
        admin["SoftwareStatements"][&ss_id]["SoftwareDetails"]
            .get("ClientSecret")
            .is_none()
    );
    import::import(&store, &serde_json::to_vec(&file).unwrap(), |_, _| {})
        .await
        .unwrap();
    let records = audit_of(&store, AURORA).await;
    assert!(records.len() >= 3, "{}", records.len());
    for r in &records {
        assert!(
            !r.to_json().contains(SECRET),
            "the secret is in an audit record: {}",
            r.to_json()
        );
    }
}

/// A 1 MiB body of 100,000 identifiers gets a small 400, not a flood.
async fn error_bodies_stay_small<S: Store>(store: S) {
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let ids: Vec<String> = (0..100_000).map(|i| format!("{i}")).collect();
    let body = json!({"AuthorityId": BCB, "Status": "Inactive", "UniqueTechnicalIdentifiers": ids, "RegistrationId": "x".repeat(300)});
    let bad: Vec<Value> = (0..16).map(|i| json!(format!("<{i}>"))).collect();
    let r = put(
        &store,
        put_event(VALE_VERDE, VALE_VERDE_CLAIM, "directory:write", &body),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert!(r.body().len() < 4 * 1024, "{} bytes", r.body().len());
    // Many violations: at most 50 messages and one "and N more".
    let many = json!({"AuthorityId": BCB, "Status": "Inactive", "UniqueTechnicalIdentifiers": bad,
        "RegistrationId": "<".repeat(41), "Role": "<", "AuthorisationDomain": "<"});
    let r = put(
        &store,
        put_event(VALE_VERDE, VALE_VERDE_CLAIM, "directory:write", &many),
    )
    .await;
    assert_eq!(r.status(), 400);
    let errors = json_body(&r)["errors"].as_array().unwrap().len();
    assert!((17..=51).contains(&errors), "{errors}");
    assert!(r.body().len() < 64 * 1024);
}

both_stores!(
    who_may_change_what,
    imports_and_exports_are_audited,
    flags_follow_access_levels,
    flags_and_secrets_at_every_place,
    error_bodies_stay_small,
);

/// The claim, its version guard and its audit record are one DynamoDB transaction:
/// when that transaction fails, there is neither a change nor an audit record (and
/// no other write call was made that could have left one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_claim_transaction_leaves_no_change_and_no_audit_record() {
    let (store, log) = directory_tests::counting_dynamodb_store().await;
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let ok = json!({"AuthorityId": BCB, "Status": "Inactive", "RegistrationId": "BR-1003-C"});
    // The same table through a client whose TransactWriteItems never arrives.
    let config = directory_aws::sdk_config().await;
    let failing = directory_aws::DynamoStore::new(
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&config)
                .interceptor(directory_tests::calls::FailOperation("TransactWriteItems"))
                .interceptor(log.clone())
                .build(),
        ),
        store.table(),
    );
    let before = state(&store, VALE_VERDE).await;
    log.take();
    let r = put(
        &failing,
        put_event(VALE_VERDE, VALE_VERDE_CLAIM, "directory:write", &ok),
    )
    .await;
    assert_eq!(r.status(), 500);
    assert_eq!(json_body(&r)["errors"], json!(["internal error"]));
    let calls = log.take();
    assert!(
        calls
            .iter()
            .all(|c| !matches!(c.as_str(), "PutItem" | "UpdateItem" | "BatchWriteItem")),
        "only the transaction writes: {calls:?}"
    );
    assert_eq!(state(&store, VALE_VERDE).await, before);
    // The same request through the working client: one transaction, one record.
    let r = put(&store, put_event(VALE_VERDE, VALE_VERDE_CLAIM, "directory:write", &ok)).await;
    assert_eq!(r.status(), 200);
    let calls = log.take();
    assert_eq!(
        calls.iter().filter(|c| c.as_str() == "TransactWriteItems").count(),
        1,
        "{calls:?}"
    );
    assert_eq!(audit_of(&store, VALE_VERDE).await.len(), 2, "import and the PUT");
}
