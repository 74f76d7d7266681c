//! Validation of every documented rule, collecting all violations with field paths.

pub mod checker;
pub mod fields;
pub mod rules;
pub mod tables;

use crate::model::{AuthorityClaimUpdate, OrganisationSnapshot, ReferenceData, ResourceStatus};
pub use checker::Checker;
use fields::{FieldRule, check_known, check_tables, check_value, normalize};
use serde_json::Value;
use std::collections::HashSet;

/// Reports each id that occurs more than once in `ids` (ids are storage keys).
fn unique<'a>(c: &mut Checker, field: &str, ids: impl IntoIterator<Item = (usize, &'a str)>) {
    let mut seen = HashSet::new();
    for (i, id) in ids {
        if !seen.insert(id) {
            c.fail(&format!("{field}[{i}]"), format!("duplicate id {id:?}"));
        }
    }
}

/// Reports a nested `OrganisationId` that names another organisation.
fn same_org(c: &mut Checker, field: &str, nested: Option<&str>, org_id: &str) {
    if let Some(nested) = nested
        && nested != org_id
    {
        c.fail(
            field,
            format!("must equal the organisation's OrganisationId {org_id:?}"),
        );
    }
}

/// Every violation in one organisation snapshot: field rules, then the relations
/// between fields ([`snapshot_relations`]).
pub fn snapshot(s: &OrganisationSnapshot) -> Vec<String> {
    let value = serde_json::to_value(s).unwrap_or(Value::Null);
    let mut problems = snapshot_fields(&value);
    problems.extend(snapshot_relations(s));
    problems
}

/// Brings an organisation record as a file carries it to the form the model reads
/// (`null` is absent, an integer `ApiVersion` its decimal string): see [`normalize`].
pub fn normalize_snapshot(value: &mut Value) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    normalize(map, tables::SNAPSHOT);
    if map.get("OrgDomainRoleClaims").is_some_and(Value::is_null) {
        map.remove("OrgDomainRoleClaims");
    }
    if let Some(Value::Array(claims)) = map.get_mut("OrgDomainRoleClaims") {
        for claim in claims.iter_mut().filter_map(Value::as_object_mut) {
            for table in tables::CLAIM {
                normalize(claim, table);
            }
        }
    }
}

/// Every type and rule violation of the fields of an organisation record given as
/// JSON (so a record of the wrong shape still gets every problem named), required
/// fields included.
pub fn snapshot_fields(value: &Value) -> Vec<String> {
    let mut c = Checker::new();
    let Some(map) = value.as_object() else {
        c.fail("record", "must be a JSON object");
        return c.into_errors();
    };
    // Role claims are described by two tables (checked below), the rest by one.
    check_known(&mut c, map, tables::SNAPSHOT);
    for (name, value) in map {
        if name != "OrgDomainRoleClaims" && !tables::SNAPSHOT.iter().any(|(known, _)| known == name) {
            fields::check_free(&mut c, name, value);
        }
    }
    match map.get("OrgDomainRoleClaims") {
        None | Some(Value::Null) => {}
        Some(Value::Array(claims)) => {
            for (i, claim) in claims.iter().enumerate() {
                let field = format!("OrgDomainRoleClaims[{i}]");
                match claim {
                    Value::Object(claim) => c.within(&field, |c| check_tables(c, claim, &tables::CLAIM)),
                    // Only the type is wrong: the rule's own message names it.
                    other => check_value(&mut c, &field, other, FieldRule::Object(&[])),
                }
            }
        }
        Some(other) => check_value(&mut c, "OrgDomainRoleClaims", other, FieldRule::ObjectList(&[])),
    }
    c.into_errors()
}

