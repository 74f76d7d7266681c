//! A published participants file (the open-data export format: what
//! `GET /organisations/export/open-data` returns and ecosystems publish) turned into an
//! import file, so a sandbox or a new directory can start from a real ecosystem.
//!
//! What the public format leaves out is derived deterministically, so importing the
//! same file twice changes nothing:
//! - claim ids it does not carry are UUIDv5 of the organisation id and what identifies
//!   the claim (its domain and role, or domain and authority; the n-th such claim
//!   when several share them), never of its position in the file;
//! - a role claim's `AuthorityId` is its organisation's domain claim's for the same
//!   domain;
//! - authorities, domains and roles the file names but the store does not hold are
//!   created from the names (ids UUIDv5 of the names; a new role takes `RoleType`,
//!   `Exclusive` and `Metadata` from the first claim of it);
//! - flags in the public map form `{Name: [Value]}` become Active, access-level-0 flags.
//!
//! The result goes through the ordinary import: every rule is checked, every problem
//! reported (paths are those of the import format: `OrganisationDetails.City`), and
//! nothing is written unless the whole file is valid.

use crate::model::{AuthorisationDomain, Authority, DomainRole, ReferenceData};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use uuid::Uuid;

/// What the conversion had to derive, for the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Derived {
    pub role_claim_ids: usize,
    pub domain_claim_ids: usize,
    pub authority_ids: usize,
    pub authorities: usize,
    pub domains: usize,
    pub roles: usize,
    pub flags: usize,
}

impl std::fmt::Display for Derived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "derived {} role-claim ids, {} domain-claim ids, {} role-claim authorities; created {} authorities, {} domains, {} roles from their names; {} flags from the public map form",
            self.role_claim_ids,
            self.domain_claim_ids,
            self.authority_ids,
            self.authorities,
            self.domains,
            self.roles,
            self.flags
        )
    }
}

/// A UUIDv5 of `kind` and `parts` (joined with a separator no name contains), in the
/// directory's own namespace.
fn derived_id(kind: &str, parts: &[&str]) -> String {
    let name = format!("participant-directory/{kind}/{}", parts.join("\u{1f}"));
    Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()).to_string()
}

fn text<'a>(map: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    map.get(field).and_then(Value::as_str)
}

/// The reference data as stored plus what the file needs, looked up by name.
struct References<'a> {
    stored: &'a ReferenceData,
    new: ReferenceData,
    derived: Derived,
}

impl References<'_> {
    fn authority_named(&mut self, name: &str) -> String {
        let mut known = self.stored.authorities.iter().chain(&self.new.authorities);
        if let Some(a) = known.find(|a| a.authority_name.as_deref() == Some(name)) {
            return a.authority_id.clone();
        }
        let id = derived_id("authority", &[name]);
        self.add_authority(&id, Some(name));
        id
    }

    fn add_authority(&mut self, id: &str, name: Option<&str>) {
        let mut known = self.stored.authorities.iter().chain(&self.new.authorities);
        if known.any(|a| a.authority_id == id) {
            return;
        }
        self.new.authorities.push(Authority {
            authority_id: id.to_owned(),
            authority_name: name.map(str::to_owned),
        });
        self.derived.authorities += 1;
    }

    fn domain_named(&mut self, name: &str) -> String {
        let mut known = self
            .stored
            .authorisation_domains
            .iter()
            .chain(&self.new.authorisation_domains);
        if let Some(d) = known.find(|d| d.authorisation_domain_name == name) {
            return d.authorisation_domain_id.clone();
        }
        let id = derived_id("domain", &[name]);
        self.new.authorisation_domains.push(AuthorisationDomain {
            authorisation_domain_id: id.clone(),
            authorisation_domain_name: name.to_owned(),
        });
        self.derived.domains += 1;
        id
    }

    /// Makes sure the role `role` of domain `domain` exists, creating it from the claim.
    fn ensure_role(&mut self, domain: &str, role: &str, claim: &Map<String, Value>) {
        let domain_id = self.domain_named(domain);
        let mut known = self
            .stored
            .authorisation_domain_roles
            .iter()
            .chain(&self.new.authorisation_domain_roles);
        if known.any(|r| r.authorisation_domain_id == domain_id && r.role == role) {
            return;
        }
        self.new.authorisation_domain_roles.push(DomainRole {
            authorisation_domain_role_identifier: derived_id("role", &[domain, role]),
            authorisation_domain_id: domain_id,
            role: role.to_owned(),
            role_type: text(claim, "RoleType").map(str::to_owned),
            exclusive: claim.get("Exclusive").and_then(Value::as_bool).unwrap_or(false),
            metadata: claim
                .get("Metadata")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        });
        self.derived.roles += 1;
    }
}

