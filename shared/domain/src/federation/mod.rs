//! The directory as an OpenID Federation 1.0 Trust Anchor (docs/design.md, "OpenID
//! Federation"): which entities it vouches for and what it says about them. Pure: the
//! statements' claims are built here from an organisation's public record, the
//! reference data's roles and the pinned keys; signing, caching and fetching are the
//! use cases'.
//!
//! The federation is flat: the directory is the Trust Anchor and the only issuer, and
//! every subordinate is a leaf (an authorisation server of an `Active` organisation
//! that has opted in by carrying federation fields in its public record).

pub mod policy;
pub mod statements;

use crate::model::common::{OrganisationStatus, ResourceStatus};
use crate::model::export::ExportOrganisation;
use crate::model::reference::ReferenceData;
use crate::signature::Jwks;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The JWT `typ` of entity configurations and subordinate statements.
pub const ENTITY_STATEMENT_TYP: &str = "entity-statement+jwt";
/// The JWT `typ` of a trust mark.
pub const TRUST_MARK_TYP: &str = "trust-mark+jwt";
/// The JWT `typ` of a trust mark status response.
pub const TRUST_MARK_STATUS_TYP: &str = "trust-mark-status-response+jwt";
/// The JWT `typ` of a resolve response.
pub const RESOLVE_TYP: &str = "resolve-response+jwt";
/// The JWT `typ` of the historical keys response.
pub const JWK_SET_TYP: &str = "jwk-set+jwt";

/// The media type of a signed answer of `typ` (`application/<typ>`).
pub fn media_type(typ: &str) -> String {
    format!("application/{typ}")
}

/// Where an entity publishes its entity configuration, after its identifier.
pub const WELL_KNOWN: &str = "/.well-known/openid-federation";
/// The fetch endpoint's path (subordinate statements).
pub const FETCH_PATH: &str = "/federation/fetch";
/// The list endpoint's path.
pub const LIST_PATH: &str = "/federation/list";
/// The resolve endpoint's path.
pub const RESOLVE_PATH: &str = "/federation/resolve";
/// The trust mark status endpoint's path.
pub const TRUST_MARK_STATUS_PATH: &str = "/federation/trust-mark-status";
/// The trust mark list endpoint's path.
pub const TRUST_MARK_LIST_PATH: &str = "/federation/trust-mark-list";
/// The trust mark endpoint's path.
pub const TRUST_MARK_PATH: &str = "/federation/trust-mark";
/// The historical keys endpoint's path.
pub const HISTORICAL_KEYS_PATH: &str = "/federation/historical-keys";
/// Where hosted (federation-managed) entities live, below the Trust Anchor.
pub const HOSTED_PREFIX: &str = "/federation/entities";

/// How long an entity statement is valid (the ceiling: 24 h).
pub const STATEMENT_LIFETIME_SECS: i64 = 24 * 3600;
/// A cached statement is re-signed when less than this is left, so every one served
/// stays valid for at least this long in a relying party's cache.
pub const STATEMENT_REFRESH_SECS: i64 = 6 * 3600;
/// How long a trust mark is valid: short, so a withdrawn role stops being vouched
/// for within the hour even by a relying party that never asks the status endpoint.
pub const TRUST_MARK_LIFETIME_SECS: i64 = 3600;
/// A cached trust mark is re-signed when less than this is left.
pub const TRUST_MARK_REFRESH_SECS: i64 = 15 * 60;
/// How long one signed status answer is served again for the same mark and status
/// (a change of status is a new answer at once).
pub const STATUS_REUSE_SECS: i64 = 300;

/// The entity types a subordinate of the directory has.
pub const LEAF_ENTITY_TYPES: [&str; 2] = ["federation_entity", "openid_provider"];

/// The trust mark type of a role (`<trust anchor>/trust-marks/roles/<ROLE>`): a URL
/// under the Trust Anchor, so the type says who defines it.
pub fn trust_mark_type(anchor: &str, role: &str) -> String {
    format!("{anchor}/trust-marks/roles/{role}")
}

/// The role a trust mark type of this anchor names, if it is one.
pub fn role_of_trust_mark_type<'a>(anchor: &str, mark_type: &'a str) -> Option<&'a str> {
    mark_type
        .strip_prefix(anchor)?
        .strip_prefix("/trust-marks/roles/")
        .filter(|r| !r.is_empty() && !r.contains('/'))
}