/// The rules between fields of a well-formed snapshot: duplicate ids, nested
/// organisation ids that disagree, software statement keys, the exclusive-role rule,
/// and the store's key and item size limits.
pub fn snapshot_relations(s: &OrganisationSnapshot) -> Vec<String> {
    let mut c = Checker::new();
    let org = s.id();
    unique(
        &mut c,
        "Contacts",
        s.contacts.iter().map(|x| x.contact_id.as_str()).enumerate(),
    );
    unique(
        &mut c,
        "AuthorisationServers",
        s.authorisation_servers
            .iter()
            .map(|x| x.fields.authorisation_server_id.as_str())
            .enumerate(),
    );
    unique(
        &mut c,
        "OrgDomainClaims",
        s.org_domain_claims
            .iter()
            .map(|x| x.organisation_authority_domain_claim_id.as_str())
            .enumerate(),
    );
    unique(
        &mut c,
        "OrgDomainRoleClaims",
        s.org_domain_role_claims
            .iter()
            .map(|x| x.organisation_authority_claim_id.as_str())
            .enumerate(),
    );
    c.each("Contacts", &s.contacts, |c, x| {
        same_org(c, "OrganisationId", x.organisation_id.as_deref(), org)
    });
    c.each("OrgDomainRoleClaims", &s.org_domain_role_claims, |c, x| {
        same_org(c, "OrganisationId", x.organisation_id.as_deref(), org)
    });
    c.each("OrganisationCertificates", &s.organisation_certificates, |c, x| {
        same_org(c, "OrganisationId", x.organisation_id.as_deref(), org)
    });
    c.each("AuthorisationServers", &s.authorisation_servers, |c, server| {
        same_org(c, "OrganisationId", server.fields.organisation_id.as_deref(), org);
        unique(
            c,
            "ApiResources",
            server
                .api_resources
                .iter()
                .map(|r| r.api_resource_id.as_str())
                .enumerate(),
        );
    });
    c.within("SoftwareStatements", |c| {
        for (key, statement) in &s.software_statements {
            for problem in rules::ID40.violations(key) {
                c.fail(key, format!("software statement id {problem}"));
            }
            let details = statement.get("SoftwareDetails");
            if let Some(Value::String(id)) = details.and_then(|d| d.get("SoftwareStatementId"))
                && id != key
            {
                c.fail(
                    key,
                    format!("SoftwareDetails.SoftwareStatementId {id:?} must equal its key"),
                );
            }
            if let Some(Value::String(nested)) = details.and_then(|d| d.get("OrganisationId")) {
                c.within(key, |c| {
                    same_org(c, "SoftwareDetails.OrganisationId", Some(nested), org)
                });
            }
        }
    });
    if let Some(rule) = crate::claims::exclusive_rule_violation(&s.org_domain_role_claims) {
        c.fail("OrgDomainRoleClaims", rule);
    }
    let mut problems = c.into_errors();
    problems.extend(crate::limits::violations(s));
    problems
}

/// The reference data lists of an import file and the table of their items.
const REFERENCE_LISTS: [(&str, &[(&str, FieldRule)]); 3] = [
    ("Authorities", tables::AUTHORITY),
    ("AuthorisationDomains", tables::AUTHORISATION_DOMAIN),
    ("AuthorisationDomainRoles", tables::DOMAIN_ROLE),
];

/// Normalises the reference data of an import file as given (see [`normalize`]) and
/// returns every type and rule violation of its fields.
pub fn reference_fields(value: &mut Value) -> Vec<String> {
    let mut c = Checker::new();
    if let Some(map) = value.as_object_mut() {
        for (field, table) in REFERENCE_LISTS {
            normalize(map, &[(field, FieldRule::ObjectList(table))]);
            if let Some(v) = map.get(field) {
                check_value(&mut c, field, v, FieldRule::ObjectList(table));
            }
        }
    }
    c.into_errors()
}

