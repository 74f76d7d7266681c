//! openapi.yaml against the code: its operations are the route table; every api-docs
//! example fits its schemas with every documented property present; every response
//! the handlers give to the event fixtures (and every demo snapshot) conforms to the
//! document in full — status, content type, properties, types, enums, patterns.

use directory_domain::ids::OrganisationId;
use directory_domain::routes::http_routes;
use directory_embedded::LocalDirTarget;
use directory_http::handlers::{Services, dispatch};
use directory_tests::schema::{Doc, Mode};
use directory_tests::{demo_bytes, embedded_store, event_fixtures, repo_root};
use directory_usecases::import;
use directory_usecases::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[test]
fn operations_are_the_route_table() {
    let doc = Doc::load();
    let mut documented = BTreeSet::new();
    for (path, item) in doc.root()["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            documented.insert((method.to_ascii_uppercase(), path.clone()));
            let (route, _) = http_routes()
                .find(|(_, h)| h.path == path && h.method.eq_ignore_ascii_case(method))
                .unwrap();
            if route.access == directory_domain::auth::Access::Public {
                assert_eq!(op["security"], serde_json::json!([]), "{path}: public, no token");
            } else {
                let scopes: BTreeSet<&str> = op["security"][0]["bearer"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap())
                    .collect();
                assert_eq!(
                    scopes,
                    route.access.scopes().iter().copied().collect(),
                    "{path}: scopes"
                );
            }
            let params: BTreeSet<String> = op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| doc.resolve(p))
                .filter(|p| p["in"] == "path")
                .map(|p| p["name"].as_str().unwrap().to_owned())
                .collect();
            let placeholders: BTreeSet<String> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
                .map(str::to_owned)
                .collect();
            assert_eq!(params, placeholders, "{path}: path parameters");
            if route.malformed == directory_domain::routes::Malformed::BadRequest {
                assert!(op["responses"].get("400").is_some(), "{path}: lists 400");
            }
        }
    }
    let routes: BTreeSet<_> = http_routes()
        .map(|(_, h)| (h.method.to_owned(), h.path.to_owned()))
        .collect();
    assert_eq!(documented, routes);
}

fn fixture(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/fixtures/api-docs").join(name)).unwrap())
        .unwrap()
}

#[test]
fn every_api_docs_example_fits_with_every_documented_property() {
    let doc = Doc::load();
    let one = |name: &str| json!({"$ref": format!("#/components/schemas/{name}")});
    let many = |name: &str| json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}});
    let cases: [(&str, Value, &[&str]); 7] = [
        // The snapshot example predates Tags and shows claims without their ids.
        (
            "organisation-snapshot.json",
            one("OrganisationSnapshot"),
            &[
                "OrganisationDetails.Tags",
                "AuthorityClaim.AuthorisationDomainID",
                "AuthorityClaim.AuthorisationDomainRoleIdentifier",
            ],
        ),
        ("open-data-export.json", many("ExportOrganisation"), &[]),
        // The api-docs example lost the discovery endpoints the official schema declares.
        (
            "api-resource.json",
            one("ApiResourceResponse"),
            &["ApiResourceResponse.ApiDiscoveryEndpoints"],
        ),
        ("authority-claims.json", many("AuthorityClaim"), &[]),
        ("put-authority-claim.request.json", one("AuthorityClaimUpdate"), &[]),
        ("put-authority-claim.response.json", one("AuthorityClaim"), &[]),
        ("error-body.json", one("ErrorBody"), &[]),
    ];
    for (name, schema, allowed_missing) in cases {
        let value = fixture(name);
        assert_eq!(
            doc.validate(&schema, &value, Mode::Shape),
            Vec::<String>::new(),
            "{name}"
        );
        let mut missing = BTreeSet::new();
        doc.missing_properties(&schema, &value, &mut missing);
        let allowed: BTreeSet<String> = allowed_missing.iter().map(|s| s.to_string()).collect();
        assert_eq!(missing, allowed, "{name}: documented properties the example lacks");
    }
}

