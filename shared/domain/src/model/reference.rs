//! Reference data: authorities, authorisation domains and domain roles.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// An authority (e.g. a central bank) that grants role claims.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Authority {
    pub authority_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authority_name: Option<String>,
}

/// An authorisation domain (e.g. Open Finance).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorisationDomain {
    #[serde(rename = "AuthorisationDomainID")]
    pub authorisation_domain_id: String,
    pub authorisation_domain_name: String,
}

/// A role of an authorisation domain; `Exclusive` roles exclude every other role.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DomainRole {
    pub authorisation_domain_role_identifier: String,
    #[serde(rename = "AuthorisationDomainID")]
    pub authorisation_domain_id: String,
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_type: Option<String>,
    #[serde(default)]
    pub exclusive: bool,
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

/// All reference data, as one unit (import format and store read).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReferenceData {
    #[serde(default)]
    pub authorities: Vec<Authority>,
    #[serde(default)]
    pub authorisation_domains: Vec<AuthorisationDomain>,
    #[serde(default)]
    pub authorisation_domain_roles: Vec<DomainRole>,
}

impl ReferenceData {
    /// The authority with this id.
    pub fn authority(&self, id: &str) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.authority_id == id)
    }

    /// The domain with this id.
    pub fn domain(&self, id: &str) -> Option<&AuthorisationDomain> {
        self.authorisation_domains
            .iter()
            .find(|d| d.authorisation_domain_id == id)
    }

    /// The role with this identifier.
    pub fn role(&self, id: &str) -> Option<&DomainRole> {
        self.authorisation_domain_roles
            .iter()
            .find(|r| r.authorisation_domain_role_identifier == id)
    }

    /// The role named `role` in the domain named `domain` (deprecated lookup by names).
    pub fn role_by_names(&self, domain: &str, role: &str) -> Option<&DomainRole> {
        let domain_id = &self
            .authorisation_domains
            .iter()
            .find(|d| d.authorisation_domain_name == domain)?
            .authorisation_domain_id;
        self.authorisation_domain_roles
            .iter()
            .find(|r| &r.authorisation_domain_id == domain_id && r.role == role)
    }

    /// `self` with `other`'s items on top (same id: `other`'s wins), in linear time.
    pub fn merged_with(&self, other: &ReferenceData) -> ReferenceData {
        fn merge<T: Clone>(base: &[T], top: &[T], id: impl Fn(&T) -> &str) -> Vec<T> {
            let replaced: std::collections::HashSet<&str> = top.iter().map(&id).collect();
            base.iter()
                .filter(|x| !replaced.contains(id(x)))
                .chain(top)
                .cloned()
                .collect()
        }
        ReferenceData {
            authorities: merge(&self.authorities, &other.authorities, |a| a.authority_id.as_str()),
            authorisation_domains: merge(&self.authorisation_domains, &other.authorisation_domains, |d| {
                d.authorisation_domain_id.as_str()
            }),
            authorisation_domain_roles: merge(
                &self.authorisation_domain_roles,
                &other.authorisation_domain_roles,
                |r| r.authorisation_domain_role_identifier.as_str(),
            ),
        }
    }
}

/// Reference data looked up by id: linearly for the few items a request reads, by
/// index for an import's (a foreign file may name tens of thousands).
pub trait ReferenceLookup {
    /// The authority with this id.
    fn authority(&self, id: &str) -> Option<&Authority>;
    /// The domain with this id.
    fn domain(&self, id: &str) -> Option<&AuthorisationDomain>;
    /// The role with this identifier.
    fn role(&self, id: &str) -> Option<&DomainRole>;
    /// The role named `role` in the domain named `domain`.
    fn role_by_names(&self, domain: &str, role: &str) -> Option<&DomainRole>;
}

impl ReferenceLookup for ReferenceData {
    fn authority(&self, id: &str) -> Option<&Authority> {
        ReferenceData::authority(self, id)
    }
    fn domain(&self, id: &str) -> Option<&AuthorisationDomain> {
        ReferenceData::domain(self, id)
    }
    fn role(&self, id: &str) -> Option<&DomainRole> {
        ReferenceData::role(self, id)
    }
    fn role_by_names(&self, domain: &str, role: &str) -> Option<&DomainRole> {
        ReferenceData::role_by_names(self, domain, role)
    }
}

/// Reference data with an index of every lookup (built once per import).
pub struct IndexedReference<'r> {
    data: &'r ReferenceData,
    authorities: HashMap<&'r str, usize>,
    domains: HashMap<&'r str, usize>,
    roles: HashMap<&'r str, usize>,
    by_names: HashMap<(&'r str, &'r str), usize>,
}

