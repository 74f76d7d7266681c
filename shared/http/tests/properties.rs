//! Property tests: any input yields a validated value or a list of 4xx messages,
//! never a panic; the key grammar round-trips and never lets two ids share a key.

use directory_domain::keys::{self, OrgItem};
use directory_domain::model::OrganisationSnapshot;
use directory_domain::routes;
use directory_domain::validate::{self, rules};
use directory_http::{accept, fapi};
use lambda_http::http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| Value::Number(n.into())),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        ".{0,50}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(".{0,12}", inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const FIELDS: &[&str] = &[
    "AuthorityId",
    "Status",
    "RegistrationId",
    "UniqueTechnicalIdentifiers",
    "AuthorisationDomainRoleIdentifier",
    "AuthorisationDomainID",
    "AuthorisationDomain",
    "Role",
    "Exclusive",
];

/// Objects whose keys are mostly the PUT body's own fields, with any values.
fn claim_body() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(FIELDS), json_value()), 0..10)
        .prop_map(|pairs| Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>()))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_text_rule_accepts_or_explains(s in "\\PC{0,300}") {
        for rule in [rules::ID40, rules::TEXT255, rules::EMAIL_ADDRESS, rules::LOGO, rules::UUID40, rules::APP_URI255,
                     rules::API_VERSION_TEXT, rules::CERT_DATE, rules::HTTPS_PATH_URI255] {
            for problem in rule.violations(&s) {
                prop_assert!(!problem.is_empty());
            }
        }
    }

    #[test]
    fn put_bodies_validate_or_list_every_problem(body in prop_oneof![claim_body(), json_value()]) {
        match validate::claim_update(&body) {
            Ok(update) => {
                prop_assert!(rules::UUID40.violations(&update.authority_id).is_empty());
                prop_assert!(update.unique_technical_identifiers.len() <= 16);
            }
            Err(problems) => {
                prop_assert!(!problems.is_empty());
                prop_assert!(problems.iter().all(|p| p.contains(": ")), "{problems:?}");
            }
        }
    }

    #[test]
    fn snapshot_like_values_parse_or_fail_without_panicking(details in json_value(), rest in json_value()) {
        let mut v = match rest { Value::Object(m) => Value::Object(m), _ => Value::Object(Map::new()) };
        v["OrganisationDetails"] = details;
        if let Ok(snapshot) = serde_json::from_value::<OrganisationSnapshot>(v) {
            let _ = validate::snapshot(&snapshot);
        }
    }

    #[test]
    fn keys_round_trip_and_never_collide(a in "\\PC{0,40}", b in "\\PC{0,40}", n in 0usize..1_000_000) {
        prop_assert_eq!(keys::decode(&keys::encode(&a)), Some(a.clone()));
        for item in [OrgItem::Contact(a.clone()), OrgItem::Server(a.clone()), OrgItem::Resource(a.clone(), b.clone()),
                     OrgItem::Claim(a.clone()), OrgItem::DomainClaim(a.clone()), OrgItem::SoftwareStatement(a.clone()),
                     OrgItem::Certificate(n)] {
            prop_assert_eq!(OrgItem::parse(&item.sk()), Some(item));
        }
        if a != b {
            prop_assert_ne!(keys::org_pk(&a), keys::org_pk(&b));
            prop_assert_ne!(keys::server_sk(&a), keys::server_sk(&b));
        }
        prop_assert_ne!(keys::server_sk(&format!("{a}#RES#{b}")), keys::resource_sk(&a, &b));
    }

    #[test]
    fn paths_params_and_headers_never_panic(path in "(/[a-z%#0-9{}-]{0,12}){0,7}", header in prop::collection::vec(any::<u8>(), 0..120)) {
        let _ = routes::find("GET", &path);
        let _ = validate::path_param("OrganisationId", &path, rules::ID40);
        let mut headers = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(&header) {
            headers.insert(fapi::INTERACTION_ID, v.clone());
            headers.insert(fapi::AUTH_DATE, v.clone());
            let f = fapi::read(&headers);
            prop_assert!(!f.interaction_id.is_empty() && f.interaction_id.len() <= 100);
            let _ = accept::accepts_json(v.to_str().ok());
        }
    }
}