/// The entity identifier of a hosted authorisation server.
pub fn hosted_entity_id(anchor: &str, organisation_id: &str, server_id: &str) -> String {
    format!("{anchor}{HOSTED_PREFIX}/{organisation_id}/{server_id}")
}

/// The organisation and server a hosted entity identifier of this anchor names.
pub fn hosted_ids<'a>(anchor: &str, entity_id: &'a str) -> Option<(&'a str, &'a str)> {
    let rest = entity_id
        .strip_prefix(anchor)?
        .strip_prefix(HOSTED_PREFIX)?
        .strip_prefix('/')?;
    let (org, server) = rest.split_once('/')?;
    (!org.is_empty() && !server.is_empty() && !server.contains('/')).then_some((org, server))
}

/// Where the entity configuration of `entity_id` is published.
pub fn configuration_url(entity_id: &str) -> String {
    format!("{}{WELL_KNOWN}", entity_id.trim_end_matches('/'))
}

/// The federation keys an admin pinned for a self-managed entity: the only keys the
/// directory vouches for it with, whatever its URL serves later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pin {
    /// The entity identifier (an authorisation server's `FederationEndpoint`).
    pub entity_id: String,
    /// The organisation whose authorisation server it is.
    pub organisation_id: String,
    /// Its federation keys (P-256).
    pub jwks: Jwks,
    /// When they were pinned (NumericDate).
    pub pinned_at: i64,
    /// Who pinned them (the admin's client id).
    pub pinned_by: String,
    /// `fetched` (from its entity configuration, self-signature checked) or `registered`.
    pub source: String,
    /// The store's version of the pin (0 before it is written).
    #[serde(default)]
    pub version: u64,
}

/// How a subordinate's entity configuration is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Management {
    /// It publishes its own (`FederationEndpoint`), signed with its pinned keys.
    SelfManaged,
    /// The directory hosts it (`FederationId` without an endpoint), signed with the
    /// directory's federation key on the entity's behalf.
    Hosted,
}

/// One subordinate (leaf) of the Trust Anchor.
#[derive(Debug, Clone, PartialEq)]
pub struct Subordinate {
    pub entity_id: String,
    pub organisation_id: String,
    pub management: Management,
    /// The authorisation server ids it stands for (one endpoint may serve several).
    pub servers: Vec<String>,
    /// The roles of the organisation's `Active` role claims (its trust marks).
    pub roles: BTreeSet<String>,
    /// The pinned keys (self-managed only).
    pub pinned: Option<Jwks>,
    /// The hosted entity's metadata (hosted only; a self-managed entity says its own).
    pub metadata: serde_json::Value,
    /// What the Trust Anchor's policy does to its metadata.
    pub metadata_policy: serde_json::Value,
}

impl Subordinate {
    /// Its trust mark types.
    pub fn trust_mark_types(&self, anchor: &str) -> Vec<String> {
        self.roles.iter().map(|r| trust_mark_type(anchor, r)).collect()
    }
}

/// The scopes each role allows, from the reference data's roles (`Metadata.scopes`):
/// the ecosystem's own rule, not ours.
pub fn role_scopes(reference: &ReferenceData) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for role in &reference.authorisation_domain_roles {
        if let Some(scopes) = role.metadata.get("scopes").and_then(|s| s.as_array()) {
            let entry = out.entry(role.role.clone()).or_default();
            entry.extend(scopes.iter().filter_map(|s| s.as_str().map(str::to_owned)));
            entry.sort_unstable();
            entry.dedup();
        }
    }
    out
}

/// Whether `id` can be an entity identifier here: an https URL (http to loopback
/// when `loopback` is allowed, as on the local server) with a host, no query or
/// fragment.
pub fn valid_entity_id(id: &str, loopback: bool) -> bool {
    let rest = if let Some(rest) = id.strip_prefix("https://") {
        rest
    } else if let Some(rest) = id.strip_prefix("http://").filter(|_| loopback) {
        let host = rest.split(['/', ':']).next().unwrap_or_default();
        if !(host == "127.0.0.1" || host == "localhost" || rest.starts_with("[::1]")) {
            return false;
        }
        rest
    } else {
        return false;
    };
    let host = rest.split('/').next().unwrap_or_default();
    !host.is_empty() && id.len() <= 255 && !id.contains(['?', '#', ' ', '"', '<', '>', '\\']) && !id.contains("//.")
}

