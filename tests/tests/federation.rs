//! The Trust Anchor on both stores (the embedded store and DynamoDB Local): the pin
//! and statement items hold their contract (conditional on the version read, audited
//! in the same write), signed statements are reused until their content or time runs
//! out, a claim set Inactive revokes its trust mark at once, a withdrawn organisation's
//! subordinates stop being issued at once and leave the list with its revision, and a
//! rotated key shows in the historical keys. (The independent library's checks of the
//! same statements: tests/federation, run by scripts/federation-test.sh.)

use directory_domain::audit::{Actor, AuditRecord};
use directory_domain::federation::{self as fed, Pin};
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::jwt;
use directory_domain::model::ResourceStatus;
use directory_domain::model::common::OrganisationStatus;
use directory_domain::signature::{BoxFuture, Jwk, Jwks, SignError, Signer};
use directory_embedded::LocalSigner;
use directory_tests::{NoFetch, both_stores, set_status};
use directory_usecases::federation::pin::{PinRequest, pin};
use directory_usecases::federation::{Anchor, FedError, ListFilter};
use directory_usecases::feed::sequence;
use directory_usecases::import;
use directory_usecases::ports::{CachedStatement, Store};
use directory_usecases::writes::DirectoryWrites;
use std::sync::atomic::{AtomicUsize, Ordering};

const ORG: &str = "c5de3366-d2fb-5b13-9457-76244d8fd242"; // Banco Aurora
const HOSTED_AS: &str = "71760b40-a09a-5d03-b042-f6cc147d9f73";
const SELF_AS: &str = "f09c6925-4945-57b5-bb2a-53520fb17261";
const PAGTO_CLAIM: &str = "1f34af8a-3d2e-59ad-8d72-64b8c04e5c12";

/// A signer that counts its signatures.
struct Counting {
    key: LocalSigner,
    signed: AtomicUsize,
}

impl Counting {
    fn new() -> Self {
        Self {
            key: LocalSigner::ephemeral(),
            signed: AtomicUsize::new(0),
        }
    }
    fn count(&self) -> usize {
        self.signed.load(Ordering::SeqCst)
    }
}

impl Signer for Counting {
    fn public_jwk(&self) -> BoxFuture<'_, Result<Jwk, SignError>> {
        self.key.public_jwk()
    }
    fn sign_digest(&self, digest: [u8; 32]) -> BoxFuture<'_, Result<[u8; 64], SignError>> {
        self.signed.fetch_add(1, Ordering::SeqCst);
        self.key.sign_digest(digest)
    }
}

fn anchor<'a, S: Store>(store: &'a S, signer: &'a dyn Signer, id: &'a str, now: i64) -> Anchor<'a, S> {
    Anchor {
        store,
        signer,
        fetch: &NoFetch,
        entity_id: id,
        loopback: true,
        now,
    }
}

/// A different anchor identifier per test: the list index is per identifier and process.
fn anchor_id() -> String {
    format!("https://directory-{}.example", uuid::Uuid::new_v4())
}

async fn demo<S: Store>(store: &S) {
    import::import(store, &directory_tests::demo_bytes(), |_, _| {})
        .await
        .unwrap();
    sequence(store).await.unwrap();
}

fn now() -> i64 {
    directory_usecases::clock::now()
}

async fn pins_are_written_on_the_version_read_with_their_audit<S: Store>(store: S) {
    let key = LocalSigner::ephemeral();
    let pin = Pin {
        entity_id: "https://fed.example.com".into(),
        organisation_id: ORG.into(),
        jwks: Jwks::of(key.jwk().clone()),
        pinned_at: 100,
        pinned_by: "admin".into(),
        source: "registered".into(),
        version: 0,
    };
    let audit = |n: &str| {
        AuditRecord::new(
            &Actor::system(n, "pin-federation-keys"),
            directory_domain::audit::target(&[("FederationEntity", "https://fed.example.com")]),
            Vec::new(),
            store.audit_retention_days(),
        )
    };
    assert!(store.put_pin(&pin, None, &audit("first")).await.unwrap());
    assert!(
        !store.put_pin(&pin, None, &audit("again")).await.unwrap(),
        "exists already"
    );
    let read = store.pin("https://fed.example.com").await.unwrap().unwrap();
    assert_eq!(read.version, 1);
    assert_eq!(read.jwks, pin.jwks);
    assert!(
        !store.put_pin(&pin, Some(7), &audit("stale")).await.unwrap(),
        "not on version 7"
    );
    assert!(store.put_pin(&pin, Some(1), &audit("second")).await.unwrap());
    assert_eq!(store.pin("https://fed.example.com").await.unwrap().unwrap().version, 2);
    assert_eq!(store.pins().await.unwrap().len(), 1);
    assert!(store.pin("https://other.example.com").await.unwrap().is_none());
    // Two written pins, two audit records; the refused writes left none.
    let records = store.audit_records(None, None).await.unwrap();
    let subs: Vec<_> = records.iter().filter_map(|r| r.sub.clone()).collect();
    assert!(
        subs.contains(&"first".to_owned()) && subs.contains(&"second".to_owned()),
        "{subs:?}"
    );
    assert!(!subs.iter().any(|s| s == "again" || s == "stale"), "{subs:?}");
    // Statements: kept and replaced.
    let s = CachedStatement {
        digest: "d".into(),
        jwt: "a.b.c".into(),
        iat: 1,
        reuse_until: 2,
    };
    assert!(store.cached_statement("fetch|x").await.unwrap().is_none());
    store.cache_statement("fetch|x", &s).await.unwrap();
    assert_eq!(store.cached_statement("fetch|x").await.unwrap(), Some(s.clone()));
    let newer = CachedStatement { reuse_until: 9, ..s };
    store.cache_statement("fetch|x", &newer).await.unwrap();
    assert_eq!(store.cached_statement("fetch|x").await.unwrap(), Some(newer));
}