/// Every violation in the reference data: field rules, duplicates, dangling domains.
pub fn reference(r: &ReferenceData) -> Vec<String> {
    let mut c = Checker::new();
    let value = serde_json::to_value(r).unwrap_or(Value::Null);
    for (field, table) in REFERENCE_LISTS {
        if let Some(v) = value.get(field) {
            check_value(&mut c, field, v, FieldRule::ObjectList(table));
        }
    }
    unique(
        &mut c,
        "Authorities",
        r.authorities.iter().map(|a| a.authority_id.as_str()).enumerate(),
    );
    unique(
        &mut c,
        "AuthorisationDomains",
        r.authorisation_domains
            .iter()
            .map(|d| d.authorisation_domain_id.as_str())
            .enumerate(),
    );
    unique(
        &mut c,
        "AuthorisationDomainRoles",
        r.authorisation_domain_roles
            .iter()
            .map(|d| d.authorisation_domain_role_identifier.as_str())
            .enumerate(),
    );
    let index = crate::model::IndexedReference::new(r);
    c.each("AuthorisationDomainRoles", &r.authorisation_domain_roles, |c, role| {
        if crate::model::ReferenceLookup::domain(&index, &role.authorisation_domain_id).is_none() {
            c.fail("AuthorisationDomainID", "must name a known authorisation domain");
        }
    });
    c.into_errors()
}

/// Validates a PUT body: a JSON object with every rule of put-authority-claim.txt.
/// Read-only and unknown fields are ignored. Returns every violation.
pub fn claim_update(body: &Value) -> Result<AuthorityClaimUpdate, Vec<String>> {
    let Some(map) = body.as_object() else {
        return Err(vec!["body: must be a JSON object".to_owned()]);
    };
    let mut c = Checker::new();
    let map = &with_identifiers_alias(&mut c, map);
    // Unknown and read-only fields are ignored, not stored: only the writable ones count.
    check_known(&mut c, map, tables::CLAIM_UPDATE);
    if !c.is_ok() {
        return Err(c.into_errors());
    }
    let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
    Ok(AuthorityClaimUpdate {
        authorisation_domain: text("AuthorisationDomain"),
        authorisation_domain_id: text("AuthorisationDomainID"),
        authorisation_domain_role_identifier: text("AuthorisationDomainRoleIdentifier"),
        authority_id: text("AuthorityId").unwrap_or_default(),
        registration_id: text("RegistrationId"),
        role: text("Role"),
        unique_technical_identifiers: map
            .get("UniqueTechnicalIdentifiers")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        status: if text("Status").as_deref() == Some("Inactive") {
            ResourceStatus::Inactive
        } else {
            ResourceStatus::Active
        },
    })
}

/// The official document's spelling of `UniqueTechnicalIdentifiers`.
pub const IDENTIFIERS_ALIAS: &str = "UniqueTechnicalIdenifier";

/// The PUT body with `UniqueTechnicalIdenifier` (the official document's typo) read as
/// `UniqueTechnicalIdentifiers`: clients generated from that document send it, and
/// ignoring it would silently clear the identifiers. Both given and different is a
/// violation.
fn with_identifiers_alias(c: &mut Checker, map: &serde_json::Map<String, Value>) -> serde_json::Map<String, Value> {
    let mut map = map.clone();
    let name = "UniqueTechnicalIdentifiers";
    match (map.remove(IDENTIFIERS_ALIAS), map.get(name)) {
        (None | Some(Value::Null), _) => {}
        (Some(alias), None | Some(Value::Null)) => {
            map.insert(name.to_owned(), alias);
        }
        (Some(alias), Some(given)) if alias == *given => {}
        (Some(_), Some(_)) => c.fail(
            IDENTIFIERS_ALIAS,
            format!("is an alias of {name}; give one of them, or both with the same value"),
        ),
    }
    map
}

/// Checks a path parameter against its documented rule; the message names it.
pub fn path_param(name: &str, value: &str, rule: rules::Text) -> Vec<String> {
    rule.violations(value)
        .into_iter()
        .map(|p| format!("{name}: {p}"))
        .collect()
}
