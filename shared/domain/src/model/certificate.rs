//! Organisation certificates (private: never exported).

use serde::{Deserialize, Serialize};

/// An organisation certificate as listed in a snapshot.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OrganisationCertificate {
    #[serde(rename = "OrganisationId", skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    #[serde(rename = "SoftwareStatementIds", default)]
    pub software_statement_ids: Vec<String>,
    #[serde(rename = "ClientName", skip_serializing_if = "Option::is_none")]
    pub client_name: Option<String>,
    #[serde(rename = "Status", skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "ValidFromDateTime", skip_serializing_if = "Option::is_none")]
    pub valid_from_date_time: Option<String>,
    #[serde(rename = "RevokedDateTime", skip_serializing_if = "Option::is_none")]
    pub revoked_date_time: Option<String>,
    #[serde(rename = "ExpiryDateTime", skip_serializing_if = "Option::is_none")]
    pub expiry_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(rename = "keyType", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kty: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    #[serde(default)]
    pub x5c: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5t: Option<String>,
    #[serde(rename = "x5thashS256", skip_serializing_if = "Option::is_none")]
    pub x5t_hash_s256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5u: Option<String>,
    #[serde(rename = "SignedCertPath", skip_serializing_if = "Option::is_none")]
    pub signed_cert_path: Option<String>,
    #[serde(rename = "JwkPath", skip_serializing_if = "Option::is_none")]
    pub jwk_path: Option<String>,
    #[serde(rename = "OrgJwkPath", skip_serializing_if = "Option::is_none")]
    pub org_jwk_path: Option<String>,
}