async fn statements_are_signed_once_per_content_and_lifetime<S: Store>(store: S) {
    demo(&store).await;
    let signer = Counting::new();
    let id = anchor_id();
    let t = now();
    let sub = fed::hosted_entity_id(&id, ORG, HOSTED_AS);
    let first = anchor(&store, &signer, &id, t).fetch(&sub).await.unwrap();
    let signed = signer.count();
    assert_eq!(signed, 1, "one signature for a new statement");
    // The same request again, and later within the reuse window: no signature.
    assert_eq!(anchor(&store, &signer, &id, t).fetch(&sub).await.unwrap(), first);
    assert_eq!(anchor(&store, &signer, &id, t + 3600).fetch(&sub).await.unwrap(), first);
    assert_eq!(signer.count(), signed);
    // Near its expiry it is signed again, valid for 24 h from then.
    let later = anchor(
        &store,
        &signer,
        &id,
        t + fed::STATEMENT_LIFETIME_SECS - fed::STATEMENT_REFRESH_SECS + 1,
    )
    .fetch(&sub)
    .await
    .unwrap();
    assert_ne!(later, first);
    assert_eq!(signer.count(), signed + 1);
    let claims = jwt::decode(&later).unwrap().claims;
    assert_eq!(claims["iss"], id.as_str());
    assert_eq!(claims["sub"], sub.as_str());
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 24 * 3600);
    // The configuration verifies with its own keys and names the roles' marks.
    let config = anchor(&store, &signer, &id, t).configuration().await.unwrap();
    let keys: Jwks = serde_json::from_value(jwt::decode(&config).unwrap().claims["jwks"].clone()).unwrap();
    jwt::verify(&config, fed::ENTITY_STATEMENT_TYP, &keys, t).unwrap();
    jwt::verify(&later, fed::ENTITY_STATEMENT_TYP, &keys, t).unwrap();
}

async fn a_claim_set_inactive_revokes_its_mark_at_once<S: Store>(store: S) {
    demo(&store).await;
    let signer = Counting::new();
    let id = anchor_id();
    let sub = fed::hosted_entity_id(&id, ORG, HOSTED_AS);
    let mark_type = fed::trust_mark_type(&id, "PAGTO");
    let a = anchor(&store, &signer, &id, now());
    let mark = a.trust_mark(&mark_type, &sub).await.unwrap();
    let status = |token: String| jwt::decode(&token).unwrap().claims["status"].clone();
    assert_eq!(status(a.trust_mark_status(&mark).await.unwrap()), "active");
    store
        .update_authority_claim(
            &OrganisationId::from(ORG),
            &ClaimId::stored(PAGTO_CLAIM.to_owned()),
            set_status(ResourceStatus::Inactive),
        )
        .await
        .unwrap();
    // Not sequenced yet: the status reads the organisation's record itself.
    assert_eq!(status(a.trust_mark_status(&mark).await.unwrap()), "revoked");
    assert!(matches!(
        a.trust_mark(&mark_type, &sub).await,
        Err(FedError::NotFound(_))
    ));
    // A mark past its exp is expired; one signed by another key is invalid.
    let past = anchor(&store, &signer, &id, now() + fed::TRUST_MARK_LIFETIME_SECS + 1);
    assert_eq!(status(past.trust_mark_status(&mark).await.unwrap()), "expired");
    let stranger = Counting::new();
    let claims = serde_json::Value::Object(jwt::decode(&mark).unwrap().claims);
    let forged = jwt::sign(&stranger, fed::TRUST_MARK_TYP, &claims).await.unwrap();
    assert_eq!(status(a.trust_mark_status(&forged).await.unwrap()), "invalid");
}

