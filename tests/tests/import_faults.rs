//! Fault injection on DynamoDB Local: an organisation too large for one transaction
//! (250 items, three transactions) is imported by a process that stops after each
//! of its transactions in turn. Claim writes are refused while it is half-written
//! (so no decision is taken on, or lands in, a mix), and re-running the same import
//! finishes it.

use directory_core::ids::{ClaimId, OrganisationId};
use directory_core::import;
use directory_core::model::{ApiResource, OrganisationSnapshot};
use directory_core::store::{ClaimWrite, Store};
use directory_tests::contract::demo;
use directory_tests::{demo_bytes, dynamodb_store, stopping_dynamodb_store};

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

async fn touch_claim<S: Store>(store: &S) -> ClaimWrite<String> {
    store
        .update_authority_claim(
            &OrganisationId::from(VALE_VERDE),
            &ClaimId::from(VALE_VERDE_CLAIM),
            |_, c| -> Result<_, String> {
                let mut c = c.clone();
                c.registration_id = Some("BR-1003-touched".into());
                Ok(c)
            },
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
        store.replace_organisation(&new).await.unwrap();
        assert_eq!(
            store.snapshot(&id).await.unwrap().unwrap(),
            new,
            "the re-run finished it"
        );
        assert!(matches!(touch_claim(&store).await, ClaimWrite::Updated(_)));
        store.replace_organisation(&old).await.unwrap();
        tried += 1;
    }
    assert!(tried >= 4, "only {tried} stop points");
    println!("import stopped at {tried} points; each blocked claim writes and re-running finished it");
}
