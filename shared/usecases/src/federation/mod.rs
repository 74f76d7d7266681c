//! The Trust Anchor's use cases (OpenID Federation 1.0; docs/design.md, "OpenID
//! Federation"): its entity configuration, subordinate statements, hosted entity
//! configurations, trust marks and their status, resolve, list and historical keys,
//! and the admin's pinning of a self-managed entity's keys.
//!
//! Every signed answer goes through [`Anchor::signed`]: it is served again from the
//! store while its content (a digest of its claims and signing key) is unchanged and
//! enough of its lifetime is left, so signatures grow with changes, not requests.
//! Every answer about a subordinate reads its organisation's current public record
//! first, so a claim set Inactive or an organisation withdrawn shows at once.

mod index;
pub mod pin;

pub use index::ListFilter;

use crate::ports::{CachedStatement, ChangeFeed, Documents, FederationStore, ReferenceStore, StoreError};
use crate::signing_keys::{self, KeyError};
use directory_domain::federation::statements::{self, MarkStatus};
use directory_domain::federation::{self as fed, Management, Pin, Subordinate};
use directory_domain::ids::OrganisationId;
use directory_domain::jwt;
use directory_domain::model::export::ExportOrganisation;
use directory_domain::signature::{BoxFuture, Jwks, SignError, Signer};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// The history of the federation key (separate from the participants file's).
pub const FEDERATION_KEYS: crate::ports::Document = crate::ports::Document::KeyHistory("federation");

/// The largest entity configuration fetched from a self-managed entity.
pub const MAX_CONFIGURATION_BYTES: usize = 64 * 1024;

/// Fetches a self-managed entity's configuration (an HTTP GET that follows no
/// redirect, to public addresses only in AWS).
pub trait EntityFetch: Send + Sync {
    /// The body of a 200 answer to a GET of `url`, or why there is none.
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, String>>;
}

/// Why a federation request failed, as the specification names the errors (§8.9).
#[derive(Debug, thiserror::Error)]
pub enum FedError {
    /// 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// 404 `not_found`.
    #[error("{0}")]
    NotFound(String),
    /// 404 `invalid_trust_anchor`.
    #[error("{0}")]
    InvalidTrustAnchor(String),
    /// 400 `invalid_metadata` (a subordinate's metadata breaks the policy).
    #[error("{0}")]
    InvalidMetadata(String),
    /// 502: a self-managed entity's configuration could not be fetched or verified.
    #[error("{0}")]
    Upstream(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error(transparent)]
    Keys(#[from] KeyError),
}

impl FedError {
    /// The `error` code of the answer.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::NotFound(_) => "not_found",
            Self::InvalidTrustAnchor(_) => "invalid_trust_anchor",
            Self::InvalidMetadata(_) => "invalid_metadata",
            Self::Upstream(_) => "temporarily_unavailable",
            Self::Store(_) | Self::Sign(_) | Self::Keys(_) => "server_error",
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) | Self::InvalidMetadata(_) => 400,
            Self::NotFound(_) | Self::InvalidTrustAnchor(_) => 404,
            Self::Upstream(_) => 502,
            Self::Store(_) | Self::Sign(_) | Self::Keys(_) => 500,
        }
    }
}

/// How long a signed answer lives and is reused.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// The `exp` claim (`None`: the answer has none).
    exp: Option<i64>,
    /// Served again until then, if its content is unchanged.
    reuse_until: i64,
}

/// The store capabilities the Trust Anchor reads and writes.
pub trait AnchorStore: FederationStore + ChangeFeed + ReferenceStore + Documents {}
impl<T: FederationStore + ChangeFeed + ReferenceStore + Documents> AnchorStore for T {}

/// The directory as Trust Anchor for one request.
pub struct Anchor<'a, S> {
    pub store: &'a S,
    /// The federation key.
    pub signer: &'a dyn Signer,
    /// Fetches self-managed entities' configurations.
    pub fetch: &'a dyn EntityFetch,
    /// Its entity identifier.
    pub entity_id: &'a str,
    /// Whether http entity identifiers on loopback are allowed (the local server).
    pub loopback: bool,
    /// The time of the request.
    pub now: i64,
}

fn digest(typ: &str, kid: &str, claims: &Value) -> String {
    hex::encode(Sha256::digest(format!("{typ}\n{kid}\n{claims}").as_bytes()))
}

