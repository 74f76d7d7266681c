//! The authorizer's decision table (issue 15): every way a token can be refused, and
//! the one way it is allowed, with real signatures and real certificates.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use directory_authz::keys::KeySource;
use directory_authz::{Authorizer, Deny, Policy, StaticKeys, thumbprint};
use directory_domain::auth::Access;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ISS: &str = "https://issuer.example";
const AUD: &str = "directory-api";

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn ec_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn ec_jwk(key: &SigningKey, kid: &str) -> Value {
    let point = key.verifying_key().to_sec1_point(false);
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
           "x": B64.encode(point.x().unwrap()), "y": B64.encode(point.y().unwrap())})
}

fn rsa_jwk() -> Value {
    serde_json::from_str(include_str!("keys/rsa.jwk.json")).unwrap()
}

fn jwks(keys: &[Value]) -> JwkSet {
    serde_json::from_value(json!({ "keys": keys })).unwrap()
}

/// A compact ES256 JWS over `header` and `claims`, signature as given by `sign`.
fn es256_with(key: &SigningKey, header: Value, claims: &Value, high_s: bool) -> String {
    let input = format!("{}.{}", B64.encode(header.to_string()), B64.encode(claims.to_string()));
    let sig: Signature = key.sign(input.as_bytes());
    let sig = sig.normalize_s();
    let bytes = if high_s {
        // The other valid encoding of the same signature: (r, n - s).
        let (r, s) = sig.split_scalars();
        Signature::from_scalars(r, -*s).unwrap().to_bytes()
    } else {
        sig.to_bytes()
    };
    format!("{input}.{}", B64.encode(bytes))
}

fn es256(key: &SigningKey, kid: &str, claims: &Value) -> String {
    es256_with(key, json!({"alg": "ES256", "typ": "JWT", "kid": kid}), claims, false)
}

fn rsa(alg: Algorithm, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = Some("test-rsa".into());
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_rsa_der(include_bytes!("keys/rsa.der")),
    )
    .unwrap()
}

