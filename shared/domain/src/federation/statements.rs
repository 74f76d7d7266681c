//! The claims of every statement the Trust Anchor signs (OpenID Federation 1.0 §3,
//! §7, §8): built here, signed by the use cases with [`crate::jwt::sign`]. `iat` and
//! `exp` are the only parts that depend on when; everything else is what the cache's
//! digest covers.

use super::*;
use crate::model::export::ExportAuthorisationServer;
use crate::signature::{KeyHistory, ROTATION_WINDOW_SECS};
use serde_json::{Map, Value, json};

/// The `federation_entity` metadata of the Trust Anchor: its endpoints.
pub fn anchor_metadata(anchor: &str) -> Value {
    json!({
        "federation_entity": {
            "federation_fetch_endpoint": format!("{anchor}{FETCH_PATH}"),
            "federation_list_endpoint": format!("{anchor}{LIST_PATH}"),
            "federation_resolve_endpoint": format!("{anchor}{RESOLVE_PATH}"),
            "federation_trust_mark_status_endpoint": format!("{anchor}{TRUST_MARK_STATUS_PATH}"),
            "federation_trust_mark_list_endpoint": format!("{anchor}{TRUST_MARK_LIST_PATH}"),
            "federation_trust_mark_endpoint": format!("{anchor}{TRUST_MARK_PATH}"),
            "federation_historical_keys_endpoint": format!("{anchor}{HISTORICAL_KEYS_PATH}"),
            "organization_name": "Participant directory",
        }
    })
}

/// The Trust Anchor's entity configuration (without `iat`/`exp`): its keys, its
/// endpoints, and itself as the issuer of every role's trust mark.
pub fn anchor_configuration(anchor: &str, jwks: &Jwks, roles: &BTreeSet<String>) -> Value {
    let issuers: Map<String, Value> = roles
        .iter()
        .map(|r| (trust_mark_type(anchor, r), json!([anchor])))
        .collect();
    json!({
        "iss": anchor,
        "sub": anchor,
        "jwks": jwks,
        "metadata": anchor_metadata(anchor),
        "trust_mark_issuers": issuers,
    })
}

/// The Trust Anchor's subordinate statement about `sub` (without `iat`/`exp`): the
/// keys it vouches for, its policy, and `max_path_length` 0 (a leaf has no
/// subordinates of its own).
pub fn subordinate_statement(anchor: &str, sub: &Subordinate, jwks: &Jwks) -> Value {
    json!({
        "iss": anchor,
        "sub": sub.entity_id,
        "jwks": jwks,
        "metadata_policy": sub.metadata_policy,
        "constraints": {"max_path_length": 0},
        "source_endpoint": format!("{anchor}{FETCH_PATH}"),
    })
}

/// A hosted entity's configuration (without `iat`/`exp`), signed with the
/// directory's federation key on its behalf: its metadata, the Trust Anchor as its
/// authority, and its trust marks.
pub fn hosted_configuration(anchor: &str, sub: &Subordinate, jwks: &Jwks, marks: &[(String, String)]) -> Value {
    json!({
        "iss": sub.entity_id,
        "sub": sub.entity_id,
        "jwks": jwks,
        "authority_hints": [anchor],
        "metadata": sub.metadata,
        "trust_marks": trust_marks_claim(marks),
    })
}

/// `trust_marks` as an entity configuration and a resolve response carry them: the
/// final specification's `trust_mark_type`, and the same value as `id`, the name of
/// the drafts before it, which deployed clients still require (an unknown member is
/// ignored by the others).
pub fn trust_marks_claim(marks: &[(String, String)]) -> Value {
    Value::Array(
        marks
            .iter()
            .map(|(t, jwt)| json!({"trust_mark_type": t, "id": t, "trust_mark": jwt}))
            .collect(),
    )
}

