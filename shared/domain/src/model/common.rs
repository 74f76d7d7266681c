//! Enums and small objects shared by several API documents.

use serde::{Deserialize, Serialize};

/// An enum as the API spells it: the variants, their wire names and the list of
/// values the validation tables accept all come from one declaration.
macro_rules! wire_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vm])* #[serde(rename = $wire)] $variant),+
        }

        impl $name {
            /// Every value, spelled as on the wire (what the validation tables accept).
            pub const VALUES: &'static [&'static str] = &[$($wire),+];
            /// Every variant, in the order of [`Self::VALUES`].
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire),+
                }
            }
        }
    };
}

wire_enum!(
    /// Status of an organisation's directory registration.
    #[derive(Default)]
    OrganisationStatus {
        #[default]
        Active = "Active",
        Pending = "Pending",
        Withdrawn = "Withdrawn",
    }
);

wire_enum!(
    /// `Active` / `Inactive`: "Current status of this resource".
    #[derive(Default)]
    ResourceStatus {
        #[default]
        Active = "Active",
        Inactive = "Inactive",
    }
);

wire_enum!(
    /// The certification status values shared by API resources and certifications.
    #[derive(Default)]
    CertificationStatus {
        #[default]
        AwaitingCertification = "Awaiting Certification",
        Certified = "Certified",
        Deprecated = "Deprecated",
        Rejected = "Rejected",
        Warning = "Warning",
        SelfCertified = "Self-Certified",
    }
);

wire_enum!(
    /// `Status` of an authorisation-server certification: the snapshot document gives
    /// Active/Inactive, the export example certification statuses; both are accepted
    /// and the stored value is copied to both outputs (docs/design.md).
    #[derive(Default)]
    ServerCertificationRecordStatus {
        #[default]
        Active = "Active",
        Inactive = "Inactive",
        AwaitingCertification = "Awaiting Certification",
        Certified = "Certified",
        Deprecated = "Deprecated",
        Rejected = "Rejected",
        Warning = "Warning",
        SelfCertified = "Self-Certified",
    }
);

wire_enum!(
    /// The resource a flag belongs to.
    FlagType {
        Organisation = "Organisation",
        SoftwareStatement = "Software_Statement",
        AuthorisationServer = "Authorisation_Server",
    }
);

wire_enum!(
    /// Status of an authorisation server's notification webhook.
    #[derive(Default)]
    NotificationWebhookStatus {
        #[default]
        Pending = "Pending",
        Confirmed = "Confirmed",
        Deactivated = "Deactivated",
    }
);

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

#[cfg(test)]
mod wire_tests {
    use super::*;

    fn round_trips<T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug + Copy>(
        all: &[T],
        values: &[&str],
        as_str: fn(T) -> &'static str,
    ) {
        assert_eq!(all.len(), values.len());
        for (v, wire) in all.iter().zip(values) {
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(wire));
            assert_eq!(serde_json::from_value::<T>(serde_json::json!(wire)).unwrap(), *v);
            assert_eq!(as_str(*v), *wire);
        }
    }

    #[test]
    fn every_enum_value_is_spelled_once() {
        round_trips(
            OrganisationStatus::ALL,
            OrganisationStatus::VALUES,
            OrganisationStatus::as_str,
        );
        round_trips(ResourceStatus::ALL, ResourceStatus::VALUES, ResourceStatus::as_str);
        round_trips(
            CertificationStatus::ALL,
            CertificationStatus::VALUES,
            CertificationStatus::as_str,
        );
        round_trips(
            ServerCertificationRecordStatus::ALL,
            ServerCertificationRecordStatus::VALUES,
            ServerCertificationRecordStatus::as_str,
        );
        round_trips(FlagType::ALL, FlagType::VALUES, FlagType::as_str);
        round_trips(
            NotificationWebhookStatus::ALL,
            NotificationWebhookStatus::VALUES,
            NotificationWebhookStatus::as_str,
        );
    }
}