fn claims(extra: Value) -> Value {
    let mut c = json!({"sub": "alice", "organisation_id": "org-1", "scope": "directory:read directory:write",
                       "iss": ISS, "aud": AUD, "iat": now(), "exp": now() + 300});
    for (k, v) in extra.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn certificate(name: &str) -> String {
    rcgen::generate_simple_self_signed(vec![name.to_owned()])
        .unwrap()
        .cert
        .pem()
}

fn bound_to(cert: &str) -> Value {
    json!({"cnf": {"x5t#S256": thumbprint::of_pem(cert).unwrap()}})
}

fn policy(require_binding: bool, allow_rs256: bool) -> Policy {
    Policy {
        issuer: ISS.into(),
        audience: AUD.into(),
        algorithms: Policy::algorithms(allow_rs256),
        require_binding,
    }
}

/// A key source that counts fetches and can be switched off (the issuer is down).
#[derive(Clone)]
struct Flaky {
    set: JwkSet,
    fetches: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl KeySource for Flaky {
    async fn fetch(&self) -> Result<JwkSet, String> {
        self.fetches.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) {
            Err("connection refused".into())
        } else {
            Ok(self.set.clone())
        }
    }
}

fn flaky(set: JwkSet) -> Flaky {
    Flaky {
        set,
        fetches: Arc::default(),
        down: Arc::default(),
    }
}

#[tokio::test]
async fn decision_table() {
    let key = ec_key(7);
    let other_key = ec_key(9);
    let set = jwks(&[ec_jwk(&key, "k1"), rsa_jwk()]);
    let mtls = Authorizer::new(policy(true, false), StaticKeys(set.clone()));
    let plain = Authorizer::new(policy(false, false), StaticKeys(set.clone()));
    let with_rs256 = Authorizer::new(policy(true, true), StaticKeys(set.clone()));
    let cert = certificate("org-1.example");
    let other_cert = certificate("org-2.example");
    let bound = es256(&key, "k1", &claims(bound_to(&cert)));

    // Allowed: the bound token with its own certificate.
    let id = mtls.decide(Some(&bound), Some(&cert)).await.unwrap();
    assert_eq!(id.organisation_id.as_deref(), Some("org-1"));
    assert_eq!(id.scopes, ["directory:read", "directory:write"]);
    assert_eq!(id.thumbprint, thumbprint::of_pem(&cert));
    assert!(id.may_call(Access::OwnOrganisationWrite).is_ok());
    assert_eq!(id.may_call(Access::Admin), Err(Deny::Scope("directory:admin".into())));
    // PS256 is accepted, and RS256 only when configured.
    let ps = rsa(Algorithm::PS256, &claims(bound_to(&cert)));
    assert!(mtls.decide(Some(&ps), Some(&cert)).await.is_ok());
    let rs = rsa(Algorithm::RS256, &claims(bound_to(&cert)));
    assert_eq!(mtls.decide(Some(&rs), Some(&cert)).await, Err(Deny::Algorithm));
    assert!(with_rs256.decide(Some(&rs), Some(&cert)).await.is_ok());
    // The high-S twin of a signature verifies too (issuers need not normalise S).
    let twin = es256_with(
        &key,
        json!({"alg": "ES256", "typ": "JWT", "kid": "k1"}),
        &claims(bound_to(&cert)),
        true,
    );
    assert_eq!(
        mtls.decide(Some(&twin), Some(&cert)).await.unwrap().organisation_id,
        id.organisation_id
    );
    // Unbound tokens pass only without mutual TLS.
    let unbound = es256(&key, "k1", &claims(json!({})));
    assert!(plain.decide(Some(&unbound), None).await.is_ok());

    let header = |extra: Value| {
        let mut h = json!({"alg": "ES256", "typ": "JWT", "kid": "k1"});
        for (k, v) in extra.as_object().unwrap() {
            h[k] = v.clone();
        }
        h
    };
    let hs256 = jsonwebtoken::encode(
        &Header {
            kid: Some("k1".into()),
            ..Header::new(Algorithm::HS256)
        },
        &claims(bound_to(&cert)),
        &EncodingKey::from_secret(b"secret").unwrap(),
    )
    .unwrap();
    let none = format!(
        "{}.{}.",
        B64.encode(r#"{"alg":"none","kid":"k1"}"#),
        B64.encode(claims(bound_to(&cert)).to_string())
    );
    let cases: Vec<(&str, String, Option<&str>, Deny)> = vec![
        (
            "another certificate",
            bound.clone(),
            Some(&other_cert),
            Deny::CertificateMismatch,
        ),
        ("no certificate", bound.clone(), None, Deny::NoCertificate),
        ("unbound under mTLS", unbound.clone(), Some(&cert), Deny::Unbound),
        (
            "expired",
            es256(
                &key,
                "k1",
                &claims(json!({"exp": now() - 120, "cnf": bound_to(&cert)["cnf"]})),
            ),
            Some(&cert),
            Deny::Expired,
        ),
        (
            "not yet valid",
            es256(
                &key,
                "k1",
                &claims(json!({"nbf": now() + 600, "cnf": bound_to(&cert)["cnf"]})),
            ),
            Some(&cert),
            Deny::NotYetValid,
        ),
        (
            "wrong issuer",
            es256(
                &key,
                "k1",
                &claims(json!({"iss": "https://evil.example", "cnf": bound_to(&cert)["cnf"]})),
            ),
            Some(&cert),
            Deny::Issuer,
        ),
        (
            "wrong audience",
            es256(
                &key,
                "k1",
                &claims(json!({"aud": "other-api", "cnf": bound_to(&cert)["cnf"]})),
            ),
            Some(&cert),
            Deny::Audience,
        ),
        (
            "no exp",
            es256(&key, "k1", &claims(json!({"exp": null, "cnf": bound_to(&cert)["cnf"]}))),
            Some(&cert),
            Deny::MissingClaim("exp".into()),
        ),
        (
            "signed by another key under k1",
            es256(&other_key, "k1", &claims(bound_to(&cert))),
            Some(&cert),
            Deny::Signature,
        ),
        (
            "crit header",
            es256_with(&key, header(json!({"crit": ["exp"]})), &claims(bound_to(&cert)), false),
            Some(&cert),
            Deny::Critical,
        ),
        ("HS256 with a guessable secret", hs256, Some(&cert), Deny::Algorithm),
        ("alg none", none, Some(&cert), Deny::Algorithm),
        (
            "ES256 header over the RSA key",
            es256(&key, "test-rsa", &claims(bound_to(&cert))),
            Some(&cert),
            Deny::Algorithm,
        ),
        (
            "no kid",
            es256_with(&key, json!({"alg": "ES256"}), &claims(bound_to(&cert)), false),
            Some(&cert),
            Deny::NoKid,
        ),
        (
            "cnf not an object",
            es256(&key, "k1", &claims(json!({"cnf": "x"}))),
            Some(&cert),
            Deny::MalformedCnf,
        ),
        (
            "cnf thumbprint malformed",
            es256(&key, "k1", &claims(json!({"cnf": {"x5t#S256": "abc"}}))),
            Some(&cert),
            Deny::MalformedCnf,
        ),
        (
            "scope with a tab",
            es256(
                &key,
                "k1",
                &claims(json!({"scope": "directory:read\tdirectory:admin", "cnf": bound_to(&cert)["cnf"]})),
            ),
            Some(&cert),
            Deny::InvalidScope,
        ),
        (
            "scope array element with a space",
            es256(
                &key,
                "k1",
                &claims(json!({"scope": ["directory:read directory:admin"], "cnf": bound_to(&cert)["cnf"]})),
            ),
            Some(&cert),
            Deny::InvalidScope,
        ),
        ("not a JWT", "a.b".into(), Some(&cert), Deny::Malformed),
        (
            "garbage certificate",
            bound.clone(),
            Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Deny::CertificateMismatch,
        ),
        (
            "no PEM at all",
            bound.clone(),
            Some("not a certificate"),
            Deny::NoCertificate,
        ),
    ];
    for (name, token, cert, expected) in cases {
        assert_eq!(mtls.decide(Some(&token), cert).await, Err(expected), "{name}");
    }
    assert_eq!(mtls.decide(None, Some(&cert)).await, Err(Deny::NoToken));
    // `bound` was verified once and is remembered: the cases above that refused it
    // with another or no certificate went through that memory, so the binding is
    // checked on every call, and its own certificate still passes.
    assert_eq!(mtls.decide(Some(&bound), Some(&cert)).await.unwrap(), id);
    // A bound token still needs its certificate where binding is not required.
    assert_eq!(
        plain.decide(Some(&bound), Some(&other_cert)).await,
        Err(Deny::CertificateMismatch)
    );
}

#[tokio::test]
async fn an_unknown_kid_refreshes_once_then_is_refused() {
    let key = ec_key(7);
    let rotated = ec_key(11);
    let source = flaky(jwks(&[ec_jwk(&key, "k1")]));
    let interval = Duration::from_millis(200);
    let authorizer = Authorizer::with_timing(policy(false, false), source.clone(), Duration::from_secs(300), interval);
    let plain = claims(json!({}));
    assert!(authorizer.decide(Some(&es256(&key, "k1", &plain)), None).await.is_ok());
    assert_eq!(source.fetches.load(Ordering::SeqCst), 1);
    // Keys fetched within the refresh interval are current: no second fetch for them.
    tokio::time::sleep(interval).await;
    let unknown = es256(&rotated, "k2", &plain);
    assert_eq!(authorizer.decide(Some(&unknown), None).await, Err(Deny::UnknownKey));
    assert_eq!(
        source.fetches.load(Ordering::SeqCst),
        2,
        "one refresh for the unknown kid"
    );
    // Within the refresh interval another unknown kid does not reach the issuer.
    assert_eq!(authorizer.decide(Some(&unknown), None).await, Err(Deny::UnknownKey));
    assert_eq!(source.fetches.load(Ordering::SeqCst), 2, "refreshes are rate-limited");
    // A key published by rotation is picked up by that one refresh.
    let source = flaky(jwks(&[ec_jwk(&key, "k1")]));
    let authorizer = Authorizer::new(policy(false, false), source.clone());
    assert!(authorizer.decide(Some(&es256(&key, "k1", &plain)), None).await.is_ok());
    let rotated_source = Flaky {
        set: jwks(&[ec_jwk(&key, "k1"), ec_jwk(&rotated, "k2")]),
        ..source.clone()
    };
    let authorizer2 = Authorizer::new(policy(false, false), rotated_source);
    assert!(authorizer2.decide(Some(&unknown), None).await.is_ok());
}

#[tokio::test]
async fn the_issuer_down_fails_closed_after_the_cached_keys_expire() {
    let key = ec_key(7);
    let source = flaky(jwks(&[ec_jwk(&key, "k1")]));
    let ttl = Duration::from_millis(300);
    let authorizer = Authorizer::with_timing(policy(false, false), source.clone(), ttl, ttl);
    let token = es256(&key, "k1", &claims(json!({})));
    // Down from the start: nothing cached, nothing allowed.
    source.down.store(true, Ordering::SeqCst);
    assert_eq!(authorizer.decide(Some(&token), None).await, Err(Deny::KeysUnavailable));
    source.down.store(false, Ordering::SeqCst);
    // Back after the first retry wait.
    tokio::time::sleep(directory_authz::keys::FIRST_RETRY_WAIT + Duration::from_millis(50)).await;
    assert!(authorizer.decide(Some(&token), None).await.is_ok());
    // Down again: the cached keys still serve until their TTL ...
    source.down.store(true, Ordering::SeqCst);
    assert!(authorizer.decide(Some(&token), None).await.is_ok());
    // ... and then every token is refused.
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    assert_eq!(authorizer.decide(Some(&token), None).await, Err(Deny::KeysUnavailable));
}

#[tokio::test]
async fn no_spelling_of_a_scope_claim_grants_admin() {
    let key = ec_key(7);
    let plain = Authorizer::new(policy(false, false), StaticKeys(jwks(&[ec_jwk(&key, "k1")])));
    for scope in [
        json!("[directory:admin]"),
        json!("[x directory:admin]"),
        json!("[x directory:write directory:admin]"),
        json!(["[directory:admin]"]),
        json!(["x", "[directory:admin]"]),
    ] {
        let token = es256(&key, "k1", &claims(json!({ "scope": scope.clone() })));
        let id = plain.decide(Some(&token), None).await.unwrap();
        assert!(
            !id.scopes.iter().any(|s| s == "directory:admin"),
            "{scope}: {:?}",
            id.scopes
        );
        assert_eq!(
            plain.decide_for(Some(&token), None, Access::Admin).await,
            Err(Deny::Scope("directory:admin".into())),
            "{scope}"
        );
        // What the handlers then read from the context grants no more.
        let context = id.context();
        let joined = context["scope"].as_str().unwrap();
        let reread = directory_domain::auth::parse_scope(joined).unwrap();
        assert_eq!(reread, id.scopes, "{scope}");
    }
    // A real array of tokens is a list of tokens.
    let token = es256(
        &key,
        "k1",
        &claims(json!({"scope": ["directory:read", "directory:admin"]})),
    );
    assert!(plain.decide_for(Some(&token), None, Access::Admin).await.is_ok());
}

/// A key source that never answers.
struct Hanging(Arc<AtomicUsize>);

impl KeySource for Hanging {
    async fn fetch(&self) -> Result<JwkSet, String> {
        self.0.fetch_add(1, Ordering::SeqCst);
        std::future::pending().await
    }
}

#[tokio::test]
async fn an_issuer_that_hangs_costs_one_fetch_budget_then_nothing_until_the_retry_wait() {
    use directory_authz::keys::{FETCH_BUDGET, FIRST_RETRY_WAIT};
    // One fetch (discovery and keys) fits the authorizer function's 5 s with room.
    assert!(FETCH_BUDGET * 2 < Duration::from_secs(5), "{FETCH_BUDGET:?}");
    let key = ec_key(7);
    let fetches = Arc::new(AtomicUsize::new(0));
    let budget = Duration::from_millis(200);
    let authorizer = Authorizer::with_budget(
        policy(false, false),
        Hanging(fetches.clone()),
        Duration::from_secs(300),
        Duration::from_secs(10),
        budget,
    );
    let token = es256(&key, "k1", &claims(json!({})));
    let started = std::time::Instant::now();
    assert_eq!(authorizer.decide(Some(&token), None).await, Err(Deny::KeysUnavailable));
    assert!(started.elapsed() >= budget, "the fetch ran its budget");
    // Within the retry wait, every request is refused at once, without a fetch.
    for _ in 0..50 {
        assert_eq!(authorizer.decide(Some(&token), None).await, Err(Deny::KeysUnavailable));
    }
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "no refetch inside the retry wait");
    // Then the issuer is asked again, once.
    tokio::time::sleep(FIRST_RETRY_WAIT).await;
    assert_eq!(authorizer.decide(Some(&token), None).await, Err(Deny::KeysUnavailable));
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_write_needs_a_token_that_names_its_writer() {
    let key = ec_key(7);
    let plain = Authorizer::new(policy(false, false), StaticKeys(jwks(&[ec_jwk(&key, "k1")])));
    for sub in [json!(null), json!("")] {
        let token = es256(&key, "k1", &claims(json!({"sub": sub.clone()})));
        assert_eq!(
            plain.decide_for(Some(&token), None, Access::OwnOrganisationWrite).await,
            Err(Deny::MissingClaim("sub".into())),
            "{sub}"
        );
        assert!(
            plain
                .decide_for(Some(&token), None, Access::OwnOrganisationRead)
                .await
                .is_ok()
        );
    }
}
