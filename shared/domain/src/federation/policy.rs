//! Metadata policy (OpenID Federation 1.0 §6.1): what the directory derives from an
//! organisation's roles, and how a policy applies to an entity's metadata (the
//! resolve endpoint applies the one policy of a flat federation: the Trust Anchor's).

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The token endpoint authentication methods the ecosystem's security profile (FAPI)
/// allows; every authorisation server's advertised list is cut to them.
pub const FAPI_AUTH_METHODS: [&str; 3] = ["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"];

/// The Trust Anchor's policy for an organisation's entities with these `Active`
/// roles: `openid_provider.scopes_supported` cut to `openid` and the scopes the
/// roles allow (reference data; only when some role names scopes, so a directory
/// without that rule imposes none), and `token_endpoint_auth_methods_supported` cut
/// to the FAPI methods.
pub fn derive(roles: &BTreeSet<String>, scopes: &BTreeMap<String, Vec<String>>) -> Value {
    let mut provider = Map::new();
    let mut allowed: BTreeSet<&str> = BTreeSet::new();
    let mut any = false;
    for role in roles {
        if let Some(list) = scopes.get(role) {
            any = true;
            allowed.extend(list.iter().map(String::as_str));
        }
    }
    if any {
        allowed.insert("openid");
        provider.insert("scopes_supported".into(), json!({"subset_of": allowed}));
    }
    provider.insert(
        "token_endpoint_auth_methods_supported".into(),
        json!({"subset_of": FAPI_AUTH_METHODS}),
    );
    json!({"openid_provider": provider})
}

/// Why metadata breaks a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{entity_type}.{parameter}: {rule}")]
pub struct Violation {
    pub entity_type: String,
    pub parameter: String,
    pub rule: String,
}

fn as_set(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// Applies `policy` (entity type → parameter → operators) to `metadata`, operators in
/// the specification's order (`value`, `add`, `default`, `one_of`, `subset_of`,
/// `superset_of`, `essential`). Entity types absent from the metadata are left out.
pub fn apply(metadata: &Value, policy: &Value) -> Result<Value, Violation> {
    let mut out = metadata.as_object().cloned().unwrap_or_default();
    let Some(policy) = policy.as_object() else {
        return Ok(Value::Object(out));
    };
    for (entity_type, parameters) in policy {
        let Some(Value::Object(params)) = out.get_mut(entity_type) else {
            continue;
        };
        let Some(parameters) = parameters.as_object() else {
            continue;
        };
        for (name, operators) in parameters {
            let violation = |rule: String| Violation {
                entity_type: entity_type.clone(),
                parameter: name.clone(),
                rule,
            };
            let ops = operators.as_object().cloned().unwrap_or_default();
            if let Some(value) = ops.get("value") {
                if value.is_null() {
                    params.remove(name);
                } else {
                    params.insert(name.clone(), value.clone());
                }
            }
            if let Some(add) = ops.get("add") {
                let mut current = params.get(name).map(as_set).unwrap_or_default();
                for item in as_set(add) {
                    if !current.contains(&item) {
                        current.push(item);
                    }
                }
                params.insert(name.clone(), Value::Array(current));
            }
            if let Some(default) = ops.get("default")
                && !params.contains_key(name)
            {
                params.insert(name.clone(), default.clone());
            }
            if let (Some(one_of), Some(current)) = (ops.get("one_of"), params.get(name))
                && !as_set(one_of).contains(current)
            {
                return Err(violation(format!("{current} is not one of {one_of}")));
            }
            if let (Some(subset), Some(current)) = (ops.get("subset_of"), params.get(name).cloned()) {
                let allowed = as_set(subset);
                let kept: Vec<Value> = as_set(&current).into_iter().filter(|v| allowed.contains(v)).collect();
                params.insert(name.clone(), Value::Array(kept));
            }
            if let (Some(superset), Some(current)) = (ops.get("superset_of"), params.get(name)) {
                let have = as_set(current);
                if let Some(missing) = as_set(superset).into_iter().find(|v| !have.contains(v)) {
                    return Err(violation(format!("must include {missing}")));
                }
            }
            if ops.get("essential") == Some(&Value::Bool(true)) && !params.contains_key(name) {
                return Err(violation("is essential".into()));
            }
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_cut_scopes_to_what_they_allow() {
        let scopes: BTreeMap<String, Vec<String>> = [
            ("DADOS".to_owned(), vec!["accounts".to_owned(), "resources".to_owned()]),
            ("PAGTO".to_owned(), vec!["payments".to_owned()]),
        ]
        .into_iter()
        .collect();
        let roles: BTreeSet<String> = ["PAGTO".to_owned(), "CONTA".to_owned()].into_iter().collect();
        let policy = derive(&roles, &scopes);
        let metadata = json!({"openid_provider": {
            "issuer": "https://as.example",
            "scopes_supported": ["openid", "payments", "accounts"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        }});
        let resolved = apply(&metadata, &policy).unwrap();
        assert_eq!(
            resolved["openid_provider"]["scopes_supported"],
            json!(["openid", "payments"])
        );
        assert_eq!(
            resolved["openid_provider"]["token_endpoint_auth_methods_supported"],
            json!(["private_key_jwt"])
        );
        // No role naming scopes: no scope rule at all.
        let none = derive(&BTreeSet::new(), &scopes);
        assert!(none["openid_provider"].get("scopes_supported").is_none());
    }

    #[test]
    fn every_operator_in_order() {
        let metadata = json!({"openid_provider": {"a": "x", "b": ["1"], "c": "keep"}, "other": {"z": 1}});
        let policy = json!({"openid_provider": {
            "a": {"value": "y"},
            "b": {"add": ["2"], "superset_of": ["1"]},
            "d": {"default": "dflt"},
            "c": {"one_of": ["keep", "also"], "essential": true},
            "gone": {"value": null},
        }});
        let out = apply(&metadata, &policy).unwrap();
        assert_eq!(
            out["openid_provider"],
            json!({"a": "y", "b": ["1", "2"], "c": "keep", "d": "dflt"})
        );
        assert_eq!(out["other"], json!({"z": 1}));
        let bad = apply(&metadata, &json!({"openid_provider": {"c": {"one_of": ["no"]}}})).unwrap_err();
        assert_eq!(bad.parameter, "c");
        assert!(apply(&metadata, &json!({"openid_provider": {"e": {"essential": true}}})).is_err());
        assert!(apply(&metadata, &json!({"openid_provider": {"b": {"superset_of": ["9"]}}})).is_err());
    }
}