/// `{Name: [Value, ...]}` as a list of public flags; a list is kept as it is.
fn flags(value: Option<Value>, derived: &mut Derived) -> Option<Value> {
    match value? {
        Value::Object(map) => {
            let mut list = Vec::new();
            for (name, values) in map {
                let values = match values {
                    Value::Array(v) => v,
                    other => vec![other],
                };
                for v in values {
                    derived.flags += 1;
                    list.push(json!({"Name": name, "Value": v, "Status": "Active", "AccessLevel": 0}));
                }
            }
            Some(Value::Array(list))
        }
        other => Some(other),
    }
}

/// The n-th occurrence of `key` so far (0 for the first).
fn occurrence(seen: &mut HashMap<String, usize>, key: String) -> String {
    let n = seen.entry(key).or_insert(0);
    *n += 1;
    (*n - 1).to_string()
}

/// Applies `f` to each object of a list; other elements are kept for the import's
/// check to name, and an absent list is an empty one.
fn each_object(list: Option<Value>, mut f: impl FnMut(&mut Map<String, Value>)) -> Value {
    match list {
        Some(Value::Array(mut items)) => {
            for item in &mut items {
                if let Value::Object(map) = item {
                    f(map);
                }
            }
            Value::Array(items)
        }
        other => other.unwrap_or(Value::Array(Vec::new())),
    }
}

/// One participant as an import-format organisation record.
fn organisation(participant: Map<String, Value>, refs: &mut References<'_>) -> Value {
    let mut details = participant;
    let org_id = text(&details, "OrganisationId").unwrap_or_default().to_owned();
    let servers = details.remove("AuthorisationServers");
    let domain_claims = details.remove("OrgDomainClaims");
    let role_claims = details.remove("OrgDomainRoleClaims");
    if let Some(f) = flags(details.remove("Flags"), &mut refs.derived) {
        details.insert("Flags".into(), f);
    }
    let mut record = Map::new();

    let servers = each_object(servers, |s| {
        if let Some(f) = flags(s.remove("Flags"), &mut refs.derived) {
            s.insert("Flags".into(), f);
        }
    });

    // Domain claims first: role claims take their authority from them.
    let mut authority_of_domain: HashMap<String, String> = HashMap::new();
    let mut seen = HashMap::new();
    let domain_claims = each_object(domain_claims, |c| {
        let domain = text(c, "AuthorisationDomainName").unwrap_or_default().to_owned();
        let authority = match (text(c, "AuthorityId"), text(c, "AuthorityName")) {
            (Some(id), name) => {
                let (id, name) = (id.to_owned(), name.map(str::to_owned));
                refs.add_authority(&id, name.as_deref());
                Some(id)
            }
            (None, Some(name)) => {
                let id = refs.authority_named(name);
                c.insert("AuthorityId".into(), Value::String(id.clone()));
                Some(id)
            }
            (None, None) => None,
        };
        if let Some(id) = &authority {
            authority_of_domain.entry(domain.clone()).or_insert_with(|| id.clone());
        }
        if !c.contains_key("OrganisationAuthorityDomainClaimId") {
            let authority = authority.unwrap_or_default();
            let n = occurrence(&mut seen, format!("{domain}\u{1f}{authority}"));
            let id = derived_id("domain-claim", &[&org_id, &domain, &authority, &n]);
            c.insert("OrganisationAuthorityDomainClaimId".into(), Value::String(id));
            refs.derived.domain_claim_ids += 1;
        }
    });

    let mut seen = HashMap::new();
    let role_claims = each_object(role_claims, |c| {
        let domain = text(c, "AuthorisationDomain").map(str::to_owned);
        let role = text(c, "Role").map(str::to_owned);
        if let (Some(domain), Some(role)) = (&domain, &role) {
            refs.ensure_role(domain, role, c);
        }
        if !c.contains_key("AuthorityId")
            && let Some(id) = domain.as_ref().and_then(|d| authority_of_domain.get(d))
        {
            c.insert("AuthorityId".into(), Value::String(id.clone()));
            refs.derived.authority_ids += 1;
        }
        if !c.contains_key("OrganisationAuthorityClaimId") {
            let (domain, role) = (domain.unwrap_or_default(), role.unwrap_or_default());
            let n = occurrence(&mut seen, format!("{domain}\u{1f}{role}"));
            let id = derived_id("role-claim", &[&org_id, &domain, &role, &n]);
            c.insert("OrganisationAuthorityClaimId".into(), Value::String(id));
            refs.derived.role_claim_ids += 1;
        }
    });

    record.insert("OrganisationDetails".into(), Value::Object(details));
    record.insert("AuthorisationServers".into(), servers);
    record.insert("OrgDomainClaims".into(), domain_claims);
    record.insert("OrgDomainRoleClaims".into(), role_claims);
    Value::Object(record)
}

