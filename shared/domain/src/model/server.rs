//! Authorisation servers, API resources and certifications.

use super::common::{
    CertificationStatus, Flag, NotificationWebhookStatus, ResourceStatus, ServerCertificationRecordStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

/// An API discovery endpoint of an API resource.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiDiscoveryEndpoint {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_discovery_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_endpoint: Option<String>,
}

/// An API resource of an authorisation server, as nested in snapshot and export.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiResource {
    #[serde(default)]
    pub api_discovery_endpoints: Vec<ApiDiscoveryEndpoint>,
    #[serde(default)]
    pub api_metadata: Map<String, Value>,
    pub api_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_complete: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_certification_uri: Option<String>,
    #[serde(default)]
    pub certification_status: CertificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_expiration_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_family_type: Option<String>,
    #[serde(default)]
    pub status: ResourceStatus,
}

/// The body of `GET .../apiresources/{ApiResourceId}`: exactly the fields of
/// get-api-resource.txt (no discovery endpoints, no metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiResourceResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_certification_uri: Option<String>,
    /// The discovery endpoints (the official schema declares them); left out when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_discovery_endpoints: Vec<ApiDiscoveryEndpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_family_type: Option<String>,
    pub api_resource_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_expiration_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_start_date: Option<String>,
    pub certification_status: CertificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_complete: Option<bool>,
    pub status: ResourceStatus,
}

impl From<ApiResource> for ApiResourceResponse {
    fn from(r: ApiResource) -> Self {
        Self {
            api_certification_uri: r.api_certification_uri,
            api_discovery_endpoints: r.api_discovery_endpoints,
            api_family_type: r.api_family_type,
            api_resource_id: r.api_resource_id,
            api_version: r.api_version,
            certification_expiration_date: r.certification_expiration_date,
            certification_start_date: r.certification_start_date,
            certification_status: r.certification_status,
            family_complete: r.family_complete,
            status: r.status,
        }
    }
}

/// A certification of an authorisation server.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerCertification {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certification_expiration_date: Option<String>,
    pub certification_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorisation_server_id: Option<String>,
    #[serde(default)]
    pub certification_status: CertificationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_variant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_version: Option<Number>,
    #[serde(rename = "CertificationURI", skip_serializing_if = "Option::is_none")]
    pub certification_uri: Option<String>,
    #[serde(default)]
    pub status: ServerCertificationRecordStatus,
}

/// The scalar fields of an authorisation server, shared by snapshot and export.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerFields {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    pub authorisation_server_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_registration_notification_webhook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_registration_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_friendly_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_friendly_logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_friendly_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deprecated_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developer_portal_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_webhook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_webhook_added_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_webhook_status: Option<NotificationWebhookStatus>,
    #[serde(rename = "OpenIDDiscoveryDocument", skip_serializing_if = "Option::is_none")]
    pub open_id_discovery_document: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_authorisation_server_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_signing_cert_location_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retirement_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by_authorisation_server_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supports_ciba: Option<bool>,
    #[serde(rename = "SupportsDCR", skip_serializing_if = "Option::is_none")]
    pub supports_dcr: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supports_redirect: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms_of_service_uri: Option<String>,
}

/// An authorisation server in the snapshot shape (flags as an array).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorisationServer {
    #[serde(default)]
    pub api_resources: Vec<ApiResource>,
    #[serde(default)]
    pub authorisation_server_certifications: Vec<ServerCertification>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    #[serde(flatten)]
    pub fields: ServerFields,
}