/// The public metadata of a hosted authorisation server (public record fields only),
/// with what the Trust Anchor's policy for it requires stated outright: the FAPI
/// authentication methods, `scopes_supported` as its roles allow (when they name
/// scopes), and explicit (dynamic) client registration, as the ecosystem's
/// authorisation servers offer.
pub fn hosted_metadata(org: &ExportOrganisation, server: &ExportAuthorisationServer, policy: &Value) -> Value {
    let f = &server.fields;
    let mut entity = Map::new();
    let put = |m: &mut Map<String, Value>, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    put(&mut entity, "organization_name", &org.organisation_name);
    put(&mut entity, "display_name", &f.customer_friendly_name);
    put(&mut entity, "description", &f.customer_friendly_description);
    put(&mut entity, "logo_uri", &f.customer_friendly_logo_uri);
    put(&mut entity, "homepage_uri", &f.developer_portal_uri);
    put(&mut entity, "policy_uri", &f.terms_of_service_uri);
    let mut provider = Map::new();
    put(&mut provider, "issuer", &f.issuer);
    put(&mut provider, "organization_name", &org.organisation_name);
    put(&mut provider, "service_documentation", &f.developer_portal_uri);
    put(&mut provider, "op_tos_uri", &f.terms_of_service_uri);
    provider.insert("client_registration_types_supported".into(), json!(["explicit"]));
    provider.insert(
        "token_endpoint_auth_methods_supported".into(),
        json!(super::policy::FAPI_AUTH_METHODS),
    );
    if let Some(scopes) = policy.pointer("/openid_provider/scopes_supported/subset_of") {
        provider.insert("scopes_supported".into(), scopes.clone());
    }
    json!({"federation_entity": entity, "openid_provider": provider})
}

/// A trust mark's claims (without `iat`/`exp`).
pub fn trust_mark(anchor: &str, sub: &str, mark_type: &str) -> Value {
    json!({"iss": anchor, "sub": sub, "trust_mark_type": mark_type, "id": mark_type})
}

/// A trust mark's status, as the status endpoint answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkStatus {
    Active,
    Expired,
    Revoked,
    Invalid,
}

impl MarkStatus {
    /// Its wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
            Self::Invalid => "invalid",
        }
    }
}

/// A trust mark status response's claims (without `iat`).
pub fn status_response(anchor: &str, trust_mark: &str, status: MarkStatus) -> Value {
    json!({"iss": anchor, "trust_mark": trust_mark, "status": status.as_str()})
}

/// A resolve response's claims (without `iat`/`exp`).
pub fn resolve_response(
    anchor: &str,
    sub: &str,
    metadata: &Value,
    marks: &[(String, String)],
    chain: &[String],
) -> Value {
    json!({
        "iss": anchor,
        "sub": sub,
        "metadata": metadata,
        "trust_marks": trust_marks_claim(marks),
        "trust_chain": chain,
    })
}

/// The historical keys response's claims (without `iat`): every retired federation
/// key the history keeps, with `iat` when it started signing and `exp` when rotation
/// retired it (the current key is in the entity configuration, not here; keys are
/// retired by rotation, never revoked here).
pub fn historical_keys(anchor: &str, history: &KeyHistory, now: i64) -> Value {
    let keys: Vec<Value> = history
        .keys
        .iter()
        .filter(|k| k.retired.is_some_and(|r| r + ROTATION_WINDOW_SECS > now))
        .map(|k| {
            let mut jwk = serde_json::to_value(crate::signature::Jwk {
                exp: None,
                ..k.jwk.clone()
            })
            .unwrap_or_default();
            if let Some(o) = jwk.as_object_mut() {
                o.insert("iat".into(), json!(k.since));
                if let Some(retired) = k.retired {
                    o.insert("exp".into(), json!(retired));
                }
            }
            jwk
        })
        .collect();
    json!({"iss": anchor, "keys": keys})
}

/// `claims` with `iat` and `exp` set.
pub fn timed(mut claims: Value, iat: i64, exp: Option<i64>) -> Value {
    if let Some(o) = claims.as_object_mut() {
        o.insert("iat".into(), json!(iat));
        if let Some(exp) = exp {
            o.insert("exp".into(), json!(exp));
        }
    }
    claims
}
