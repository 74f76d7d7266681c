//! The organisation snapshot (openapi.yaml: getOrganisationSnapshot) and the import file.

use super::certificate::OrganisationCertificate;
use super::claims::{AuthorityClaim, DomainClaim};
use super::organisation::{Contact, OrganisationDetails};
use super::reference::ReferenceData;
use super::server::AuthorisationServer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Software statements keyed by id; each kept exactly as imported (the API reference lost
/// most of `SoftwareDetails`' field names, so the named ones are validated and the
/// rest is carried through untouched).
pub type SoftwareStatements = Map<String, Value>;

/// Everything the directory holds about one organisation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganisationSnapshot {
    pub organisation_details: OrganisationDetails,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub authorisation_servers: Vec<AuthorisationServer>,
    #[serde(default)]
    pub org_domain_claims: Vec<DomainClaim>,
    #[serde(default)]
    pub org_domain_role_claims: Vec<AuthorityClaim>,
    #[serde(default)]
    pub software_statements: SoftwareStatements,
    #[serde(default)]
    pub organisation_certificates: Vec<OrganisationCertificate>,
}

impl OrganisationSnapshot {
    /// The organisation's id.
    pub fn id(&self) -> &str {
        &self.organisation_details.organisation_id
    }
}

/// The import file (also the demo data format): reference data plus snapshots.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportFile {
    #[serde(flatten)]
    pub reference: ReferenceData,
    #[serde(default)]
    pub organisations: Vec<OrganisationSnapshot>,
}
