//! One passing and one failing case for every rule of every table, generated from
//! the tables themselves so no rule can be added without being exercised.

use directory_domain::validate::Checker;
use directory_domain::validate::fields::{FieldRule, check_object};
use directory_domain::validate::rules::{Pattern, Text};
use directory_domain::validate::tables::*;
use serde_json::{Map, Value, json};

fn valid_text(t: Text) -> String {
    let base = match t.pattern {
        Pattern::Any | Pattern::NoAngle => "ok".to_owned(),
        Pattern::HttpUri | Pattern::HttpsUri => "https://example.com/x".to_owned(),
        Pattern::HttpsPathUri => "https://example.com/a/b".to_owned(),
        Pattern::LogoUri => "https://example.com/logo.png".to_owned(),
        Pattern::Email => "ana@example.com".to_owned(),
        Pattern::ApiVersion => "1.0.3".to_owned(),
        Pattern::CertificationDate => "01/02/2024".to_owned(),
        Pattern::Uuid => "3fa85f64-5717-4562-b3fc-2c963f66afa6".to_owned(),
        Pattern::AppUri => "https://app.example.com/cb".to_owned(),
    };
    match t.max {
        Some(max) if base.chars().count() > max => base.chars().take(max).collect(),
        _ => base,
    }
}

fn failing_texts(t: Text) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some(max) = t.max {
        // Valid prefix, padded past the limit with characters every pattern accepts
        // at the end of a path (so only the length rule fails where possible).
        let mut v = valid_text(t);
        while v.chars().count() <= max {
            v.push('a');
        }
        out.push((v, "longer than"));
    }
    if t.min == 1 {
        out.push((String::new(), "must not be empty"));
    }
    let bad = match t.pattern {
        Pattern::Any => None,
        Pattern::NoAngle => Some("a<b>"),
        Pattern::HttpUri | Pattern::HttpsUri | Pattern::HttpsPathUri | Pattern::AppUri => Some("ftp://example.com"),
        Pattern::LogoUri => Some("https://example.com/logo.gif"),
        Pattern::Email => Some("not-an-email"),
        Pattern::ApiVersion => Some("v1"),
        Pattern::CertificationDate => Some("2024-02-01"),
        Pattern::Uuid => Some("not-a-uuid"),
    };
    if let Some(b) = bad {
        out.push((b.to_owned(), t.pattern.describe()));
    }
    out
}

fn valid_value(rule: FieldRule) -> Value {
    match rule {
        FieldRule::Required(inner) => valid_value(*inner),
        FieldRule::StrOrInteger(t) => json!(valid_text(t)),
        FieldRule::Str(t) | FieldRule::StrOrNumber(t) => json!(valid_text(t)),
        FieldRule::OneOf(v) | FieldRule::TextOneOf(_, v) => json!(v[0]),
        FieldRule::Bool => json!(true),
        FieldRule::Number => json!(0),
        FieldRule::StrList(t, _) => json!([valid_text(t)]),
        FieldRule::ObjectList(t) => json!([valid_object(t)]),
        FieldRule::Object(t) => valid_object(t),
        FieldRule::ObjectMap(_) => json!({}),
    }
}

/// The smallest valid object of a table: its required fields, each valid.
fn valid_object(table: &[(&str, FieldRule)]) -> Value {
    let required = table
        .iter()
        .filter(|(_, rule)| matches!(rule, FieldRule::Required(_)))
        .map(|(field, rule)| ((*field).to_owned(), valid_value(*rule)));
    Value::Object(required.collect())
}

fn failing_values(rule: FieldRule) -> Vec<(Value, String)> {
    let mut out: Vec<(Value, String)> = Vec::new();
    match rule {
        FieldRule::Required(inner) => {
            out.push((Value::Null, "is required".into()));
            out.extend(failing_values(*inner));
        }
        FieldRule::StrOrInteger(t) => {
            out.push((json!(1.5), "must be a string or an integer".into()));
            out.extend(failing_texts(t).into_iter().map(|(v, m)| (json!(v), m.to_owned())));
        }
        FieldRule::Str(t) => {
            out.push((json!(1), "must be a string".into()));
            out.extend(failing_texts(t).into_iter().map(|(v, m)| (json!(v), m.to_owned())));
        }
        FieldRule::StrOrNumber(t) => {
            out.push((json!(true), "must be a string or a number".into()));
            out.extend(failing_texts(t).into_iter().map(|(v, m)| (json!(v), m.to_owned())));
        }
        FieldRule::OneOf(_) => {
            out.push((json!("Bogus"), "must be one of".into()));
            out.push((json!(1), "must be a string".into()));
        }
        FieldRule::TextOneOf(t, _) => {
            out.push((json!("Bogus"), "must be one of".into()));
            out.extend(failing_texts(t).into_iter().map(|(v, m)| (json!(v), m.to_owned())));
        }
        FieldRule::Bool => out.push((json!("true"), "must be a boolean".into())),
        FieldRule::Number => out.push((json!("0"), "must be a number".into())),
        FieldRule::StrList(t, max) => {
            out.push((json!("x"), "must be an array".into()));
            if let Some(max) = max {
                out.push((json!(vec![valid_text(t); max + 1]), format!("more than {max} items")));
            }
            for (v, m) in failing_texts(t) {
                out.push((json!([valid_text(t), v]), format!("[1]: {m}")));
            }
        }
        FieldRule::ObjectList(_) => out.push((json!({}), "must be an array".into())),
        FieldRule::Object(_) | FieldRule::ObjectMap(_) => out.push((json!([]), "must be an object".into())),
    }
    out
}

