//! A small validator for the JSON Schema subset openapi.yaml uses, so tests can hold
//! every response (and every api-docs example) to the document.

use regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;

/// How much of the schema to enforce.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Shape only: properties, required, types, enums (api-docs examples hold
    /// placeholder values like "string" that no pattern admits).
    Shape,
    /// Everything: also patterns, lengths, item counts and bounds.
    Full,
}

/// The OpenAPI document.
pub struct Doc {
    root: Value,
    patterns: Mutex<HashMap<String, Regex>>,
}

impl Doc {
    /// Loads openapi.yaml from the repository root.
    pub fn load() -> Self {
        let text = std::fs::read_to_string(crate::repo_root().join("openapi.yaml")).expect("openapi.yaml");
        Self {
            root: serde_yaml_ng::from_str(&text).expect("openapi.yaml parses"),
            patterns: Mutex::default(),
        }
    }

    /// The document as JSON.
    pub fn root(&self) -> &Value {
        &self.root
    }

    /// A component schema by name.
    pub fn schema(&self, name: &str) -> &Value {
        &self.root["components"]["schemas"][name]
    }

    /// Follows `$ref`s.
    pub fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        while let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let mut node = &self.root;
            for part in r.trim_start_matches("#/").split('/') {
                node = &node[part];
            }
            schema = node;
        }
        schema
    }

    /// The response schema of `method path` for `status`, if the document has one.
    pub fn response_schema(&self, method: &str, path: &str, status: u16) -> Option<&Value> {
        let op = &self.root["paths"][path][method.to_ascii_lowercase()];
        let response = self.resolve(op["responses"].get(status.to_string())?);
        response.get("content")?.get("application/json").map(|j| &j["schema"])
    }

    /// The schema of a non-JSON response of `content_type` (the federation's signed
    /// answers), if the operation documents it.
    pub fn typed_response_schema(&self, method: &str, path: &str, status: u16, content_type: &str) -> Option<&Value> {
        let op = &self.root["paths"][path][method.to_ascii_lowercase()];
        let response = self.resolve(op["responses"].get(status.to_string())?);
        response.get("content")?.get(content_type).map(|t| &t["schema"])
    }

    /// Every violation of `schema` by `value`, with JSON paths.
    pub fn validate(&self, schema: &Value, value: &Value, mode: Mode) -> Vec<String> {
        let mut errors = Vec::new();
        self.check(schema, value, "$", mode, &mut errors);
        errors
    }

    fn matches(&self, pattern: &str, text: &str) -> bool {
        let mut cache = self.patterns.lock().unwrap();
        let re = cache
            .entry(pattern.to_owned())
            .or_insert_with(|| Regex::new(pattern).unwrap_or_else(|e| panic!("pattern {pattern}: {e}")));
        re.is_match(text)
    }

    fn check(&self, schema: &Value, value: &Value, at: &str, mode: Mode, errors: &mut Vec<String>) {
        let schema = self.resolve(schema);
        let full = mode == Mode::Full;
        let type_ok = match schema.get("type").and_then(Value::as_str) {
            None => true,
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            Some("boolean") => value.is_boolean(),
            Some(other) => panic!("unsupported type {other}"),
        };
        if !type_ok {
            errors.push(format!("{at}: expected {}, got {value}", schema["type"]));
            return;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            errors.push(format!("{at}: {value} is not one of {allowed:?}"));
        }
        match value {
            Value::Object(map) => {
                let props = schema.get("properties").and_then(Value::as_object);
                for required in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                    let name = required.as_str().unwrap();
                    if !map.contains_key(name) {
                        errors.push(format!("{at}: missing required {name}"));
                    }
                }
                for (k, v) in map {
                    match props.and_then(|p| p.get(k)) {
                        Some(s) => self.check(s, v, &format!("{at}.{k}"), mode, errors),
                        None => match schema.get("additionalProperties") {
                            Some(Value::Bool(false)) => errors.push(format!("{at}: undocumented property {k}")),
                            Some(s @ Value::Object(_)) => self.check(s, v, &format!("{at}.{k}"), mode, errors),
                            _ => {}
                        },
                    }
                }
            }
            Value::Array(items) => {
                if full
                    && let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                    && items.len() as u64 > max
                {
                    errors.push(format!("{at}: more than {max} items"));
                }
                if let Some(item) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.check(item, v, &format!("{at}[{i}]"), mode, errors);
                    }
                }
            }
            Value::String(s) if full => {
                let chars = s.chars().count() as u64;
                if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                    && chars > max
                {
                    errors.push(format!("{at}: longer than {max}"));
                }
                if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
                    && chars < min
                {
                    errors.push(format!("{at}: shorter than {min}"));
                }
                if let Some(p) = schema.get("pattern").and_then(Value::as_str)
                    && !self.matches(p, s)
                {
                    errors.push(format!("{at}: {s:?} does not match {p}"));
                }
            }
            Value::Number(n) if full => {
                if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_f64), n.as_f64())
                    && v < min
                {
                    errors.push(format!("{at}: below {min}"));
                }
            }
            _ => {}
        }
    }

    /// The documented properties of `schema` that `value` (an object) lacks,
    /// recursively, as `SchemaName.Property` (to prove complete examples complete).
    pub fn missing_properties(&self, schema: &Value, value: &Value, out: &mut std::collections::BTreeSet<String>) {
        let name = schema
            .get("$ref")
            .and_then(Value::as_str)
            .map(|r| r.rsplit('/').next().unwrap().to_owned());
        let schema = self.resolve(schema);
        match value {
            Value::Object(map) => {
                if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                    for (k, s) in props {
                        match map.get(k) {
                            Some(v) => self.missing_properties(s, v, out),
                            None => {
                                out.insert(format!("{}.{k}", name.clone().unwrap_or_default()));
                            }
                        }
                    }
                }
                if let Some(s @ Value::Object(_)) = schema.get("additionalProperties") {
                    for v in map.values() {
                        self.missing_properties(s, v, out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = schema.get("items") {
                    for v in items {
                        self.missing_properties(item, v, out);
                    }
                }
            }
            _ => {}
        }
    }
}