impl<'r> IndexedReference<'r> {
    /// The index of `data` (the first item wins where ids repeat, as the linear
    /// lookups find it).
    pub fn new(data: &'r ReferenceData) -> Self {
        fn index<'r, T>(items: &'r [T], id: impl Fn(&'r T) -> &'r str) -> HashMap<&'r str, usize> {
            let mut map = HashMap::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                map.entry(id(item)).or_insert(i);
            }
            map
        }
        let domain_names: HashMap<&str, &str> = data
            .authorisation_domains
            .iter()
            .rev()
            .map(|d| (d.authorisation_domain_id.as_str(), d.authorisation_domain_name.as_str()))
            .collect();
        let mut first_domain_by_name: HashMap<&str, &str> = HashMap::new();
        for d in &data.authorisation_domains {
            first_domain_by_name
                .entry(d.authorisation_domain_name.as_str())
                .or_insert(d.authorisation_domain_id.as_str());
        }
        let mut by_names = HashMap::new();
        for (i, r) in data.authorisation_domain_roles.iter().enumerate() {
            let Some(name) = domain_names.get(r.authorisation_domain_id.as_str()) else {
                continue;
            };
            // The linear lookup takes the first domain of that name.
            if first_domain_by_name.get(name) == Some(&r.authorisation_domain_id.as_str()) {
                by_names.entry((*name, r.role.as_str())).or_insert(i);
            }
        }
        Self {
            authorities: index(&data.authorities, |a| a.authority_id.as_str()),
            domains: index(&data.authorisation_domains, |d| d.authorisation_domain_id.as_str()),
            roles: index(&data.authorisation_domain_roles, |r| {
                r.authorisation_domain_role_identifier.as_str()
            }),
            by_names,
            data,
        }
    }
}

impl ReferenceLookup for IndexedReference<'_> {
    fn authority(&self, id: &str) -> Option<&Authority> {
        self.authorities.get(id).map(|&i| &self.data.authorities[i])
    }
    fn domain(&self, id: &str) -> Option<&AuthorisationDomain> {
        self.domains.get(id).map(|&i| &self.data.authorisation_domains[i])
    }
    fn role(&self, id: &str) -> Option<&DomainRole> {
        self.roles.get(id).map(|&i| &self.data.authorisation_domain_roles[i])
    }
    fn role_by_names(&self, domain: &str, role: &str) -> Option<&DomainRole> {
        self.by_names
            .get(&(domain, role))
            .map(|&i| &self.data.authorisation_domain_roles[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ReferenceData {
        serde_json::from_value(serde_json::json!({
            "Authorities": [{"AuthorityId": "a1"}, {"AuthorityId": "a2", "AuthorityName": "x"}],
            "AuthorisationDomains": [
                {"AuthorisationDomainID": "d1", "AuthorisationDomainName": "Open Finance"},
                {"AuthorisationDomainID": "d2", "AuthorisationDomainName": "Open Finance"},
                {"AuthorisationDomainID": "d3", "AuthorisationDomainName": "Insurance"}
            ],
            "AuthorisationDomainRoles": [
                {"AuthorisationDomainRoleIdentifier": "r1", "AuthorisationDomainID": "d2", "Role": "PAGTO"},
                {"AuthorisationDomainRoleIdentifier": "r2", "AuthorisationDomainID": "d1", "Role": "PAGTO"},
                {"AuthorisationDomainRoleIdentifier": "r3", "AuthorisationDomainID": "d3", "Role": "DADOS"},
                {"AuthorisationDomainRoleIdentifier": "r4", "AuthorisationDomainID": "nowhere", "Role": "X"}
            ]
        }))
        .unwrap()
    }

    #[test]
    fn the_index_finds_what_the_linear_lookups_find() {
        let data = sample();
        let index = IndexedReference::new(&data);
        for id in ["a1", "a2", "a3"] {
            assert_eq!(index.authority(id), data.authority(id), "{id}");
        }
        for id in ["d1", "d2", "d3", "d4"] {
            assert_eq!(index.domain(id), data.domain(id), "{id}");
        }
        for id in ["r1", "r2", "r3", "r4", "r5"] {
            assert_eq!(index.role(id), data.role(id), "{id}");
        }
        for (d, r) in [
            ("Open Finance", "PAGTO"),
            ("Insurance", "DADOS"),
            ("Insurance", "PAGTO"),
            ("?", "X"),
        ] {
            assert_eq!(index.role_by_names(d, r), data.role_by_names(d, r), "{d}/{r}");
        }
    }

    #[test]
    fn merging_replaces_by_id_and_keeps_the_rest() {
        let base = sample();
        let top: ReferenceData = serde_json::from_value(serde_json::json!({
            "Authorities": [{"AuthorityId": "a2", "AuthorityName": "renamed"}, {"AuthorityId": "a9"}]
        }))
        .unwrap();
        let merged = base.merged_with(&top);
        let ids: Vec<(&str, Option<&str>)> = merged
            .authorities
            .iter()
            .map(|a| (a.authority_id.as_str(), a.authority_name.as_deref()))
            .collect();
        assert_eq!(ids, [("a1", None), ("a2", Some("renamed")), ("a9", None)]);
        assert_eq!(merged.authorisation_domain_roles, base.authorisation_domain_roles);
    }
}
