//! Fault injection on DynamoDB Local: an organisation too large for one transaction
//! (about 250 items, several transactions) is imported by a process that stops after
//! each of its transactions in turn. Every reader (snapshot, public snapshot, claims,
//! API resource) still sees the old organisation whole, claim writes are refused
//! (so no decision is taken on, or lands in, a mix), and re-running the same import
//! finishes it.

use directory_usecases::prelude::*;

use directory_domain::ids::{ClaimId, OrganisationId, ResourceId, ServerId};
use directory_domain::model::{ApiResource, OrganisationSnapshot};
use directory_tests::contract::demo;
use directory_tests::{demo_bytes, dynamodb_store, stopping_dynamodb_store};
use directory_usecases::import;
use directory_usecases::ports::Store;
use directory_usecases::writes::ClaimWrite;

const VALE_VERDE: &str = "34e0b251-3677-5c59-8bc9-dc3a3e92a907";
const VALE_VERDE_CLAIM: &str = "b55bd9a3-5b75-5205-b106-a82e8d437350";

/// Vale Verde with `n` API resources named after `tag` on its first server.
fn large(n: usize, tag: &str) -> OrganisationSnapshot {
    let (_, orgs) = demo();
    let mut org = orgs.into_iter().find(|o| o.id() == VALE_VERDE).unwrap();
    let server = &mut org.authorisation_servers[0];
    let template = server.api_resources[0].clone();
    server.api_resources = (0..n)
        .map(|i| ApiResource {
            api_resource_id: format!("res-{tag}-{i:04}"),
            api_family_type: Some(format!("family-{tag}")),
            ..template.clone()
        })
        .collect();
    org
}

/// The public part of a snapshot, as the store reads it for the export.
fn public(org: &OrganisationSnapshot) -> OrganisationSnapshot {
    OrganisationSnapshot {
        organisation_details: org.organisation_details.clone(),
        authorisation_servers: org.authorisation_servers.clone(),
        org_domain_claims: org.org_domain_claims.clone(),
        org_domain_role_claims: org.org_domain_role_claims.clone(),
        ..Default::default()
    }
}

/// A claim write (of the claim as it is, so the organisation's content stays the
/// same): refused while an import is under way, applied otherwise.
async fn touch_claim<S: Store>(store: &S) -> ClaimWrite<String> {
    store
        .update_authority_claim(
            &OrganisationId::from(VALE_VERDE),
            &ClaimId::from(VALE_VERDE_CLAIM),
            |_, _, c| -> Result<_, String> { Ok(c.clone()) },
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_stopped_after_any_transaction_blocks_claim_writes_until_rerun() {
    let store = dynamodb_store().await;
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let old = large(240, "old");
    let new = large(245, "new");
    store.replace_organisation(&old).await.unwrap();
    let id = OrganisationId::from(VALE_VERDE);
    let mut tried = 0;
    // 240 stale items deleted, 245 written, the rest rewritten: several
    // transactions. Stop after the first, the second, ... until one run gets through.
    for allow in 1.. {
        let stopping = stopping_dynamodb_store(store.table(), "TransactWriteItems", allow).await;
        if stopping.replace_organisation(&new).await.is_ok() {
            break;
        }
        assert!(
            matches!(touch_claim(&store).await, ClaimWrite::Importing),
            "stopped after transaction {allow}: a claim write must wait for the import"
        );
        // Every reader still sees the old organisation, whole.
        assert_eq!(
            store.snapshot(&id).await.unwrap().unwrap(),
            old,
            "stopped after {allow}"
        );
        assert_eq!(store.public_snapshot(&id).await.unwrap().unwrap(), public(&old));
        assert_eq!(
            store.authority_claims(&id).await.unwrap().unwrap(),
            old.org_domain_role_claims
        );
        let server = ServerId::from(old.authorisation_servers[0].fields.authorisation_server_id.as_str());
        let resource = |r: &'static str| {
            let (store, id, server) = (store.clone(), id.clone(), server.clone());
            async move { store.api_resource(&id, &server, &ResourceId::from(r)).await.unwrap() }
        };
        assert_eq!(
            resource("res-old-0007").await.as_ref(),
            Some(&old.authorisation_servers[0].api_resources[7])
        );
        assert_eq!(resource("res-new-0007").await, None);
        store.replace_organisation(&new).await.unwrap();
        assert_eq!(
            store.snapshot(&id).await.unwrap().unwrap(),
            new,
            "the re-run finished it"
        );
        assert_eq!(resource("res-old-0007").await, None);
        assert!(resource("res-new-0007").await.is_some());
        assert!(matches!(touch_claim(&store).await, ClaimWrite::Updated(_)));
        store.replace_organisation(&old).await.unwrap();
        tried += 1;
    }
    assert!(tried >= 4, "only {tried} stop points");
    println!("import stopped at {tried} points; each blocked claim writes and re-running finished it");
}

/// Readers racing a staged import in flight see the old or the new organisation,
/// never a mix; a claim write racing it either lands before it (and is replaced) or
/// waits for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_racing_a_staged_import_see_old_or_new() {
    let store = dynamodb_store().await;
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let (old, new) = (large(240, "old"), large(245, "new"));
    let id = OrganisationId::from(VALE_VERDE);
    let mut reads = 0;
    let mut refused = 0;
    for round in 0..3 {
        store.replace_organisation(&old).await.unwrap();
        let writer = tokio::spawn({
            let (store, new) = (store.clone(), new.clone());
            async move { store.replace_organisation(&new).await }
        });
        loop {
            let seen = store.snapshot(&id).await.unwrap().unwrap();
            assert!(seen == old || seen == new, "round {round}: a mix was served");
            reads += 1;
            if matches!(touch_claim(&store).await, ClaimWrite::Importing) {
                refused += 1;
            }
            if writer.is_finished() {
                break;
            }
        }
        writer.await.unwrap().unwrap();
        assert_eq!(store.snapshot(&id).await.unwrap().unwrap(), new);
    }
    println!("{reads} reads raced 3 staged imports, none mixed; {refused} claim writes waited");
}

/// A table written before the version guard moved to `CLAIM` (its guard was the
/// `VERSION` item): claim writes find no guard and change nothing, and re-running
/// the same import, though the organisation's content is unchanged, writes the guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn re_importing_migrates_a_table_of_the_old_guard_layout() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let store = dynamodb_store().await;
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let config = directory_aws::sdk_config().await;
    let client = directory_aws::dynamodb_client(&config);
    let pk = directory_domain::keys::org_pk(VALE_VERDE);
    // The old layout: the number on `VERSION`, nothing at `CLAIM`.
    client
        .delete_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(pk.clone()))
        .key("SK", AttributeValue::S(directory_domain::keys::VERSION_SK.into()))
        .send()
        .await
        .unwrap();
    client
        .update_item()
        .table_name(store.table())
        .key("PK", AttributeValue::S(pk.clone()))
        .key("SK", AttributeValue::S(directory_domain::keys::VERSION_TAIL_SK.into()))
        .update_expression("SET V = :v")
        .expression_attribute_values(":v", AttributeValue::N("7".into()))
        .send()
        .await
        .unwrap();
    let id = OrganisationId::from(VALE_VERDE);
    let before = store.snapshot(&id).await.unwrap().unwrap();
    assert_eq!(touch_claim(&store).await, ClaimWrite::NotFound, "no guard, no write");
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    assert_eq!(store.snapshot(&id).await.unwrap().unwrap(), before, "content unchanged");
    assert!(
        matches!(touch_claim(&store).await, ClaimWrite::Updated(_)),
        "guard written by the re-import"
    );
}
