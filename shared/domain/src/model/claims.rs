//! Authority (role) claims, domain claims and the PUT body.

use super::common::ResourceStatus;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One authorisation of a role claim (member state).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Authorisation {
    #[serde(default)]
    pub status: ResourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_state: Option<String>,
}

/// An organisation authority domain role claim: the GET list element, the PUT
/// response, and the snapshot's `OrgDomainRoleClaims` element.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorityClaim {
    #[serde(default)]
    pub authorisations: Vec<Authorisation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exclusive: Option<bool>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    pub organisation_authority_claim_id: String,
    pub authority_id: String,
    pub status: ResourceStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_domain: Option<String>,
    #[serde(rename = "AuthorisationDomainID", skip_serializing_if = "Option::is_none")]
    pub authorisation_domain_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_domain_role_identifier: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(default)]
    pub unique_technical_identifiers: Vec<String>,
}

impl AuthorityClaim {
    /// Active claims count towards the exclusive-role rule.
    pub fn is_active(&self) -> bool {
        self.status == ResourceStatus::Active
    }
}

/// The writable fields of a claim, as accepted by the PUT endpoint after validation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorityClaimUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_domain: Option<String>,
    #[serde(rename = "AuthorisationDomainID", skip_serializing_if = "Option::is_none")]
    pub authorisation_domain_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_domain_role_identifier: Option<String>,
    pub authority_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default)]
    pub unique_technical_identifiers: Vec<String>,
    pub status: ResourceStatus,
}

/// An organisation authority domain claim (`OrgDomainClaims`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainClaim {
    pub organisation_authority_domain_claim_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_domain_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(default)]
    pub status: ResourceStatus,
}
