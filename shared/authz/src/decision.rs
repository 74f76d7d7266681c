//! The decision: token → verified identity, or the reason it is refused.

use crate::keys::{Cache, KeySource, Missing};
use crate::thumbprint;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use directory_domain::auth::{Access, is_scope_token, parse_scope};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long fetched keys are used before they are fetched again.
pub const JWKS_TTL: Duration = Duration::from_secs(300);
/// An unknown `kid` refreshes the keys at most this often.
pub const MIN_REFRESH: Duration = Duration::from_secs(10);
/// Clock skew tolerated on `exp` / `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// What a token must satisfy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The only accepted `iss`.
    pub issuer: String,
    /// The audience the token must name in `aud`.
    pub audience: String,
    /// Accepted signature algorithms (ES256 and PS256; RS256 only when configured).
    pub algorithms: Vec<Algorithm>,
    /// Mutual TLS is on: every token must be bound to the client certificate.
    pub require_binding: bool,
}

impl Policy {
    /// The default algorithms, plus RS256 when `allow_rs256`.
    pub fn algorithms(allow_rs256: bool) -> Vec<Algorithm> {
        let mut algs = vec![Algorithm::ES256, Algorithm::PS256];
        if allow_rs256 {
            algs.push(Algorithm::RS256);
        }
        algs
    }
}

/// The verified caller, handed to the handlers as the authorizer context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub sub: Option<String>,
    pub organisation_id: Option<String>,
    pub scopes: Vec<String>,
    /// The certificate thumbprint the token is bound to (checked), if bound.
    pub thumbprint: Option<String>,
}

/// Context keys of the Lambda authorizer response (what `auth::caller` reads).
pub const CONTEXT_THUMBPRINT: &str = "x5t#S256";

impl Identity {
    /// The authorizer context: string values only (API Gateway passes them on as-is).
    pub fn context(&self) -> Map<String, Value> {
        let mut ctx = Map::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                ctx.insert(k.to_owned(), Value::String(v.clone()));
            }
        };
        put("sub", &self.sub);
        put("organisation_id", &self.organisation_id);
        put(CONTEXT_THUMBPRINT, &self.thumbprint);
        ctx.insert("scope".into(), Value::String(self.scopes.join(" ")));
        ctx
    }

    /// Whether this identity holds one of the scopes a route is wired with (what API
    /// Gateway's JWT authorizer enforces with `AuthorizationScopes`).
    pub fn may_call(&self, access: Access) -> Result<(), Deny> {
        // A write is audited by who makes it (the handlers refuse it too).
        if access.writes() && self.sub.as_deref().is_none_or(str::is_empty) {
            return Err(Deny::MissingClaim("sub".to_owned()));
        }
        let scopes = access.scopes();
        if scopes.iter().any(|s| self.scopes.iter().any(|have| have == s)) {
            Ok(())
        } else {
            Err(Deny::Scope(scopes.join(" or ")))
        }
    }
}

/// Why a request is refused. Messages never echo the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Deny {
    #[error("missing bearer token")]
    NoToken,
    #[error("malformed token")]
    Malformed,
    #[error("token header has crit parameters this directory does not understand")]
    Critical,
    #[error("token algorithm not allowed")]
    Algorithm,
    #[error("token without kid")]
    NoKid,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("signing keys unavailable")]
    KeysUnavailable,
    #[error("bad token signature")]
    Signature,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    #[error("wrong token issuer")]
    Issuer,
    #[error("wrong token audience")]
    Audience,
    #[error("token without {0}")]
    MissingClaim(String),
    #[error("invalid scope claim")]
    InvalidScope,
    #[error("token not bound to a client certificate (cnf.x5t#S256 required)")]
    Unbound,
    #[error("malformed cnf claim")]
    MalformedCnf,
    #[error("no client certificate")]
    NoCertificate,
    #[error("token bound to another certificate")]
    CertificateMismatch,
    #[error("scope {0} required")]
    Scope(String),
}

/// At most this many verified tokens are remembered (then the memory starts over).
pub const VERIFIED_TOKENS: usize = 4096;