fn errors(table: &[(&str, FieldRule)], field: &str, value: Value) -> Vec<String> {
    let mut obj = Map::new();
    obj.insert(field.to_owned(), value);
    let mut c = Checker::new();
    check_object(&mut c, &obj, table);
    // Only this field's errors: the other required fields of the table are absent.
    c.into_errors()
        .into_iter()
        .filter(|e| {
            e.strip_prefix(field)
                .is_some_and(|rest| rest.starts_with([':', '.', '[']))
        })
        .collect()
}

fn exercise(table_name: &str, table: &[(&str, FieldRule)]) -> usize {
    let mut cases = 0;
    for (field, rule) in table {
        let ok = errors(table, field, valid_value(*rule));
        assert!(ok.is_empty(), "{table_name}.{field}: valid value rejected: {ok:?}");
        let null = errors(table, field, Value::Null);
        if matches!(rule, FieldRule::Required(_)) {
            assert_eq!(
                null,
                [format!("{field}: is required")],
                "{table_name}.{field}: null is absent"
            );
        } else {
            assert!(null.is_empty(), "{table_name}.{field}: null is absent");
        }
        let failing = failing_values(*rule);
        assert!(!failing.is_empty(), "{table_name}.{field}: no failing case");
        for (value, needle) in failing {
            let errs = errors(table, field, value.clone());
            assert!(
                errs.iter().any(|e| e.starts_with(field) && e.contains(needle.as_str())),
                "{table_name}.{field} = {value}: expected an error containing {needle:?}, got {errs:?}"
            );
            cases += 1;
        }
    }
    cases
}

#[test]
fn every_rule_of_every_table_passes_and_fails() {
    let tables: &[(&str, &[(&str, FieldRule)])] = &[
        ("FLAG", FLAG),
        ("CERTIFICATE", CERTIFICATE),
        ("SOFTWARE_STATEMENT", SOFTWARE_STATEMENT),
        ("ORGANISATION_DETAILS", ORGANISATION_DETAILS),
        ("CONTACT", CONTACT),
        ("API_RESOURCE", API_RESOURCE),
        ("AUTHORISATION_SERVER", AUTHORISATION_SERVER),
        ("DOMAIN_CLAIM", DOMAIN_CLAIM),
        ("CLAIM_UPDATE", CLAIM_UPDATE),
        ("CLAIM_DERIVED", CLAIM_DERIVED),
        ("AUTHORITY", AUTHORITY),
        ("AUTHORISATION_DOMAIN", AUTHORISATION_DOMAIN),
        ("DOMAIN_ROLE", DOMAIN_ROLE),
        ("SNAPSHOT", SNAPSHOT),
    ];
    let mut total = 0;
    for (name, table) in tables {
        total += exercise(name, table);
    }
    // Nested tables are reached through the ones above; walk them too.
    fn nested(table: &[(&str, FieldRule)], out: &mut Vec<(String, &'static [(&'static str, FieldRule)])>) {
        for (field, rule) in table {
            let rule = match rule {
                FieldRule::Required(inner) => *inner,
                other => other,
            };
            if let FieldRule::ObjectList(t) | FieldRule::Object(t) | FieldRule::ObjectMap(t) = rule
                && !t.is_empty()
            {
                out.push((field.to_string(), t));
                nested(t, out);
            }
        }
    }
    let mut inner = Vec::new();
    for (_, table) in tables {
        nested(table, &mut inner);
    }
    for (name, table) in inner {
        total += exercise(&name, table);
    }
    assert!(total > 300, "only {total} failing cases generated");
}
