//! The open-data export item (openapi.yaml: getOpenDataExport): public data only.

use super::claims::{Authorisation, AuthorityClaim, DomainClaim};
use super::common::{
    CertificationStatus, FlagMap, OrganisationStatus, ResourceStatus, ServerCertificationRecordStatus, public_flag_map,
};
use super::server::{ApiResource, AuthorisationServer, ServerCertification, ServerFields};
use super::snapshot::OrganisationSnapshot;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// One organisation of the export file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportOrganisation {
    pub organisation_id: String,
    pub status: OrganisationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_on: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legal_entity_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country_of_registration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_register: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub flags: FlagMap,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line1: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_line2: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_organisation_reference: Option<String>,
    #[serde(default)]
    pub authorisation_servers: Vec<ExportAuthorisationServer>,
    #[serde(default)]
    pub org_domain_claims: Vec<DomainClaim>,
    #[serde(default)]
    pub org_domain_role_claims: Vec<ExportRoleClaim>,
}

/// An authorisation server of the export (flags as a map).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportAuthorisationServer {
    #[serde(default)]
    pub api_resources: Vec<ApiResource>,
    #[serde(default)]
    pub authorisation_server_certifications: Vec<ExportServerCertification>,
    #[serde(default)]
    pub flags: FlagMap,
    #[serde(flatten)]
    pub fields: ServerFields,
}

/// A server certification of the export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportServerCertification {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_expiration_date: Option<String>,
    pub certification_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_server_id: Option<String>,
    pub certification_status: CertificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_variant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_version: Option<Number>,
    #[serde(rename = "CertificationURI", skip_serializing_if = "Option::is_none")]
    pub certification_uri: Option<String>,
    pub status: ServerCertificationRecordStatus,
}

/// A role claim of the export: the documented export fields only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ExportRoleClaim {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_id: Option<String>,
    #[serde(default)]
    pub unique_technical_identifiers: Vec<String>,
}

impl From<ServerCertification> for ExportServerCertification {
    fn from(c: ServerCertification) -> Self {
        Self {
            certification_start_date: c.certification_start_date,
            certification_expiration_date: c.certification_expiration_date,
            certification_id: c.certification_id,
            authorisation_server_id: c.authorisation_server_id,
            certification_status: c.certification_status,
            profile_variant: c.profile_variant,
            profile_type: c.profile_type,
            profile_version: c.profile_version,
            certification_uri: c.certification_uri,
            status: c.status,
        }
    }
}

impl From<AuthorisationServer> for ExportAuthorisationServer {
    fn from(s: AuthorisationServer) -> Self {
        Self {
            flags: public_flag_map(&s.flags),
            api_resources: s.api_resources,
            authorisation_server_certifications: s
                .authorisation_server_certifications
                .into_iter()
                .map(Into::into)
                .collect(),
            fields: s.fields,
        }
    }
}

impl From<AuthorityClaim> for ExportRoleClaim {
    fn from(c: AuthorityClaim) -> Self {
        Self {
            authorisations: c.authorisations,
            role_type: c.role_type,
            exclusive: c.exclusive,
            metadata: c.metadata,
            organisation_id: c.organisation_id,
            organisation_authority_claim_id: c.organisation_authority_claim_id,
            authority_id: c.authority_id,
            status: c.status,
            authorisation_domain: c.authorisation_domain,
            role: c.role,
            registration_id: c.registration_id,
            unique_technical_identifiers: c.unique_technical_identifiers,
        }
    }
}

impl From<OrganisationSnapshot> for ExportOrganisation {
    /// The public projection: contacts, software statements, certificates, private
    /// flags and non-export fields are dropped here and nowhere else.
    fn from(s: OrganisationSnapshot) -> Self {
        let d = s.organisation_details;
        Self {
            flags: public_flag_map(&d.flags),
            organisation_id: d.organisation_id,
            status: d.status,
            organisation_name: d.organisation_name,
            created_on: d.created_on,
            legal_entity_name: d.legal_entity_name,
            country_of_registration: d.country_of_registration,
            company_register: d.company_register,
            tags: d.tags.unwrap_or_default(),
            size: d.size,
            registration_number: d.registration_number,
            registration_id: d.registration_id,
            registered_name: d.registered_name,
            address_line1: d.address_line1,
            address_line2: d.address_line2,
            city: d.city,
            postcode: d.postcode,
            country: d.country,
            parent_organisation_reference: d.parent_organisation_reference,
            authorisation_servers: s.authorisation_servers.into_iter().map(Into::into).collect(),
            org_domain_claims: s.org_domain_claims,
            org_domain_role_claims: s.org_domain_role_claims.into_iter().map(Into::into).collect(),
        }
    }
}
