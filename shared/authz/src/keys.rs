//! Where the verification keys come from, and their cache: keys are fetched once and
//! used until their TTL; an unknown `kid` triggers one early refresh (rate-limited,
//! so a flood of made-up `kid`s cannot hammer the issuer); when a refresh fails the
//! cached keys serve until their TTL and then every token is refused (fail closed).

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

/// A provider of the issuer's JSON Web Key Set.
pub trait KeySource: Send + Sync {
    /// Fetches the current key set.
    fn fetch(&self) -> impl Future<Output = Result<JwkSet, String>> + Send;
}

/// A fixed key set (the local server's own key; tests).
#[derive(Clone, Debug)]
pub struct StaticKeys(pub JwkSet);

impl KeySource for StaticKeys {
    async fn fetch(&self) -> Result<JwkSet, String> {
        Ok(self.0.clone())
    }
}

/// One usable key: its decoding form and the algorithm its JWK pins, if any.
#[derive(Clone)]
pub(crate) struct Key {
    pub decoding: DecodingKey,
    pub algorithm: Option<Algorithm>,
    /// Until when the key set it came from is fresh (set when it is handed out).
    pub fresh_until: Instant,
}

/// Why no key could be found for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Missing {
    /// The key set (fresh or just refreshed) has no such `kid`.
    UnknownKid,
    /// The cached keys are past their TTL and the issuer did not answer.
    Unavailable(String),
}

/// The cached key set.
pub(crate) struct Cache {
    keys: HashMap<String, Key>,
    fetched: Option<Instant>,
    last_attempt: Option<Instant>,
    ttl: Duration,
    min_refresh: Duration,
}

impl Cache {
    pub fn new(ttl: Duration, min_refresh: Duration) -> Self {
        Self {
            keys: HashMap::new(),
            fetched: None,
            last_attempt: None,
            ttl,
            min_refresh,
        }
    }

    fn fresh(&self, now: Instant) -> bool {
        self.fetched.is_some_and(|at| now.duration_since(at) < self.ttl)
    }

    /// The key named `kid`, refreshing from `source` when the cache is stale, or
    /// once (rate-limited) when the `kid` is unknown.
    pub async fn key<S: KeySource>(&mut self, source: &S, kid: &str, now: Instant) -> Result<Key, Missing> {
        if self.fresh(now) {
            if let Some(key) = self.handed_out(kid) {
                return Ok(key);
            }
            let recently = self
                .last_attempt
                .is_some_and(|at| now.duration_since(at) < self.min_refresh);
            if recently {
                return Err(Missing::UnknownKid);
            }
        }
        self.last_attempt = Some(now);
        match source.fetch().await {
            Ok(set) => {
                self.keys = usable(&set);
                self.fetched = Some(now);
            }
            Err(reason) => {
                tracing::warn!(%reason, "JWKS refresh failed");
                if !self.fresh(now) {
                    return Err(Missing::Unavailable(reason));
                }
            }
        }
        self.handed_out(kid).ok_or(Missing::UnknownKid)
    }

    fn handed_out(&self, kid: &str) -> Option<Key> {
        let fetched = self.fetched?;
        let mut key = self.keys.get(kid)?.clone();
        key.fresh_until = fetched + self.ttl;
        Some(key)
    }
}

/// The signing keys of a set, by `kid`: keys without a `kid`, marked for encryption
/// or not convertible are left out.
fn usable(set: &JwkSet) -> HashMap<String, Key> {
    set.keys
        .iter()
        .filter(|jwk| !matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature))
        .filter_map(|jwk: &Jwk| {
            let kid = jwk.common.key_id.clone()?;
            let decoding = DecodingKey::from_jwk(jwk).ok()?;
            let algorithm = jwk
                .common
                .key_algorithm
                .and_then(|a| a.to_string().parse::<Algorithm>().ok());
            Some((
                kid,
                Key {
                    decoding,
                    algorithm,
                    fresh_until: Instant::now(),
                },
            ))
        })
        .collect()
}