async fn a_withdrawn_organisation_leaves_fetch_at_once_and_the_list_with_its_revision<S: Store>(store: S) {
    demo(&store).await;
    let signer = Counting::new();
    let id = anchor_id();
    let sub = fed::hosted_entity_id(&id, ORG, HOSTED_AS);
    let a = anchor(&store, &signer, &id, now());
    assert!(a.fetch(&sub).await.is_ok());
    let listed = a.list(&ListFilter::default()).await.unwrap();
    assert!(listed.contains(&sub), "{listed:?}");
    let marked = a
        .list(&ListFilter {
            trust_mark_type: Some(fed::trust_mark_type(&id, "PAGTO")),
            ..ListFilter::default()
        })
        .await
        .unwrap();
    assert!(marked.contains(&sub));
    assert!(
        a.list(&ListFilter {
            intermediate: Some(true),
            ..ListFilter::default()
        })
        .await
        .unwrap()
        .is_empty(),
        "a flat federation has no intermediates"
    );
    let (_, orgs) = directory_tests::contract::demo();
    let mut withdrawn = orgs
        .into_iter()
        .find(|o| o.organisation_details.organisation_id == ORG)
        .unwrap();
    withdrawn.organisation_details.status = OrganisationStatus::Withdrawn;
    store.replace_organisation(&withdrawn).await.unwrap();
    assert!(
        matches!(a.fetch(&sub).await, Err(FedError::NotFound(_))),
        "fetch: at once"
    );
    assert!(matches!(
        a.hosted_configuration(ORG, HOSTED_AS).await,
        Err(FedError::NotFound(_))
    ));
    sequence(&store).await.unwrap();
    let listed = a.list(&ListFilter::default()).await.unwrap();
    assert!(!listed.contains(&sub), "list: with its revision: {listed:?}");
    assert!(!listed.is_empty(), "the other hosted entity stays");
}

async fn only_an_entity_with_an_endpoint_of_an_active_organisation_is_pinned<S: Store>(store: S) {
    demo(&store).await;
    let key = LocalSigner::ephemeral();
    let actor = Actor::system("admin", "pin-federation-keys");
    let request = |server: &str, jwks: Option<Jwks>| PinRequest {
        organisation_id: ORG.into(),
        authorisation_server_id: server.into(),
        jwks,
    };
    let jwks = Some(Jwks::of(key.jwk().clone()));
    // A hosted server has no endpoint to pin.
    let hosted = pin(&store, &NoFetch, &actor, request(HOSTED_AS, jwks.clone()), true, now()).await;
    assert!(matches!(hosted, Err(FedError::InvalidRequest(_))), "{hosted:?}");
    // Without keys the entity's configuration is fetched: here nothing can be.
    let unreachable = pin(&store, &NoFetch, &actor, request(SELF_AS, None), true, now()).await;
    assert!(matches!(unreachable, Err(FedError::Upstream(_))), "{unreachable:?}");
    assert!(store.pins().await.unwrap().is_empty(), "a refused pin writes nothing");
    let pinned = pin(&store, &NoFetch, &actor, request(SELF_AS, jwks), true, now())
        .await
        .unwrap();
    assert_eq!(pinned.entity_id, "https://fed.aurora.com.br/");
    assert_eq!(pinned.version, 1);
    // The pinned entity is a subordinate, vouched for with the pinned key only.
    let signer = Counting::new();
    let id = anchor_id();
    let statement = anchor(&store, &signer, &id, now())
        .fetch(&pinned.entity_id)
        .await
        .unwrap();
    let claims = jwt::decode(&statement).unwrap().claims;
    assert_eq!(claims["jwks"]["keys"][0]["kid"], key.jwk().kid.as_str());
    assert_eq!(claims["constraints"]["max_path_length"], 0);
}

async fn a_rotated_key_is_in_the_historical_keys<S: Store>(store: S) {
    demo(&store).await;
    let id = anchor_id();
    let old = Counting::new();
    let new = Counting::new();
    let t = now();
    anchor(&store, &old, &id, t).configuration().await.unwrap();
    let config = anchor(&store, &new, &id, t + 60).configuration().await.unwrap();
    let kids: Vec<String> = jwt::decode(&config).unwrap().claims["jwks"]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        kids.contains(&old.key.jwk().kid) && kids.contains(&new.key.jwk().kid),
        "{kids:?}"
    );
    let history = anchor(&store, &new, &id, t + 60).historical_keys().await.unwrap();
    let decoded = jwt::verify(&history, fed::JWK_SET_TYP, &Jwks::of(new.key.jwk().clone()), t + 60).unwrap();
    let keys = decoded.claims["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "only the retired key: {keys:?}");
    assert_eq!(keys[0]["kid"], old.key.jwk().kid.as_str());
    assert_eq!(keys[0]["exp"], t + 60);
}

both_stores!(
    pins_are_written_on_the_version_read_with_their_audit,
    statements_are_signed_once_per_content_and_lifetime,
    a_claim_set_inactive_revokes_its_mark_at_once,
    a_withdrawn_organisation_leaves_fetch_at_once_and_the_list_with_its_revision,
    only_an_entity_with_an_endpoint_of_an_active_organisation_is_pinned,
    a_rotated_key_is_in_the_historical_keys,
);
