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

/// The longest one fetch of the key set may take (discovery document and key set
/// together), whatever the source: the authorizer function's timeout is 5 s, and a
/// request waiting on the cache's lock waits for at most one fetch.
pub const FETCH_BUDGET: Duration = Duration::from_secs(2);
/// After a failed fetch the issuer is asked again no sooner than this, doubling with
/// each further failure up to [`MAX_RETRY_WAIT`]; meanwhile a stale cache refuses at
/// once instead of every request waiting for the issuer.
pub const FIRST_RETRY_WAIT: Duration = Duration::from_secs(1);
/// See [`FIRST_RETRY_WAIT`].
pub const MAX_RETRY_WAIT: Duration = Duration::from_secs(30);

/// The cached key set.
pub(crate) struct Cache {
    keys: HashMap<String, Key>,
    fetched: Option<Instant>,
    last_attempt: Option<Instant>,
    ttl: Duration,
    min_refresh: Duration,
    /// No fetch before this after a failure (and how long the next wait is).
    retry_at: Option<Instant>,
    retry_wait: Duration,
    budget: Duration,
}

impl Cache {
    pub fn with_budget(ttl: Duration, min_refresh: Duration, budget: Duration) -> Self {
        Self {
            keys: HashMap::new(),
            fetched: None,
            last_attempt: None,
            ttl,
            min_refresh,
            retry_at: None,
            retry_wait: FIRST_RETRY_WAIT,
            budget,
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
        if let Some(at) = self.retry_at
            && now < at
        {
            // The issuer failed a moment ago: not asked again yet.
            return if self.fresh(now) {
                self.handed_out(kid).ok_or(Missing::UnknownKid)
            } else {
                Err(Missing::Unavailable("the issuer failed; retrying later".to_owned()))
            };
        }
        self.last_attempt = Some(now);
        let fetched = match tokio::time::timeout(self.budget, source.fetch()).await {
            Ok(result) => result,
            Err(_) => Err(format!("no key set within {} ms", self.budget.as_millis())),
        };
        match fetched {
            Ok(set) => {
                self.keys = usable(&set);
                self.fetched = Some(now);
                self.retry_at = None;
                self.retry_wait = FIRST_RETRY_WAIT;
            }
            Err(reason) => {
                tracing::warn!(%reason, retry_in_ms = self.retry_wait.as_millis() as u64, "JWKS refresh failed");
                self.retry_at = Some(now + self.retry_wait);
                self.retry_wait = (self.retry_wait * 2).min(MAX_RETRY_WAIT);
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