/// A caller's value as a message quotes it: clipped, in quotes (never the start of a
/// message, so no client mistakes a description for a link).
pub(crate) fn quoted(value: &str) -> String {
    format!("{:?}", directory_domain::messages::clip(value, 120))
}

fn org_of(record: &str) -> Result<ExportOrganisation, StoreError> {
    serde_json::from_str(record).map_err(|e| StoreError::Corrupt {
        key: "public record".into(),
        reason: e.to_string(),
    })
}

impl<S: AnchorStore> Anchor<'_, S> {
    /// `claims` signed as `typ`, from the store while unchanged and fresh.
    async fn signed(&self, key: &str, typ: &str, claims: Value, timing: Timing) -> Result<String, FedError> {
        let kid = self.signer.public_jwk().await?.kid;
        let digest = digest(typ, &kid, &claims);
        if let Some(cached) = self.store.cached_statement(key).await?
            && cached.digest == digest
            && cached.reuse_until > self.now
        {
            return Ok(cached.jwt);
        }
        let timed = statements::timed(claims, self.now, timing.exp);
        let token = jwt::sign(self.signer, typ, &timed).await?;
        let cached = CachedStatement {
            digest,
            jwt: token.clone(),
            iat: self.now,
            reuse_until: timing.reuse_until,
        };
        self.store.cache_statement(key, &cached).await?;
        tracing::info!(key, typ, "federation statement signed");
        Ok(token)
    }

    fn statement_timing(&self) -> Timing {
        Timing {
            exp: Some(self.now + fed::STATEMENT_LIFETIME_SECS),
            reuse_until: self.now + fed::STATEMENT_LIFETIME_SECS - fed::STATEMENT_REFRESH_SECS,
        }
    }

    /// The federation keys: the history's (current and recently retired), the
    /// current one recorded first.
    pub async fn keys(&self) -> Result<Jwks, FedError> {
        Ok(signing_keys::record(self.store, FEDERATION_KEYS, self.signer, self.now)
            .await?
            .jwks)
    }

    async fn scopes(&self) -> Result<BTreeMap<String, Vec<String>>, FedError> {
        Ok(fed::role_scopes(&self.store.reference().await?))
    }

    /// The Trust Anchor's entity configuration.
    pub async fn configuration(&self) -> Result<String, FedError> {
        let reference = self.store.reference().await?;
        let roles: BTreeSet<String> = reference
            .authorisation_domain_roles
            .iter()
            .map(|r| r.role.clone())
            .collect();
        let claims = statements::anchor_configuration(self.entity_id, &self.keys().await?, &roles);
        self.signed("anchor", fed::ENTITY_STATEMENT_TYP, claims, self.statement_timing())
            .await
    }

    /// The subordinate `entity_id` as its organisation's current public record and
    /// pins say now, if it is one.
    pub async fn subordinate(&self, entity_id: &str) -> Result<Option<Subordinate>, FedError> {
        let (org_id, pins) = match fed::hosted_ids(self.entity_id, entity_id) {
            Some((org, _)) => (org.to_owned(), BTreeMap::new()),
            None => match self.store.pin(entity_id).await? {
                Some(pin) => (
                    pin.organisation_id.clone(),
                    BTreeMap::from([(pin.entity_id.clone(), pin)]),
                ),
                None => return Ok(None),
            },
        };
        let Ok(org_id) = OrganisationId::parse(&org_id) else {
            return Ok(None);
        };
        let (Some(record), _) = self.store.public_record(&org_id).await? else {
            return Ok(None);
        };
        let org = org_of(&record.0)?;
        let scopes = self.scopes().await?;
        Ok(fed::subordinates(self.entity_id, &org, &pins, &scopes, self.loopback)
            .into_iter()
            .find(|s| s.entity_id == entity_id))
    }

    async fn require(&self, entity_id: &str) -> Result<Subordinate, FedError> {
        self.subordinate(entity_id).await?.ok_or_else(|| {
            FedError::NotFound(format!(
                "sub: {} is not a subordinate of this trust anchor",
                quoted(entity_id)
            ))
        })
    }

    /// The keys the Trust Anchor vouches for a subordinate with.
    async fn subject_keys(&self, sub: &Subordinate) -> Result<Jwks, FedError> {
        match (&sub.management, &sub.pinned) {
            (Management::SelfManaged, Some(pinned)) => Ok(pinned.clone()),
            _ => self.keys().await,
        }
    }

    /// The subordinate statement about `sub` (fetch endpoint).
    pub async fn fetch(&self, sub: &str) -> Result<String, FedError> {
        if sub == self.entity_id {
            return Err(FedError::InvalidRequest(
                "sub is the trust anchor itself: its entity configuration is at /.well-known/openid-federation".into(),
            ));
        }
        let subordinate = self.require(sub).await?;
        let claims =
            statements::subordinate_statement(self.entity_id, &subordinate, &self.subject_keys(&subordinate).await?);
        self.signed(
            &format!("fetch|{sub}"),
            fed::ENTITY_STATEMENT_TYP,
            claims,
            self.statement_timing(),
        )
        .await
    }

    /// The signed trust marks of `sub` (type, JWT), one per role.
    async fn marks(&self, sub: &Subordinate) -> Result<Vec<(String, String)>, FedError> {
        let mut out = Vec::new();
        for mark_type in sub.trust_mark_types(self.entity_id) {
            out.push((mark_type.clone(), self.sign_mark(&sub.entity_id, &mark_type).await?));
        }
        Ok(out)
    }

    async fn sign_mark(&self, sub: &str, mark_type: &str) -> Result<String, FedError> {
        let claims = statements::trust_mark(self.entity_id, sub, mark_type);
        let timing = Timing {
            exp: Some(self.now + fed::TRUST_MARK_LIFETIME_SECS),
            reuse_until: self.now + fed::TRUST_MARK_LIFETIME_SECS - fed::TRUST_MARK_REFRESH_SECS,
        };
        self.signed(&format!("mark|{mark_type}|{sub}"), fed::TRUST_MARK_TYP, claims, timing)
            .await
    }

    /// The entity configuration the directory hosts for a federation-managed entity.
    pub async fn hosted_configuration(&self, org_id: &str, server_id: &str) -> Result<String, FedError> {
        let entity_id = fed::hosted_entity_id(self.entity_id, org_id, server_id);
        let sub = self.require(&entity_id).await?;
        let marks = self.marks(&sub).await?;
        let claims = statements::hosted_configuration(self.entity_id, &sub, &self.keys().await?, &marks);
        self.signed(
            &format!("hosted|{entity_id}"),
            fed::ENTITY_STATEMENT_TYP,
            claims,
            self.statement_timing(),
        )
        .await
    }

    /// A trust mark of `mark_type` for `sub` (trust mark endpoint): only while its
    /// organisation holds the role in an `Active` claim.
    pub async fn trust_mark(&self, mark_type: &str, sub: &str) -> Result<String, FedError> {
        let role = fed::role_of_trust_mark_type(self.entity_id, mark_type).ok_or_else(|| {
            FedError::NotFound(format!(
                "trust_mark_type: {} is not a trust mark type of this issuer",
                quoted(mark_type)
            ))
        })?;
        let subordinate = self.require(sub).await?;
        if !subordinate.roles.contains(role) {
            return Err(FedError::NotFound(format!(
                "sub: {} holds no active {role} claim",
                quoted(sub)
            )));
        }
        self.sign_mark(sub, mark_type).await
    }

    /// The status of a trust mark (trust mark status endpoint), from the claims as
    /// they are now: `active` while the role's claim is, `revoked` once it is not (or
    /// the entity left), `expired` past its `exp`, `invalid` when this issuer did not
    /// sign it.
    pub async fn trust_mark_status(&self, trust_mark: &str) -> Result<String, FedError> {
        let decoded = jwt::decode(trust_mark).map_err(|e| FedError::InvalidRequest(format!("trust_mark: {e}")))?;
        let status = self.status_of(&decoded).await?;
        let claims = statements::status_response(self.entity_id, trust_mark, status);
        let key = format!(
            "status|{}|{}",
            hex::encode(Sha256::digest(trust_mark.as_bytes())),
            status.as_str()
        );
        let timing = Timing {
            exp: None,
            reuse_until: self.now + fed::STATUS_REUSE_SECS,
        };
        self.signed(&key, fed::TRUST_MARK_STATUS_TYP, claims, timing).await
    }

    async fn status_of(&self, decoded: &jwt::Decoded) -> Result<MarkStatus, FedError> {
        if decoded.check_header(fed::TRUST_MARK_TYP).is_err()
            || decoded.str_claim("iss") != Some(self.entity_id)
            || decoded.verify(&self.keys().await?, self.now).is_err()
        {
            return Ok(MarkStatus::Invalid);
        }
        let (Some(sub), Some(mark_type)) = (decoded.str_claim("sub"), decoded.str_claim("trust_mark_type")) else {
            return Ok(MarkStatus::Invalid);
        };
        let Some(role) = fed::role_of_trust_mark_type(self.entity_id, mark_type) else {
            return Ok(MarkStatus::Invalid);
        };
        if decoded.time_claim("exp").is_some_and(|exp| exp <= self.now) {
            return Ok(MarkStatus::Expired);
        }
        Ok(match self.subordinate(sub).await? {
            Some(s) if s.roles.contains(role) => MarkStatus::Active,
            _ => MarkStatus::Revoked,
        })
    }

    /// Resolves `sub` for `trust_anchor` (resolve endpoint): its entity configuration,
    /// the Trust Anchor's statement about it and the Trust Anchor's own, verified, its
    /// metadata with the policy applied (only `entity_types` when given), and its
    /// trust marks.
    pub async fn resolve(&self, sub: &str, trust_anchor: &str, entity_types: &[String]) -> Result<String, FedError> {
        if trust_anchor != self.entity_id {
            return Err(FedError::InvalidTrustAnchor(format!(
                "this resolver answers for {} only",
                self.entity_id
            )));
        }
        let anchor_configuration = self.configuration().await?;
        let (metadata, marks, chain) = if sub == self.entity_id {
            let metadata = statements::anchor_metadata(self.entity_id);
            (metadata, Vec::new(), vec![anchor_configuration])
        } else {
            let subordinate = self.require(sub).await?;
            let leaf = match subordinate.management {
                Management::Hosted => {
                    let (org, server) = fed::hosted_ids(self.entity_id, sub).unwrap_or_default();
                    self.hosted_configuration(org, server).await?
                }
                Management::SelfManaged => self.fetch_leaf(&subordinate).await?,
            };
            let leaf_metadata = match subordinate.management {
                Management::Hosted => subordinate.metadata.clone(),
                Management::SelfManaged => jwt::decode(&leaf)
                    .map(|d| d.claims.get("metadata").cloned().unwrap_or(Value::Null))
                    .unwrap_or(Value::Null),
            };
            let metadata = fed::policy::apply(&leaf_metadata, &subordinate.metadata_policy)
                .map_err(|v| FedError::InvalidMetadata(v.to_string()))?;
            let statement = self.fetch(sub).await?;
            let marks = self.marks(&subordinate).await?;
            (metadata, marks, vec![leaf, statement, anchor_configuration])
        };
        let metadata = filter_types(metadata, entity_types);
        let exp = chain
            .iter()
            .filter_map(|t| jwt::decode(t).ok().and_then(|d| d.time_claim("exp")))
            .chain(
                marks
                    .iter()
                    .filter_map(|(_, t)| jwt::decode(t).ok().and_then(|d| d.time_claim("exp"))),
            )
            .min()
            .unwrap_or(self.now + fed::TRUST_MARK_LIFETIME_SECS);
        let claims = statements::resolve_response(self.entity_id, sub, &metadata, &marks, &chain);
        let types = entity_types.join(",");
        self.signed(
            &format!("resolve|{sub}|{types}"),
            fed::RESOLVE_TYP,
            claims,
            Timing {
                exp: Some(exp),
                reuse_until: exp,
            },
        )
        .await
    }

    /// A self-managed entity's configuration as it serves it now, verified with the
    /// keys pinned for it (never with the keys it carries).
    async fn fetch_leaf(&self, sub: &Subordinate) -> Result<String, FedError> {
        let url = fed::configuration_url(&sub.entity_id);
        let token = self
            .fetch
            .get(&url)
            .await
            .map_err(|e| FedError::Upstream(format!("entity configuration at {}: {e}", quoted(&url))))?;
        let pinned = sub.pinned.clone().unwrap_or_default();
        check_configuration(&token, &sub.entity_id, &pinned, self.now)
            .map_err(|e| FedError::Upstream(format!("entity configuration at {}: {e}", quoted(&url))))?;
        if !jwt::decode(&token)
            .ok()
            .and_then(|d| d.claims.get("authority_hints").cloned())
            .and_then(|h| h.as_array().map(|a| a.iter().any(|v| v == self.entity_id)))
            .unwrap_or(false)
        {
            return Err(FedError::Upstream(format!(
                "entity configuration at {}: authority_hints does not name {}",
                quoted(&url),
                self.entity_id
            )));
        }
        Ok(token.trim().to_owned())
    }

    /// The historical keys response.
    pub async fn historical_keys(&self) -> Result<String, FedError> {
        self.keys().await?;
        let history = match self.store.document(FEDERATION_KEYS).await? {
            Some(stored) => serde_json::from_str(&stored.body).map_err(|e| StoreError::Corrupt {
                key: "federation key history".into(),
                reason: e.to_string(),
            })?,
            None => Default::default(),
        };
        let claims = statements::historical_keys(self.entity_id, &history, self.now);
        let timing = Timing {
            exp: None,
            reuse_until: self.now + fed::STATEMENT_LIFETIME_SECS,
        };
        self.signed("historical-keys", fed::JWK_SET_TYP, claims, timing).await
    }

    /// The subordinates' entity identifiers that pass `filter` (list endpoint).
    pub async fn list(&self, filter: &ListFilter) -> Result<Vec<String>, FedError> {
        index::list(self, filter).await
    }

    /// The entities holding a trust mark of `mark_type` (optionally only `sub`).
    pub async fn trust_mark_list(&self, mark_type: &str, sub: Option<&str>) -> Result<Vec<String>, FedError> {
        if fed::role_of_trust_mark_type(self.entity_id, mark_type).is_none() {
            return Err(FedError::NotFound(format!(
                "{mark_type} is not a trust mark type of this issuer"
            )));
        }
        if let Some(sub) = sub {
            let holds = self
                .subordinate(sub)
                .await?
                .is_some_and(|s| s.trust_mark_types(self.entity_id).iter().any(|t| t == mark_type));
            return Ok(if holds { vec![sub.to_owned()] } else { Vec::new() });
        }
        let filter = ListFilter {
            trust_mark_type: Some(mark_type.to_owned()),
            ..ListFilter::default()
        };
        index::list(self, &filter).await
    }

    /// Every pin, by entity identifier.
    async fn pin_map(&self) -> Result<BTreeMap<String, Pin>, FedError> {
        Ok(self
            .store
            .pins()
            .await?
            .into_iter()
            .map(|p| (p.entity_id.clone(), p))
            .collect())
    }
}