/// What verifying a token established, before its certificate binding is checked.
struct Verified {
    /// The caller, without a thumbprint (the binding is checked on every request).
    identity: Identity,
    /// The token's `cnf` claim, if any.
    cnf: Option<Value>,
}

/// The decision function with its key cache: one per process (init), shared by all
/// requests. Verified tokens are remembered by their full text until their `exp`, and
/// no longer than the key set that verified them is fresh, so a client's repeated
/// calls skip the signature check; the certificate binding is checked on every call.
pub struct Authorizer<S> {
    policy: Policy,
    source: S,
    cache: Mutex<Cache>,
    verified: std::sync::Mutex<HashMap<String, (Arc<Verified>, Instant)>>,
}

impl<S: KeySource> Authorizer<S> {
    /// An authorizer fetching keys from `source`.
    pub fn new(policy: Policy, source: S) -> Self {
        Self::with_timing(policy, source, JWKS_TTL, MIN_REFRESH)
    }

    /// Same, with another key TTL and refresh interval (tests).
    pub fn with_timing(policy: Policy, source: S, ttl: Duration, min_refresh: Duration) -> Self {
        Self::with_budget(policy, source, ttl, min_refresh, crate::keys::FETCH_BUDGET)
    }

    /// Same, with another fetch budget too (tests).
    pub fn with_budget(policy: Policy, source: S, ttl: Duration, min_refresh: Duration, budget: Duration) -> Self {
        Self {
            policy,
            source,
            cache: Mutex::new(Cache::with_budget(ttl, min_refresh, budget)),
            verified: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Verifies `token` and, when it is bound or binding is required, its binding to
    /// `client_cert_pem` (the certificate the TLS layer has already verified).
    pub async fn decide(&self, token: Option<&str>, client_cert_pem: Option<&str>) -> Result<Identity, Deny> {
        let token = token.filter(|t| !t.is_empty()).ok_or(Deny::NoToken)?;
        let verified = match self.remembered(token) {
            Some(v) => v,
            None => {
                let (v, until) = self.verify(token).await?;
                let v = Arc::new(v);
                self.remember(token, &v, until);
                v
            }
        };
        let thumbprint = self.binding(verified.cnf.as_ref(), client_cert_pem)?;
        Ok(Identity {
            thumbprint,
            ..verified.identity.clone()
        })
    }

    fn remembered(&self, token: &str) -> Option<Arc<Verified>> {
        let memory = self.verified.lock().ok()?;
        let (v, until) = memory.get(token)?;
        (Instant::now() < *until).then(|| v.clone())
    }

    fn remember(&self, token: &str, verified: &Arc<Verified>, until: Instant) {
        if until <= Instant::now() {
            return;
        }
        if let Ok(mut memory) = self.verified.lock() {
            if memory.len() >= VERIFIED_TOKENS {
                memory.clear();
            }
            memory.insert(token.to_owned(), (verified.clone(), until));
        }
    }

    /// The signature and claims checks; returns what they established and until when
    /// that holds: the token's `exp`, or sooner when its key set goes stale.
    async fn verify(&self, token: &str) -> Result<(Verified, Instant), Deny> {
        let (header_b64, rest) = token.split_once('.').ok_or(Deny::Malformed)?;
        if !rest.contains('.') {
            return Err(Deny::Malformed);
        }
        let raw_header: Map<String, Value> = B64
            .decode(header_b64)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or(Deny::Malformed)?;
        // RFC 7515 §4.1.11: a recipient must refuse extensions it does not understand.
        if raw_header.contains_key("crit") {
            return Err(Deny::Critical);
        }
        // The algorithm first, by name: `none` and unknown names are refused as such.
        let allowed = raw_header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(|a| a.parse::<Algorithm>().ok())
            .is_some_and(|a| self.policy.algorithms.contains(&a));
        if !allowed {
            return Err(Deny::Algorithm);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| Deny::Malformed)?;
        let kid = header.kid.as_deref().ok_or(Deny::NoKid)?;
        let key = self
            .cache
            .lock()
            .await
            .key(&self.source, kid, Instant::now())
            .await
            .map_err(|m| match m {
                Missing::UnknownKid => Deny::UnknownKey,
                Missing::Unavailable(_) => Deny::KeysUnavailable,
            })?;
        if key.algorithm.is_some_and(|a| a != header.alg) {
            return Err(Deny::Algorithm);
        }
        // Both S forms of an ES256 signature verify: RFC 7518 does not ask issuers to
        // normalise S, and many do not, so refusing high S would refuse about half of
        // their tokens. Nothing here identifies a token by its signature bytes.
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.policy.issuer]);
        validation.set_audience(&[&self.policy.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.decoding, &validation)
            .map_err(|e| match e.into_kind() {
                ErrorKind::ExpiredSignature => Deny::Expired,
                ErrorKind::ImmatureSignature => Deny::NotYetValid,
                ErrorKind::InvalidIssuer => Deny::Issuer,
                ErrorKind::InvalidAudience => Deny::Audience,
                ErrorKind::InvalidSignature => Deny::Signature,
                // The key is of another family than the header's algorithm.
                ErrorKind::InvalidAlgorithm
                | ErrorKind::InvalidKeyFormat
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidRsaKey(_) => Deny::Algorithm,
                ErrorKind::MissingRequiredClaim(c) => Deny::MissingClaim(c),
                _ => Deny::Malformed,
            })?
            .claims;
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let identity = Identity {
            sub: text("sub"),
            organisation_id: text("organisation_id"),
            scopes: scopes(claims.get("scope"))?,
            thumbprint: None,
        };
        let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(0);
        let to_exp = Duration::from_secs(exp.saturating_sub(jsonwebtoken::get_current_timestamp()));
        let until = (Instant::now() + to_exp).min(key.fresh_until);
        let cnf = claims.get("cnf").cloned();
        Ok((Verified { identity, cnf }, until))
    }

    /// `decide`, then the route's scopes: what the Lambda authorizer answers for a
    /// route, and what the local server runs before every handler.
    pub async fn decide_for(
        &self,
        token: Option<&str>,
        client_cert_pem: Option<&str>,
        access: Access,
    ) -> Result<Identity, Deny> {
        let identity = self.decide(token, client_cert_pem).await?;
        identity.may_call(access)?;
        Ok(identity)
    }

    /// RFC 8705 §3: a bound token needs the certificate it is bound to; under mutual
    /// TLS every token must be bound.
    fn binding(&self, cnf: Option<&Value>, client_cert_pem: Option<&str>) -> Result<Option<String>, Deny> {
        let Some(cnf) = cnf else {
            return if self.policy.require_binding {
                Err(Deny::Unbound)
            } else {
                Ok(None)
            };
        };
        let claimed = cnf
            .as_object()
            .and_then(|o| o.get("x5t#S256"))
            .and_then(Value::as_str)
            .filter(|t| thumbprint::well_formed(t))
            .ok_or(Deny::MalformedCnf)?;
        let pem = client_cert_pem.ok_or(Deny::NoCertificate)?;
        let actual = thumbprint::of_pem(pem).ok_or(Deny::NoCertificate)?;
        if thumbprint::matches(claimed, &actual) {
            Ok(Some(actual))
        } else {
            Err(Deny::CertificateMismatch)
        }
    }
}

/// A scope claim as the token carries it (its JSON type is known here): a string of
/// single-space-separated tokens, or an array whose every element is one token taken
/// as it is. Brackets are never stripped: `"[directory:admin]"` is one token, not
/// `directory:admin`.
fn scopes(claim: Option<&Value>) -> Result<Vec<String>, Deny> {
    match claim {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => parse_scope(s).ok_or(Deny::InvalidScope),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v.as_str() {
                Some(token) if is_scope_token(token) => Ok(token.to_owned()),
                _ => Err(Deny::InvalidScope),
            })
            .collect(),
        Some(_) => Err(Deny::InvalidScope),
    }
}
