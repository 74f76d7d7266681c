//! What each reader may see of stored data: flags by `AccessLevel` wherever they
//! occur, and secrets never. The rule belongs to the types: data that carries flags
//! or secrets reaches a response only as [`Shown`], which exists only once
//! [`Visible::restrict`] has run for the reader (docs/design.md, "Visibility").

use super::common::Flag;
use super::organisation::OrganisationDetails;
use super::server::AuthorisationServer;
use super::snapshot::{OrganisationSnapshot, SoftwareStatements};
use serde::{Serialize, Serializer};
use serde_json::Value;

/// Who reads a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Anyone in the ecosystem (the participants file).
    Public,
    /// The organisation itself (a participant reading its own snapshot).
    Member,
    /// `directory:admin`: the operator.
    Admin,
}

impl Audience {
    /// Whether a flag of `level` (`None`: no level) may be shown: 0 to everyone, 1
    /// also to the organisation itself, 2 and above, or no level, to admin only.
    pub fn sees_level(self, level: Option<u64>) -> bool {
        match (self, level) {
            (Self::Admin, _) => true,
            (Self::Member, Some(l)) => l <= 1,
            (Self::Public, Some(l)) => l == 0,
            (_, None) => false,
        }
    }
}

/// Fields that hold a secret: never stored by an import, never shown to anyone
/// (admins included), never put in an audit record's values.
pub const SECRET_FIELDS: [&str; 1] = ["ClientSecret"];

/// Data that carries flags or secrets.
pub trait Visible {
    /// Removes what `audience` may not see.
    fn restrict(&mut self, audience: Audience);
}

/// A value restricted for its reader: the only form in which data with flags or
/// secrets is handed to a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown<T>(T);

impl<T: Visible> Shown<T> {
    /// `value` with everything `audience` may not see removed.
    pub fn to(audience: Audience, mut value: T) -> Self {
        value.restrict(audience);
        Self(value)
    }
}

impl<T> Shown<T> {
    /// The restricted value.
    pub fn get(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl Visible for Vec<Flag> {
    fn restrict(&mut self, audience: Audience) {
        self.retain(|f| audience.sees_level(f.access_level.map(u64::from)));
    }
}

impl Visible for OrganisationDetails {
    fn restrict(&mut self, audience: Audience) {
        self.flags.restrict(audience);
    }
}

impl Visible for AuthorisationServer {
    fn restrict(&mut self, audience: Audience) {
        self.flags.restrict(audience);
    }
}

/// Software statements are kept as imported JSON: their flags are
/// `SoftwareDetails.Flags[]` with a numeric `AccessLevel` (a flag whose level is not
/// a number counts as having none), and secrets are removed wherever they occur.
impl Visible for SoftwareStatements {
    fn restrict(&mut self, audience: Audience) {
        for statement in self.values_mut() {
            remove_secrets(statement);
            if let Some(Value::Array(flags)) = statement.pointer_mut("/SoftwareDetails/Flags") {
                flags.retain(|f| audience.sees_level(f.get("AccessLevel").and_then(Value::as_u64)));
            }
        }
    }
}

impl Visible for OrganisationSnapshot {
    fn restrict(&mut self, audience: Audience) {
        self.organisation_details.restrict(audience);
        for server in &mut self.authorisation_servers {
            server.restrict(audience);
        }
        self.software_statements.restrict(audience);
    }
}

/// Removes every secret field (see [`SECRET_FIELDS`]) at any depth; how many it removed.
pub fn remove_secrets(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, _| !SECRET_FIELDS.contains(&k.as_str()));
            let removed = before - map.len();
            removed + map.values_mut().map(remove_secrets).sum::<usize>()
        }
        Value::Array(items) => items.iter_mut().map(remove_secrets).sum(),
        _ => 0,
    }
}

/// Replaces the value of every secret field at any depth with `"(secret)"` (audit
/// records name the change, never the value).
pub fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str()) {
                    *v = Value::String("(secret)".to_owned());
                } else {
                    mask_secrets(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn flags(levels: &[Option<u64>]) -> Value {
        Value::Array(
            levels
                .iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut f = json!({"Name": format!("f{i}"), "Status": "Active"});
                    if let Some(l) = l {
                        f["AccessLevel"] = json!(l);
                    }
                    f
                })
                .collect(),
        )
    }

    const LEVELS: [Option<u64>; 5] = [Some(0), Some(1), Some(2), Some(3), None];

    fn names(v: &Value) -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| f["Name"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn one_rule_for_every_place_a_flag_occurs() {
        let snapshot: OrganisationSnapshot = serde_json::from_value(json!({
            "OrganisationDetails": {"OrganisationId": "o", "Flags": flags(&LEVELS)},
            "AuthorisationServers": [{"AuthorisationServerId": "as", "Flags": flags(&LEVELS)}],
            "SoftwareStatements": {"ss": {"SoftwareDetails": {
                "Flags": flags(&LEVELS), "ClientSecret": "s3cr3t", "TokenEndpointAuthMethod": "client_secret_basic"}}}
        }))
        .unwrap();
        for (audience, expected) in [
            (Audience::Member, vec!["f0", "f1"]),
            (Audience::Admin, vec!["f0", "f1", "f2", "f3", "f4"]),
            (Audience::Public, vec!["f0"]),
        ] {
            let shown = serde_json::to_value(Shown::to(audience, snapshot.clone())).unwrap();
            assert_eq!(names(&shown["OrganisationDetails"]["Flags"]), expected, "{audience:?}");
            assert_eq!(
                names(&shown["AuthorisationServers"][0]["Flags"]),
                expected,
                "{audience:?}"
            );
            let details = &shown["SoftwareStatements"]["ss"]["SoftwareDetails"];
            assert_eq!(names(&details["Flags"]), expected, "{audience:?}");
            assert!(details.get("ClientSecret").is_none(), "{audience:?}: secret shown");
            assert_eq!(details["TokenEndpointAuthMethod"], "client_secret_basic");
        }
    }

    #[test]
    fn a_level_that_is_not_a_number_is_no_level() {
        let mut statements = SoftwareStatements::new();
        statements.insert(
            "ss".into(),
            json!({"SoftwareDetails": {"Flags": [{"Name": "x", "AccessLevel": "0"}, {"Name": "y", "AccessLevel": -1}]}}),
        );
        statements.restrict(Audience::Member);
        assert_eq!(
            names(&statements["ss"]["SoftwareDetails"]["Flags"]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn secrets_are_removed_or_masked_at_any_depth() {
        let mut v = json!({"a": {"ClientSecret": "x", "b": [{"ClientSecret": "y"}]}, "ClientSecret": "z"});
        let mut masked = v.clone();
        assert_eq!(remove_secrets(&mut v), 3);
        assert_eq!(v, json!({"a": {"b": [{}]}}));
        mask_secrets(&mut masked);
        assert!(!masked.to_string().contains('x') && !masked.to_string().contains("\"z\""));
        assert_eq!(masked["a"]["b"][0]["ClientSecret"], "(secret)");
    }
}
