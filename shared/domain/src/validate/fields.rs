//! The rule engine: a table of field name → rule, applied to the fields of a JSON
//! object that are present (typed models are checked through their JSON form).

use super::checker::Checker;
use super::rules::{self, Text};
use serde_json::{Map, Value};

/// The rule of one named field.
#[derive(Debug, Clone, Copy)]
pub enum FieldRule {
    /// A string with a text rule.
    Str(Text),
    /// A string or a number; a string obeys the text rule.
    StrOrNumber(Text),
    /// A string with a text rule, or an integer that [`normalize`] turns into its
    /// decimal string (real files publish `"ApiVersion": 1`).
    StrOrInteger(Text),
    /// A field that must be present (and not `null`), with its rule.
    Required(&'static FieldRule),
    /// A string that must be one of the values.
    OneOf(&'static [&'static str]),
    /// A string with a text rule that must also be one of the values.
    TextOneOf(Text, &'static [&'static str]),
    /// A boolean.
    Bool,
    /// A number.
    Number,
    /// An array of strings, each with the text rule, with an optional item limit.
    StrList(Text, Option<usize>),
    /// An array of objects, each checked with the table.
    ObjectList(&'static [(&'static str, FieldRule)]),
    /// An object checked with the table.
    Object(&'static [(&'static str, FieldRule)]),
    /// An object whose every value is an object checked with the table.
    ObjectMap(&'static [(&'static str, FieldRule)]),
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn one_of(c: &mut Checker, field: &str, s: &str, allowed: &[&str]) {
    if !allowed.contains(&s) {
        c.fail(field, format!("must be one of {}", allowed.join(", ")));
    }
}

/// Checks one value against its rule; `null` counts as absent.
pub fn check_value(c: &mut Checker, field: &str, value: &Value, rule: FieldRule) {
    let wrong = |c: &mut Checker, expected: &str| {
        c.fail(field, format!("must be {expected}, not {}", type_name(value)));
    };
    match (rule, value) {
        (FieldRule::Required(inner), _) => check_value(c, field, value, *inner),
        (_, Value::Null) => {}
        (FieldRule::StrOrInteger(t), Value::String(s)) => c.text(field, Some(s), t),
        (FieldRule::StrOrInteger(_), _) => wrong(c, "a string or an integer"),
        (FieldRule::Str(t), Value::String(s)) | (FieldRule::StrOrNumber(t), Value::String(s)) => {
            c.text(field, Some(s), t)
        }
        (FieldRule::StrOrNumber(_), Value::Number(_)) => {}
        (FieldRule::Str(_), _) => wrong(c, "a string"),
        (FieldRule::StrOrNumber(_), _) => wrong(c, "a string or a number"),
        (FieldRule::OneOf(allowed), Value::String(s)) => one_of(c, field, s, allowed),
        (FieldRule::TextOneOf(t, allowed), Value::String(s)) => {
            c.text(field, Some(s), t);
            one_of(c, field, s, allowed);
        }
        (FieldRule::OneOf(_) | FieldRule::TextOneOf(..), _) => wrong(c, "a string"),
        (FieldRule::Bool, Value::Bool(_)) | (FieldRule::Number, Value::Number(_)) => {}
        (FieldRule::Bool, _) => wrong(c, "a boolean"),
        (FieldRule::Number, _) => wrong(c, "a number"),
        (FieldRule::StrList(t, max), Value::Array(items)) => {
            if let Some(max) = max
                && items.len() > max
            {
                // Past the limit the items are not checked one by one: a huge list
                // gets one message, not one per item.
                c.fail(field, format!("more than {max} items"));
                return;
            }
            for (i, item) in items.iter().enumerate() {
                check_value(c, &format!("{field}[{i}]"), item, FieldRule::Str(t));
            }
        }
        (FieldRule::ObjectList(table), Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                check_value(c, &format!("{field}[{i}]"), item, FieldRule::Object(table));
            }
        }
        (FieldRule::StrList(..) | FieldRule::ObjectList(_), _) => wrong(c, "an array"),
        (FieldRule::Object(table), Value::Object(map)) => c.within(field, |c| check_object(c, map, table)),
        (FieldRule::ObjectMap(table), Value::Object(map)) => c.within(field, |c| {
            for (key, item) in map {
                check_value(c, key, item, FieldRule::Object(table));
            }
        }),
        (FieldRule::Object(_) | FieldRule::ObjectMap(_), _) => wrong(c, "an object"),
    }
}

