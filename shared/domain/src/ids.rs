//! Path ids as small types carrying their documented rule, so a handler cannot
//! pass an unchecked value to the store and a store method cannot take its ids in
//! the wrong order.

use crate::validate::{self, rules};
use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $param:literal, $rule:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The path parameter (and field) name.
            pub const PARAM: &'static str = $param;

            /// Checks `value` against the documented rule; the messages name the parameter.
            pub fn parse(value: &str) -> Result<Self, Vec<String>> {
                let problems = validate::path_param($param, value, $rule);
                if problems.is_empty() { Ok(Self(value.to_owned())) } else { Err(problems) }
            }

            /// An id taken from data that was validated when it was stored or imported.
            pub fn stored(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            /// Tests and tools name ids directly; handlers go through [`Self::parse`].
            fn from(value: &str) -> Self {
                Self::stored(value)
            }
        }

        impl From<&String> for $name {
            fn from(value: &String) -> Self {
                Self::stored(value.as_str())
            }
        }
    };
}

id_type!(
    /// `OrganisationId`: 1–40 characters, no `<>`, an identifier.
    OrganisationId,
    "OrganisationId",
    rules::ID40
);
id_type!(
    /// `OrganisationAuthorityClaimId`: a UUID of at most 40 characters.
    ClaimId,
    "OrganisationAuthorityClaimId",
    rules::UUID40
);
id_type!(
    /// `AuthorisationServerId`: at most 40 characters, no `<>`, an identifier (as stored).
    ServerId,
    "AuthorisationServerId",
    rules::IDENT40
);
id_type!(
    /// `ApiResourceId`: at most 40 characters, no `<>`, an identifier (as stored).
    ResourceId,
    "ApiResourceId",
    rules::IDENT40
);

/// Keeps a parsed id, or adds its problems to `problems` (so every bad id of a
/// request is reported at once).
pub fn collect<T>(parsed: Result<T, Vec<String>>, problems: &mut Vec<String>) -> Option<T> {
    parsed.map_err(|p| problems.extend(p)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_rule() {
        assert!(OrganisationId::parse("c5de3366-d2fb-5b13-9457-76244d8fd242").is_ok());
        assert_eq!(
            OrganisationId::parse(&"x".repeat(41)).unwrap_err(),
            ["OrganisationId: longer than 40 characters"]
        );
        assert!(OrganisationId::parse("").is_err());
        assert!(ClaimId::parse("not-a-uuid").is_err());
        assert!(ClaimId::parse("1f34af8a-3d2e-59ad-8d72-64b8c04e5c12").is_ok());
        assert!(ServerId::parse("a<b").is_err());
        let mut problems = Vec::new();
        assert!(collect(ResourceId::parse("<"), &mut problems).is_none());
        assert!(collect(ResourceId::parse("r1"), &mut problems).is_some());
        assert_eq!(problems.len(), 1);
        assert_eq!(ResourceId::from("r1").to_string(), "r1");
        // Path ids are identifiers, as openapi.yaml says and as they are stored.
        for id in [" a", "a ", "a\u{200b}b", "a\u{a0}b"] {
            assert!(OrganisationId::parse(id).is_err(), "{id:?}");
            assert!(ServerId::parse(id).is_err(), "{id:?}");
            assert!(ResourceId::parse(id).is_err(), "{id:?}");
        }
    }
}