/// Only the entity types asked for (all when none are).
fn filter_types(metadata: Value, entity_types: &[String]) -> Value {
    match metadata {
        Value::Object(map) if !entity_types.is_empty() => Value::Object(
            map.into_iter()
                .filter(|(k, _)| entity_types.iter().any(|t| t == k))
                .collect(),
        ),
        other => other,
    }
}

/// Checks an entity configuration: `typ`, `iss` = `sub` = `entity_id`, `iat`/`exp`
/// around `now`, a `jwks`, and a signature by one of `keys`.
pub fn check_configuration(token: &str, entity_id: &str, keys: &Jwks, now: i64) -> Result<jwt::Decoded, String> {
    let decoded = jwt::decode(token).map_err(|e| e.to_string())?;
    decoded
        .check_header(fed::ENTITY_STATEMENT_TYP)
        .map_err(|e| e.to_string())?;
    if decoded.str_claim("iss") != Some(entity_id) || decoded.str_claim("sub") != Some(entity_id) {
        return Err(format!("iss and sub must both be {entity_id}"));
    }
    match (decoded.time_claim("iat"), decoded.time_claim("exp")) {
        (Some(iat), Some(exp)) if iat <= now + 60 && exp > now => {}
        _ => return Err("iat must be past and exp future".into()),
    }
    if !decoded.claims.get("jwks").is_some_and(Value::is_object) {
        return Err("no jwks".into());
    }
    decoded.verify(keys, now).map_err(|e| e.to_string())?;
    Ok(decoded)
}