/// Checks the named fields of `map` that are present, and that required ones are;
/// every other field (unknown ones, and all of a free-form object's) is checked for
/// its characters only ([`check_free`]): data kept as given still reaches readers.
pub fn check_object(c: &mut Checker, map: &Map<String, Value>, table: &[(&str, FieldRule)]) {
    check_tables(c, map, &[table]);
}

/// [`check_object`] for an object described by several tables (a role claim: its
/// writable and its derived fields); a field is unknown when no table names it.
pub fn check_tables(c: &mut Checker, map: &Map<String, Value>, tables: &[&[(&str, FieldRule)]]) {
    for table in tables {
        check_known(c, map, table);
    }
    for (name, value) in map {
        if !tables.iter().any(|t| t.iter().any(|(known, _)| known == name)) {
            check_free(c, name, value);
        }
    }
}

/// Checks the named fields of `map` only (a request body whose other fields are
/// ignored, not kept).
pub fn check_known(c: &mut Checker, map: &Map<String, Value>, table: &[(&str, FieldRule)]) {
    for (name, rule) in table {
        match (map.get(*name), rule) {
            (None | Some(Value::Null), FieldRule::Required(_)) => c.fail(name, "is required"),
            (Some(v), _) => check_value(c, name, v, *rule),
            (None, _) => {}
        }
    }
}

/// The one rule of text that no table describes: every string and object key, at
/// any depth, holds only [`rules::FREE_TEXT`]'s characters.
pub fn check_free(c: &mut Checker, field: &str, value: &Value) {
    match value {
        Value::String(s) => c.text(field, Some(s), rules::FREE_TEXT),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_free(c, &format!("{field}[{i}]"), item);
            }
        }
        Value::Object(map) => c.within(field, |c| {
            for (key, item) in map {
                if let Some(problem) = rules::FREE_TEXT.chars.violation(key) {
                    c.fail(key, format!("field name {problem}"));
                }
                check_free(c, key, item);
            }
        }),
        _ => {}
    }
}

/// Brings what real files contain to the one form the models read, where the meaning
/// is unambiguous: a `null` named field is removed (absent), and an integer where
/// [`FieldRule::StrOrInteger`] allows it becomes its decimal string. Walks the
/// table's nested objects; free-form objects (empty tables) are left as they are.
pub fn normalize(map: &mut Map<String, Value>, table: &[(&str, FieldRule)]) {
    for (name, rule) in table {
        let Some(value) = map.get_mut(*name) else {
            continue;
        };
        if value.is_null() {
            map.remove(*name);
            continue;
        }
        normalize_value(value, *rule);
    }
}

fn normalize_value(value: &mut Value, rule: FieldRule) {
    match (rule, value) {
        (FieldRule::Required(inner), v) => normalize_value(v, *inner),
        (FieldRule::StrOrInteger(_), v @ Value::Number(_)) => {
            if let Some(text) = v
                .as_i64()
                .map(|n| n.to_string())
                .or_else(|| v.as_u64().map(|n| n.to_string()))
            {
                *v = Value::String(text);
            }
        }
        (FieldRule::Object(table), Value::Object(map)) => normalize(map, table),
        (FieldRule::ObjectList(table), Value::Array(items)) => {
            for item in items {
                if let Value::Object(map) = item {
                    normalize(map, table);
                }
            }
        }
        (FieldRule::ObjectMap(table), Value::Object(map)) => {
            for item in map.values_mut() {
                if let Value::Object(inner) = item {
                    normalize(inner, table);
                }
            }
        }
        _ => {}
    }
}