/// Converts a participants file (read as a stream) into an import file written to
/// `out`, given the stored reference data; the error is a file-level problem (not a
/// JSON array, or the output failed). Each organisation is converted and written out
/// at once, so memory holds one organisation and the reference data it names.
pub fn to_import_file(
    input: impl std::io::Read,
    stored: &ReferenceData,
    mut out: impl std::io::Write,
) -> Result<Derived, String> {
    struct Participants<'o, 'r, W> {
        out: &'o mut W,
        refs: &'o mut References<'r>,
    }
    impl<'de, W: std::io::Write> serde::de::Visitor<'de> for Participants<'_, '_, W> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON array of organisations")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut i = 0usize;
            while let Some(value) = seq.next_element::<Value>()? {
                if i > 0 {
                    self.out.write_all(b",").map_err(serde::de::Error::custom)?;
                }
                let record = match value {
                    Value::Object(participant) => organisation(participant, self.refs),
                    // Left for the import's check to name.
                    other => other,
                };
                serde_json::to_writer(&mut *self.out, &record).map_err(serde::de::Error::custom)?;
                i += 1;
            }
            Ok(())
        }
    }
    let mut refs = References {
        stored,
        new: ReferenceData::default(),
        derived: Derived::default(),
    };
    let write = |e: std::io::Error| format!("writing the converted file: {e}");
    out.write_all(b"{\"Organisations\":[").map_err(write)?;
    let mut de = serde_json::Deserializer::from_reader(input);
    serde::Deserializer::deserialize_seq(
        &mut de,
        Participants {
            out: &mut out,
            refs: &mut refs,
        },
    )
    .and_then(|()| de.end())
    .map_err(|e| format!("not a participants file (a JSON array of organisations): {e}"))?;
    out.write_all(b"],").map_err(write)?;
    // The reference data the organisations need, after them: only now is it known.
    let reference = serde_json::to_vec(&refs.new).map_err(|e| e.to_string())?;
    out.write_all(&reference[1..]).map_err(write)?;
    out.flush().map_err(write)?;
    Ok(refs.derived)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(participants: Value) -> (Value, Derived) {
        let mut bytes = Vec::new();
        let derived = to_import_file(
            participants.to_string().as_bytes(),
            &ReferenceData::default(),
            &mut bytes,
        )
        .unwrap();
        (serde_json::from_slice(&bytes).unwrap(), derived)
    }

    fn participant() -> Value {
        json!({
            "OrganisationId": "org-1",
            "Status": "Active",
            "Flags": {"Tier": ["1", "2"]},
            "AuthorisationServers": [{"AuthorisationServerId": "as-1", "Flags": {"Fapi": ["yes"]}}],
            "OrgDomainClaims": [{"AuthorisationDomainName": "Open Finance", "AuthorityName": "Central Bank", "Status": "Active"}],
            "OrgDomainRoleClaims": [
                {"AuthorisationDomain": "Open Finance", "Role": "DADOS", "Status": "Active", "RoleType": "Data", "Exclusive": false},
                {"AuthorisationDomain": "Open Finance", "Role": "DADOS", "Status": "Inactive"}
            ]
        })
    }

    #[test]
    fn missing_ids_and_reference_data_are_derived_from_content_not_position() {
        let (file, derived) = convert(json!([participant()]));
        let org = &file["Organisations"][0];
        let authority = file["Authorities"][0]["AuthorityId"].as_str().unwrap();
        assert_eq!(file["Authorities"][0]["AuthorityName"], "Central Bank");
        assert_eq!(org["OrgDomainClaims"][0]["AuthorityId"], authority);
        assert_eq!(
            org["OrgDomainRoleClaims"][0]["AuthorityId"], authority,
            "from the domain claim"
        );
        assert_eq!(file["AuthorisationDomainRoles"][0]["RoleType"], "Data");
        assert_eq!(org["OrganisationDetails"]["Flags"].as_array().unwrap().len(), 2);
        assert_eq!(
            org["AuthorisationServers"][0]["Flags"][0],
            json!({"Name": "Fapi", "Value": "yes", "Status": "Active", "AccessLevel": 0})
        );
        assert_eq!(
            derived,
            Derived {
                role_claim_ids: 2,
                domain_claim_ids: 1,
                authority_ids: 2,
                authorities: 1,
                domains: 1,
                roles: 1,
                flags: 3
            }
        );
        let ids = |f: &Value| -> Vec<String> {
            f["Organisations"][0]["OrgDomainRoleClaims"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["OrganisationAuthorityClaimId"].as_str().unwrap().to_owned())
                .collect()
        };
        let first = ids(&file);
        assert_ne!(first[0], first[1], "two claims of one role get two ids");

        // Same file again: same ids. Another claim put in front: the others keep theirs.
        assert_eq!(ids(&convert(json!([participant()])).0), first);
        let mut moved = participant();
        moved["OrgDomainRoleClaims"].as_array_mut().unwrap().insert(
            0,
            json!({"AuthorisationDomain": "Open Finance", "Role": "PAGTO", "Status": "Active"}),
        );
        assert_eq!(ids(&convert(json!([moved])).0)[1..], first[..]);
    }

    #[test]
    fn stored_reference_data_is_reused_by_name() {
        let stored = ReferenceData {
            authorities: vec![Authority {
                authority_id: "3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
                authority_name: Some("Central Bank".into()),
            }],
            ..Default::default()
        };
        let mut bytes = Vec::new();
        let derived = to_import_file(json!([participant()]).to_string().as_bytes(), &stored, &mut bytes).unwrap();
        let file: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(file["Authorities"], json!([]));
        assert_eq!(derived.authorities, 0);
        assert_eq!(
            file["Organisations"][0]["OrgDomainRoleClaims"][1]["AuthorityId"],
            "3fa85f64-5717-4562-b3fc-2c963f66afa6"
        );
    }

    #[test]
    fn a_file_that_is_not_an_array_is_refused() {
        let err = to_import_file(&b"{}"[..], &ReferenceData::default(), Vec::new()).unwrap_err();
        assert!(err.starts_with("not a participants file"), "{err}");
    }
}
