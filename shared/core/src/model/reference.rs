//! Reference data: authorities, authorisation domains and domain roles.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// An authority (e.g. a central bank) that grants role claims.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Authority {
    pub authority_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_name: Option<String>,
}

/// An authorisation domain (e.g. Open Finance).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorisationDomain {
    #[serde(rename = "AuthorisationDomainID")]
    pub authorisation_domain_id: String,
    pub authorisation_domain_name: String,
}

/// A role of an authorisation domain; `Exclusive` roles exclude every other role.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainRole {
    pub authorisation_domain_role_identifier: String,
    #[serde(rename = "AuthorisationDomainID")]
    pub authorisation_domain_id: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_type: Option<String>,
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// All reference data, as one unit (import format and store read).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReferenceData {
    #[serde(default)]
    pub authorities: Vec<Authority>,
    #[serde(default)]
    pub authorisation_domains: Vec<AuthorisationDomain>,
    #[serde(default)]
    pub authorisation_domain_roles: Vec<DomainRole>,
}

impl ReferenceData {
    /// The authority with this id.
    pub fn authority(&self, id: &str) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.authority_id == id)
    }

    /// The domain with this id.
    pub fn domain(&self, id: &str) -> Option<&AuthorisationDomain> {
        self.authorisation_domains
            .iter()
            .find(|d| d.authorisation_domain_id == id)
    }

    /// The role with this identifier.
    pub fn role(&self, id: &str) -> Option<&DomainRole> {
        self.authorisation_domain_roles
            .iter()
            .find(|r| r.authorisation_domain_role_identifier == id)
    }

    /// The role named `role` in the domain named `domain` (deprecated lookup by names).
    pub fn role_by_names(&self, domain: &str, role: &str) -> Option<&DomainRole> {
        let domain_id = &self
            .authorisation_domains
            .iter()
            .find(|d| d.authorisation_domain_name == domain)?
            .authorisation_domain_id;
        self.authorisation_domain_roles
            .iter()
            .find(|r| &r.authorisation_domain_id == domain_id && r.role == role)
    }
}