#[tokio::test]
async fn every_response_to_the_event_fixtures_conforms() {
    directory_tests::install_federation_kit();
    let doc = Doc::load();
    let (store, dir) = embedded_store();
    import::import(&store, &demo_bytes(), |_, _| {}).await.unwrap();
    let snapshot_schema = json!({"$ref": "#/components/schemas/OrganisationSnapshot"});
    for id in store.organisation_ids(None, 100).await.unwrap() {
        let snapshot =
            serde_json::to_value(store.snapshot(&OrganisationId::from(&id)).await.unwrap().unwrap()).unwrap();
        assert_eq!(
            doc.validate(&snapshot_schema, &snapshot, Mode::Full),
            Vec::<String>::new(),
            "demo {id}"
        );
    }
    let services = Services {
        store,
        exports: LocalDirTarget::new(dir.path().join("exports"), directory_tests::signer()),
    };
    let mut checked = 0;
    for (route, http) in http_routes() {
        let op = &doc.root()["paths"][http.path][http.method.to_ascii_lowercase()];
        let key = format!("{} {}", http.method, http.path);
        // A function serving several routes has fixtures for each: the route's own here.
        let fixtures = event_fixtures(route.name)
            .into_iter()
            .filter(|(_, _, event)| serde_json::from_str::<Value>(event).unwrap()["routeKey"] == key.as_str());
        for (name, _, event) in fixtures {
            let resp = dispatch(&route, &services, lambda_http::request::from_str(&event).unwrap()).await;
            let status = resp.status().as_u16();
            assert!(
                op["responses"].get(status.to_string()).is_some(),
                "{}/{name}: status {status} undocumented",
                route.name
            );
            let mut body = resp.body().to_vec();
            if resp.headers().get("content-encoding").is_some_and(|v| v == "gzip") {
                let mut plain = Vec::new();
                std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
                body = plain;
            }
            if let Some(schema) = doc.response_schema(http.method, http.path, status) {
                assert_eq!(resp.headers()["content-type"], "application/json");
                let value: Value = serde_json::from_slice(&body).unwrap();
                assert_eq!(
                    doc.validate(schema, &value, Mode::Full),
                    Vec::<String>::new(),
                    "{}/{name}",
                    route.name
                );
                checked += 1;
            } else {
                // A signed answer: its media type is documented, its body a compact JWS.
                let content_type = resp.headers()["content-type"].to_str().unwrap();
                let schema = doc
                    .typed_response_schema(http.method, http.path, status, content_type)
                    .unwrap_or_else(|| panic!("{}/{name}: {content_type} undocumented", route.name));
                let text = Value::String(String::from_utf8(body).unwrap());
                assert_eq!(
                    doc.validate(schema, &text, Mode::Full),
                    Vec::<String>::new(),
                    "{}/{name}",
                    route.name
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "{checked}");
}

/// The FAPI header patterns are written three times: the document, the constants and
/// the hand checks (which the core's property test holds equal to the constants).
#[test]
fn fapi_header_patterns_match_the_code() {
    let doc = Doc::load();
    let components = &doc.root()["components"];
    assert_eq!(
        components["headers"]["InteractionId"]["schema"]["pattern"],
        directory_http::fapi::INTERACTION_ID_PATTERN
    );
    assert_eq!(
        components["parameters"]["XFapiAuthDate"]["schema"]["pattern"],
        directory_http::fapi::AUTH_DATE_PATTERN
    );
}

/// What the document states of each request input is what the server checks: the
/// character rules of path ids and of the PUT body's identifiers and text, the paging
/// bounds, and which routes check `x-fapi-auth-date` (the others ignore it and say so).
#[test]
fn request_inputs_are_documented_as_checked() {
    use directory_domain::validate::rules::{IDENTIFIER_PATTERN, LINE_PATTERN};
    let doc = Doc::load();
    let root = doc.root();
    let params = |path: &str, method: &str| root["paths"][path][method]["parameters"].as_array().unwrap().clone();
    let resolve = |p: &Value| -> Value {
        match p.get("$ref").and_then(Value::as_str) {
            Some(r) => root.pointer(r.trim_start_matches('#')).unwrap().clone(),
            None => p.clone(),
        }
    };
    for (route, http) in directory_domain::routes::http_routes() {
        let method = http.method.to_ascii_lowercase();
        let params: Vec<Value> = params(http.path, &method).iter().map(resolve).collect();
        for p in params.iter().filter(|p| p["in"] == "path") {
            let pattern = &p["schema"]["pattern"];
            if p["schema"]["format"] != "uuid" {
                assert_eq!(pattern, IDENTIFIER_PATTERN, "{}: path {}", route.name, p["name"]);
            }
        }
        let auth_date = params.iter().find(|p| p["name"] == "x-fapi-auth-date");
        if let Some(h) = auth_date {
            let checked = h["schema"].get("pattern").is_some();
            assert_eq!(
                checked,
                (route.malformed == directory_domain::routes::Malformed::BadRequest),
                "{}: x-fapi-auth-date documented as checked",
                route.name
            );
        }
    }
    let update = &root["components"]["schemas"]["AuthorityClaimUpdate"]["properties"];
    assert_eq!(update["RegistrationId"]["pattern"], IDENTIFIER_PATTERN);
    assert_eq!(
        update["UniqueTechnicalIdentifiers"]["items"]["pattern"],
        IDENTIFIER_PATTERN
    );
    assert_eq!(update["Role"]["pattern"], LINE_PATTERN);
    assert_eq!(update["AuthorisationDomain"]["pattern"], LINE_PATTERN);
    let claims = params("/organisations/{OrganisationId}/authorityclaims", "get");
    let bound = |name: &str, key: &str| {
        claims.iter().find(|p| p["name"] == name).unwrap()["schema"][key]
            .as_u64()
            .unwrap() as usize
    };
    use directory_http::handlers::authority_claims::{MAX_PAGE, MAX_SIZE};
    assert_eq!(bound("page", "maximum"), MAX_PAGE);
    assert_eq!(bound("size", "maximum"), MAX_SIZE);
}

#[test]
fn the_validator_catches_drift() {
    let doc = Doc::load();
    let schema = json!({"$ref": "#/components/schemas/AuthorityClaim"});
    let good = fixture("put-authority-claim.response.json");
    assert!(doc.validate(&schema, &good, Mode::Shape).is_empty());
    let mut extra = good.clone();
    extra["Unexpected"] = json!(1);
    assert!(doc.validate(&schema, &extra, Mode::Shape)[0].contains("undocumented property Unexpected"));
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("AuthorityId");
    assert!(doc.validate(&schema, &missing, Mode::Shape)[0].contains("missing required AuthorityId"));
    let mut bad_enum = good.clone();
    bad_enum["Status"] = json!("Paused");
    assert!(!doc.validate(&schema, &bad_enum, Mode::Shape).is_empty());
    let mut bad_pattern = good;
    bad_pattern["AuthorityId"] = json!("not-a-uuid");
    assert!(
        doc.validate(&schema, &bad_pattern, Mode::Shape).is_empty(),
        "shape ignores patterns"
    );
    assert!(
        doc.validate(&schema, &bad_pattern, Mode::Full)
            .iter()
            .any(|e| e.contains("does not match"))
    );
}

/// Every key of a validation table names a property of the schema of the object it
/// validates (nested tables against nested schemas), so a misspelt rule cannot
/// silently check nothing.
#[test]
fn every_validation_table_key_names_a_documented_field() {
    use directory_domain::validate::fields::FieldRule;
    use directory_domain::validate::tables;
    fn check(doc: &Doc, path: &str, table: &[(&str, FieldRule)], schema: &Value, bad: &mut Vec<String>) {
        let schema = doc.resolve(schema);
        let props = &schema["properties"];
        if props.is_null() {
            // A free-form object in the document (software statements are kept as
            // imported): nothing to hold the table to.
            return;
        }
        for (key, rule) in table {
            let Some(prop) = props.get(*key) else {
                bad.push(format!("{path}.{key}"));
                continue;
            };
            let prop = doc.resolve(prop);
            match rule {
                FieldRule::ObjectList(t) => check(doc, &format!("{path}.{key}[]"), t, &prop["items"], bad),
                FieldRule::Object(t) => check(doc, &format!("{path}.{key}"), t, prop, bad),
                FieldRule::ObjectMap(t) => {
                    check(doc, &format!("{path}.{key}{{}}"), t, &prop["additionalProperties"], bad)
                }
                _ => {}
            }
        }
    }
    let doc = Doc::load();
    let mut bad = Vec::new();
    for (table, schema) in [
        (tables::SNAPSHOT, "OrganisationSnapshot"),
        (tables::CLAIM_UPDATE, "AuthorityClaimUpdate"),
        (tables::CLAIM_DERIVED, "AuthorityClaim"),
        (tables::CLAIM_UPDATE, "AuthorityClaim"),
    ] {
        check(&doc, schema, table, doc.schema(schema), &mut bad);
    }
    // Reference data has no response schema: its tables name the model's fields.
    for (table, fields) in [
        (
            tables::AUTHORITY,
            serde_json::to_value(directory_domain::model::Authority {
                authority_name: Some("n".into()),
                ..Default::default()
            })
            .unwrap(),
        ),
        (
            tables::AUTHORISATION_DOMAIN,
            serde_json::to_value(directory_domain::model::AuthorisationDomain::default()).unwrap(),
        ),
    ] {
        for (key, _) in table {
            if fields.get(*key).is_none() {
                bad.push(format!("reference.{key}"));
            }
        }
    }
    assert_eq!(bad, Vec::<String>::new(), "table keys that name no field");
}
