//! The items of an organisation partition, and their reassembly into a snapshot:
//! the same layout for every adapter.

use crate::keys::OrgItem;
use crate::model::{
    ApiResource, AuthorisationDomain, AuthorisationServer, Authority, AuthorityClaim, Contact, DomainClaim, DomainRole,
    OrganisationCertificate, OrganisationDetails, OrganisationSnapshot, ReferenceData,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn json<T: Serialize>(value: &T) -> String {
    // Serialising our own models cannot fail: no maps with non-string keys.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// Every item of an organisation, as (kind, JSON body), in no particular order.
pub fn organisation_items(s: &OrganisationSnapshot) -> Vec<(OrgItem, String)> {
    located_items(s)
        .into_iter()
        .map(|item| (item.kind, item.body))
        .collect()
}

/// One item of an organisation with where it comes from in the snapshot.
pub struct LocatedItem {
    /// The path of the object stored as this item (`Contacts[3]`).
    pub path: String,
    /// The field its sort key is made from (`ContactId`), if any.
    pub key_field: Option<&'static str>,
    pub kind: OrgItem,
    pub body: String,
}

impl LocatedItem {
    fn new(path: String, key_field: Option<&'static str>, kind: OrgItem, body: String) -> Self {
        Self {
            path,
            key_field,
            kind,
            body,
        }
    }

    /// The path of the field the sort key is made from (`Contacts[3].ContactId`).
    pub fn key_path(&self) -> String {
        match self.key_field {
            Some(field) => format!("{}.{field}", self.path),
            None => self.path.clone(),
        }
    }
}

/// [`organisation_items`] with where each comes from, so a limit broken by one item
/// names the field.
pub fn located_items(s: &OrganisationSnapshot) -> Vec<LocatedItem> {
    let mut out = vec![LocatedItem::new(
        "OrganisationDetails".to_owned(),
        None,
        OrgItem::Details,
        json(&s.organisation_details),
    )];
    for (i, c) in s.contacts.iter().enumerate() {
        out.push(LocatedItem::new(
            format!("Contacts[{i}]"),
            Some("ContactId"),
            OrgItem::Contact(c.contact_id.clone()),
            json(c),
        ));
    }
    for (i, server) in s.authorisation_servers.iter().enumerate() {
        let id = &server.fields.authorisation_server_id;
        for (j, r) in server.api_resources.iter().enumerate() {
            out.push(LocatedItem::new(
                format!("AuthorisationServers[{i}].ApiResources[{j}]"),
                Some("ApiResourceId"),
                OrgItem::Resource(id.clone(), r.api_resource_id.clone()),
                json(r),
            ));
        }
        let bare = AuthorisationServer {
            api_resources: Vec::new(),
            ..server.clone()
        };
        out.push(LocatedItem::new(
            format!("AuthorisationServers[{i}]"),
            Some("AuthorisationServerId"),
            OrgItem::Server(id.clone()),
            json(&bare),
        ));
    }
    for (i, c) in s.org_domain_claims.iter().enumerate() {
        out.push(LocatedItem::new(
            format!("OrgDomainClaims[{i}]"),
            Some("OrganisationAuthorityDomainClaimId"),
            OrgItem::DomainClaim(c.organisation_authority_domain_claim_id.clone()),
            json(c),
        ));
    }
    for (i, c) in s.org_domain_role_claims.iter().enumerate() {
        out.push(LocatedItem::new(
            format!("OrgDomainRoleClaims[{i}]"),
            Some("OrganisationAuthorityClaimId"),
            OrgItem::Claim(c.organisation_authority_claim_id.clone()),
            json(c),
        ));
    }
    for (id, statement) in &s.software_statements {
        out.push(LocatedItem::new(
            format!("SoftwareStatements.{id}"),
            None,
            OrgItem::SoftwareStatement(id.clone()),
            json(statement),
        ));
    }
    for (i, c) in s.organisation_certificates.iter().enumerate() {
        out.push(LocatedItem::new(
            format!("OrganisationCertificates[{i}]"),
            None,
            OrgItem::Certificate(i),
            json(c),
        ));
    }
    out
}

/// A stored item that could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("corrupt item {key}: {reason}")]
pub struct CorruptItem {
    pub key: String,
    pub reason: String,
}

/// What [`parse`] reads (so adapters need no serde of their own).
pub trait Parse: DeserializeOwned {}
impl<T: DeserializeOwned> Parse for T {}

/// Parses one stored JSON body, naming the item on failure.
pub fn parse<T: DeserializeOwned>(key: &str, body: &str) -> Result<T, CorruptItem> {
    serde_json::from_str(body).map_err(|e| CorruptItem {
        key: key.to_owned(),
        reason: e.to_string(),
    })
}

/// Reassembles a snapshot from (sort key, JSON body) pairs given in sort-key order.
/// `None` when the details item is missing (no such organisation).
pub fn assemble<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
    public_only: bool,
) -> Result<Option<OrganisationSnapshot>, CorruptItem> {
    let mut details: Option<OrganisationDetails> = None;
    let mut snapshot = OrganisationSnapshot::default();
    let mut resources: Vec<(String, ApiResource)> = Vec::new();
    for (sk, body) in items {
        let Some(kind) = OrgItem::parse(sk) else {
            continue;
        };
        if public_only && !kind.is_public() {
            continue;
        }
        match kind {
            OrgItem::Details => details = Some(parse(sk, body)?),
            OrgItem::Version => {}
            OrgItem::Contact(_) => snapshot.contacts.push(parse::<Contact>(sk, body)?),
            OrgItem::Server(_) => snapshot.authorisation_servers.push(parse(sk, body)?),
            OrgItem::Resource(server, _) => resources.push((server, parse(sk, body)?)),
            OrgItem::Claim(_) => snapshot.org_domain_role_claims.push(parse::<AuthorityClaim>(sk, body)?),
            OrgItem::DomainClaim(_) => snapshot.org_domain_claims.push(parse::<DomainClaim>(sk, body)?),
            OrgItem::SoftwareStatement(id) => {
                snapshot.software_statements.insert(id, parse::<Value>(sk, body)?);
            }
            OrgItem::Certificate(_) => snapshot
                .organisation_certificates
                .push(parse::<OrganisationCertificate>(sk, body)?),
        }
    }
    let Some(details) = details else {
        return Ok(None);
    };
    snapshot.organisation_details = details;
    for (server_id, resource) in resources {
        if let Some(server) = snapshot
            .authorisation_servers
            .iter_mut()
            .find(|s| s.fields.authorisation_server_id == server_id)
        {
            server.api_resources.push(resource);
        }
    }
    Ok(Some(snapshot))
}

/// Audit records from (sort key, JSON body) pairs given newest first: those at or
/// after `since` (a fixed-width time), expired ones left out.
pub fn audit_records<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
    since: Option<&str>,
) -> Result<Vec<crate::audit::AuditRecord>, CorruptItem> {
    let mut records = Vec::new();
    for (sk, body) in items {
        if since.is_some_and(|since| sk < since) {
            break;
        }
        let record: crate::audit::AuditRecord = parse(sk, body)?;
        if !record.is_expired() {
            records.push(record);
        }
    }
    Ok(records)
}

/// The reference data items, as (sort key, JSON body).
pub fn reference_items(r: &ReferenceData) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for a in &r.authorities {
        out.push((crate::keys::authority_sk(&a.authority_id), json(a)));
    }
    for d in &r.authorisation_domains {
        out.push((crate::keys::domain_sk(&d.authorisation_domain_id), json(d)));
    }
    for role in &r.authorisation_domain_roles {
        out.push((
            crate::keys::role_sk(&role.authorisation_domain_role_identifier),
            json(role),
        ));
    }
    out
}

/// Reassembles reference data from (sort key, JSON body) pairs.
pub fn assemble_reference<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<ReferenceData, CorruptItem> {
    let mut r = ReferenceData::default();
    for (sk, body) in items {
        match sk.split_once('#').map(|(k, _)| k) {
            Some("AUTHORITY") => r.authorities.push(parse::<Authority>(sk, body)?),
            Some("DOMAIN") => r.authorisation_domains.push(parse::<AuthorisationDomain>(sk, body)?),
            Some("ROLE") => r.authorisation_domain_roles.push(parse::<DomainRole>(sk, body)?),
            _ => {}
        }
    }
    Ok(r)
}
