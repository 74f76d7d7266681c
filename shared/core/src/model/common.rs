//! Enums and small objects shared by several API documents.

use serde::{Deserialize, Serialize};

/// Status of an organisation's directory registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum OrganisationStatus {
    #[default]
    Active,
    Pending,
    Withdrawn,
}

/// `Active` / `Inactive`: "Current status of this resource".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ResourceStatus {
    #[default]
    Active,
    Inactive,
}

impl ResourceStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Inactive => "Inactive",
        }
    }
}

/// The certification status values shared by API resources and certifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum CertificationStatus {
    #[default]
    #[serde(rename = "Awaiting Certification")]
    AwaitingCertification,
    Certified,
    Deprecated,
    Rejected,
    Warning,
    #[serde(rename = "Self-Certified")]
    SelfCertified,
}

/// `Status` of an authorisation-server certification: the snapshot document gives
/// Active/Inactive, the export example certification statuses; both are accepted
/// and the stored value is copied to both outputs (docs/design.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ServerCertificationRecordStatus {
    #[default]
    Active,
    Inactive,
    #[serde(rename = "Awaiting Certification")]
    AwaitingCertification,
    Certified,
    Deprecated,
    Rejected,
    Warning,
    #[serde(rename = "Self-Certified")]
    SelfCertified,
}

/// The resource a flag belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FlagType {
    Organisation,
    #[serde(rename = "Software_Statement")]
    SoftwareStatement,
    #[serde(rename = "Authorisation_Server")]
    AuthorisationServer,
}

/// Status of an authorisation server's notification webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum NotificationWebhookStatus {
    #[default]
    Pending,
    Confirmed,
    Deactivated,
}

/// A flag in the snapshot shape (array element with `AccessLevel`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Flag {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "Type", skip_serializing_if = "Option::is_none")]
    pub flag_type: Option<FlagType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default)]
    pub status: ResourceStatus,
    /// Sensitivity: 0 is public; absent is treated as not public.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_level: Option<u32>,
}

impl Flag {
    /// Only Active flags of access level 0 are public (export).
    pub fn is_public(&self) -> bool {
        self.status == ResourceStatus::Active && self.access_level == Some(0)
    }
}

/// Flags in the export shape: `{ Name: [Value, ...] }` built from public flags only.
pub type FlagMap = std::collections::BTreeMap<String, Vec<String>>;

/// Builds the export flag map from snapshot flags: public flags only, names sorted,
/// values in their stored order.
pub fn public_flag_map(flags: &[Flag]) -> FlagMap {
    let mut map = FlagMap::new();
    for flag in flags.iter().filter(|f| f.is_public()) {
        if let Some(name) = &flag.name {
            let values = map.entry(name.clone()).or_default();
            if let Some(value) = &flag.value {
                values.push(value.clone());
            }
        }
    }
    map
}

/// The error body of every client error: `{"errors": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub errors: Vec<String>,
}
