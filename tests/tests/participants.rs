//! `import --participants`: a published participants file bootstraps a directory that
//! publishes it again byte for byte, on both stores; a file without the ids the public
//! format may leave out reaches a fixed point after one round; re-importing changes
//! nothing.

use directory_embedded::LocalDirTarget;
use directory_tests::{demo_bytes, dynamodb_store, embedded_store};
use directory_usecases::export;
use directory_usecases::import;
use directory_usecases::ports::Store;
use proptest::prelude::*;
use serde_json::Value;

fn actor() -> directory_domain::audit::Actor {
    directory_domain::audit::Actor::system("test", "import")
}

/// Publishes the store's export into a fresh directory and returns the file.
async fn export_of<S: Store>(store: &S) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let target = LocalDirTarget::new(dir.path(), directory_tests::signer());
    export::run(store, &target, &mut |_| {}).await.unwrap();
    std::fs::read(target.path()).unwrap()
}

/// The public file as ecosystems publish it: claims without their ids, role claims
/// without their authority.
fn without_ids(file: &[u8]) -> Vec<u8> {
    let mut orgs: Value = serde_json::from_slice(file).unwrap();
    for org in orgs.as_array_mut().unwrap() {
        for claim in org["OrgDomainRoleClaims"].as_array_mut().unwrap() {
            let claim = claim.as_object_mut().unwrap();
            claim.remove("OrganisationAuthorityClaimId");
            claim.remove("AuthorityId");
        }
        for claim in org["OrgDomainClaims"].as_array_mut().unwrap() {
            claim
                .as_object_mut()
                .unwrap()
                .remove("OrganisationAuthorityDomainClaimId");
        }
    }
    serde_json::to_vec(&orgs).unwrap()
}

/// export → import --participants (fresh store) → export is the identity; a file
/// without ids is a fixed point after one round; a re-import writes nothing.
async fn round_trip<S: Store>(source: &S, fresh: impl AsyncFn() -> S) {
    let published = export_of(source).await;
    let mirror = fresh().await;
    let (summary, derived) = import::import_participants_as(&mirror, &published, &actor(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        derived.role_claim_ids + derived.domain_claim_ids,
        0,
        "the ids are in the file"
    );
    assert_eq!(
        export_of(&mirror).await,
        published,
        "byte for byte ({} organisations)",
        summary.organisations
    );
    let audit = mirror.audit_records(None, None).await.unwrap().len();
    import::import_participants_as(&mirror, &published, &actor(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(
        mirror.audit_records(None, None).await.unwrap().len(),
        audit,
        "nothing written"
    );

    let bare = without_ids(&published);
    let first = fresh().await;
    import::import_participants_as(&first, &bare, &actor(), |_, _| {})
        .await
        .unwrap();
    let once = export_of(&first).await;
    let second = fresh().await;
    import::import_participants_as(&second, &bare, &actor(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(export_of(&second).await, once, "derived ids are deterministic");
    let third = fresh().await;
    import::import_participants_as(&third, &once, &actor(), |_, _| {})
        .await
        .unwrap();
    assert_eq!(export_of(&third).await, once, "a fixed point after one round");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_export_round_trips_on_dynamodb() {
    let source = dynamodb_store().await;
    import::import(&source, &demo_bytes(), |_, _| {}).await.unwrap();
    round_trip(&source, async || dynamodb_store().await).await;
}

/// A demo file cut down and changed by `keep` (which organisations) and `flip`
/// (which domain claims change status) — both safe for every rule.
fn variant(keep: &[bool], flip: &[bool]) -> Vec<u8> {
    let mut file: Value = serde_json::from_slice(&demo_bytes()).unwrap();
    let orgs = file["Organisations"].as_array_mut().unwrap();
    let mut i = 0;
    orgs.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    let mut j = 0;
    for org in orgs.iter_mut() {
        for claim in org["OrgDomainClaims"].as_array_mut().unwrap() {
            if flip[j % flip.len()] {
                let next = if claim["Status"] == "Active" {
                    "Inactive"
                } else {
                    "Active"
                };
                claim["Status"] = next.into();
            }
            j += 1;
        }
    }
    serde_json::to_vec(&file).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn any_published_file_round_trips(keep in prop::collection::vec(any::<bool>(), 13), flip in prop::collection::vec(any::<bool>(), 1..8)) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let (source, _dir) = embedded_store();
            import::import(&source, &variant(&keep, &flip), |_, _| {}).await.unwrap();
            let dirs = std::sync::Mutex::new(Vec::new());
            round_trip(&source, async || {
                let (store, dir) = embedded_store();
                dirs.lock().unwrap().push(dir);
                store
            })
            .await;
        });
    }
}