/// The subordinates one organisation's public record gives: none unless it is
/// `Active`; an `Active` (or status-less) authorisation server with a
/// `FederationEndpoint` is a self-managed entity once its keys are pinned, one with a
/// `FederationId` and no endpoint is hosted by the directory.
pub fn subordinates(
    anchor: &str,
    org: &ExportOrganisation,
    pins: &BTreeMap<String, Pin>,
    scopes: &BTreeMap<String, Vec<String>>,
    loopback: bool,
) -> Vec<Subordinate> {
    if org.status != OrganisationStatus::Active {
        return Vec::new();
    }
    let roles: BTreeSet<String> = org
        .org_domain_role_claims
        .iter()
        .filter(|c| c.status == ResourceStatus::Active)
        .filter_map(|c| c.role.clone())
        .collect();
    let metadata_policy = policy::derive(&roles, scopes);
    let mut out: Vec<Subordinate> = Vec::new();
    for server in &org.authorisation_servers {
        let f = &server.fields;
        if f.status.as_deref().is_some_and(|s| s != "Active") {
            continue;
        }
        let (entity_id, management, pinned) = match (&f.federation_endpoint, &f.federation_id) {
            (Some(endpoint), _) => {
                let Some(pin) = pins.get(endpoint).filter(|p| p.organisation_id == org.organisation_id) else {
                    continue;
                };
                if !valid_entity_id(endpoint, loopback) {
                    continue;
                }
                (endpoint.clone(), Management::SelfManaged, Some(pin.jwks.clone()))
            }
            (None, Some(_)) => (
                hosted_entity_id(anchor, &org.organisation_id, &f.authorisation_server_id),
                Management::Hosted,
                None,
            ),
            (None, None) => continue,
        };
        if let Some(existing) = out.iter_mut().find(|s| s.entity_id == entity_id) {
            existing.servers.push(f.authorisation_server_id.clone());
            continue;
        }
        let metadata = match management {
            Management::Hosted => statements::hosted_metadata(org, server, &metadata_policy),
            Management::SelfManaged => serde_json::Value::Null,
        };
        out.push(Subordinate {
            entity_id,
            organisation_id: org.organisation_id.clone(),
            management,
            servers: vec![f.authorisation_server_id.clone()],
            roles: roles.clone(),
            pinned,
            metadata,
            metadata_policy: metadata_policy.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_round_trip_and_foreign_ones_do_not_parse() {
        let a = "https://directory.example";
        let id = hosted_entity_id(a, "org-1", "as-1");
        assert_eq!(id, "https://directory.example/federation/entities/org-1/as-1");
        assert_eq!(hosted_ids(a, &id), Some(("org-1", "as-1")));
        assert_eq!(hosted_ids(a, "https://other.example/federation/entities/o/s"), None);
        assert_eq!(hosted_ids(a, &format!("{id}/x")), None);
        let t = trust_mark_type(a, "PAGTO");
        assert_eq!(role_of_trust_mark_type(a, &t), Some("PAGTO"));
        assert_eq!(
            role_of_trust_mark_type(a, "https://other.example/trust-marks/roles/PAGTO"),
            None
        );
        assert_eq!(
            configuration_url("https://fed.example/"),
            "https://fed.example/.well-known/openid-federation"
        );
    }

    #[test]
    fn entity_ids_are_https_urls_or_loopback_http_locally() {
        assert!(valid_entity_id("https://fed.example.com/", false));
        assert!(valid_entity_id("https://fed.example.com/tenant", false));
        assert!(!valid_entity_id("http://fed.example.com/", false));
        assert!(!valid_entity_id("http://127.0.0.1:9000", false));
        assert!(valid_entity_id("http://127.0.0.1:9000", true));
        assert!(!valid_entity_id("http://10.0.0.1:9000", true));
        assert!(!valid_entity_id("https://fed.example.com/?q=1", false));
        assert!(!valid_entity_id("https://", false));
    }
}
