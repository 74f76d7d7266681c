//! Change events (docs/design.md, "Change events"): what a revision says happened,
//! as Security Event Tokens (RFC 8417) delivered to subscribers by push (RFC 8935) or
//! poll (RFC 8936), with the OpenID Shared Signals Framework's verification event and
//! transmitter metadata. Pure: the delivery and the store are the use cases' and the
//! adapters'.
//!
//! The events of a revision are derived once, by the sequencer, from the
//! organisation's public record before and after it ([`derive`]), and stored with the
//! revision: they name what changed (ids, role, authority, status), never private data,
//! since they come from the public records alone.

pub mod endpoint;
pub mod set;
pub mod subscription;
pub mod wire;

use crate::model::common::{OrganisationStatus, ResourceStatus};
use crate::model::export::{ExportAuthorisationServer, ExportOrganisation, ExportRoleClaim};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The prefix of the directory's event type URIs (URNs: they name, they do not locate).
pub const EVENT_PREFIX: &str = "urn:participant-directory:event:";

/// The SSF 1.0 verification event (the transmitter's proof of a working stream).
pub const VERIFICATION_EVENT: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";

/// What happened, as an event type. Each has the URI `urn:participant-directory:event:<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// An organisation entered the directory.
    OrganisationCreated,
    /// An organisation's own public fields changed (name, address, flags, domain claims…).
    OrganisationChanged,
    /// An organisation was withdrawn (status `Withdrawn`) or left the directory.
    OrganisationWithdrawn,
    /// A role claim became `Active` (or appeared active).
    AuthorityClaimActivated,
    /// A role claim stopped being `Active` (or disappeared).
    AuthorityClaimDeactivated,
    /// A role claim changed otherwise (authorisations, metadata, registration id…).
    AuthorityClaimChanged,
    /// An authorisation server was added, changed or removed.
    AuthorisationServerChanged,
    /// An API resource was added, changed or removed.
    ApiResourceChanged,
}

impl EventKind {
    /// Every event type, in a fixed order (the transmitter's `events_supported`).
    pub const ALL: [EventKind; 8] = [
        Self::OrganisationCreated,
        Self::OrganisationChanged,
        Self::OrganisationWithdrawn,
        Self::AuthorityClaimActivated,
        Self::AuthorityClaimDeactivated,
        Self::AuthorityClaimChanged,
        Self::AuthorisationServerChanged,
        Self::ApiResourceChanged,
    ];

    /// The name after [`EVENT_PREFIX`].
    pub fn name(self) -> &'static str {
        match self {
            Self::OrganisationCreated => "organisation-created",
            Self::OrganisationChanged => "organisation-changed",
            Self::OrganisationWithdrawn => "organisation-withdrawn",
            Self::AuthorityClaimActivated => "authority-claim-activated",
            Self::AuthorityClaimDeactivated => "authority-claim-deactivated",
            Self::AuthorityClaimChanged => "authority-claim-changed",
            Self::AuthorisationServerChanged => "authorisation-server-changed",
            Self::ApiResourceChanged => "api-resource-changed",
        }
    }

    /// The event type URI (the key of the SET's `events`).
    pub fn uri(self) -> String {
        format!("{EVENT_PREFIX}{}", self.name())
    }

    /// The kind of an event type URI.
    pub fn from_uri(uri: &str) -> Option<EventKind> {
        let name = uri.strip_prefix(EVENT_PREFIX)?;
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl Serialize for EventKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.uri())
    }
}

impl<'de> Deserialize<'de> for EventKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let uri = String::deserialize(d)?;
        EventKind::from_uri(&uri).ok_or_else(|| serde::de::Error::custom(format!("unknown event type {uri}")))
    }
}

/// One event of a revision, as stored with it: its kind and what it is about (ids,
/// role, authority, status, the kind of change), all public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// The event's payload beside the revision and organisation (snake_case names).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub about: Map<String, Value>,
}

impl ChangeEvent {
    fn new(kind: EventKind, about: &[(&str, Option<&str>)]) -> Self {
        let about = about
            .iter()
            .filter_map(|(k, v)| Some(((*k).to_owned(), Value::String((*v)?.to_owned()))))
            .collect();
        Self { kind, about }
    }
}

/// The events of one revision: what differs between the organisation's public record
/// before (`None`: it was not in the directory) and after it (`None`: it left). A
/// record that does not parse as the file's organisation gives a plain
/// `organisation-changed`, so a revision always says something.
pub fn derive(before: Option<&str>, after: Option<&str>) -> Vec<ChangeEvent> {
    let parse = |r: Option<&str>| r.map(serde_json::from_str::<ExportOrganisation>);
    match (parse(before), parse(after)) {
        (None, None) => Vec::new(),
        (Some(Ok(b)), Some(Ok(a))) => changed(&b, &a),
        (None, Some(Ok(a))) => {
            let mut out = vec![ChangeEvent::new(
                EventKind::OrganisationCreated,
                &[
                    ("status", Some(a.status.as_str())),
                    ("organisation_name", a.organisation_name.as_deref()),
                ],
            )];
            out.extend(
                a.org_domain_role_claims
                    .iter()
                    .filter(|c| active(c))
                    .map(|c| claim_event(EventKind::AuthorityClaimActivated, c)),
            );
            out
        }
        (Some(_), None) => vec![ChangeEvent::new(
            EventKind::OrganisationWithdrawn,
            &[("reason", Some("removed"))],
        )],
        _ => vec![ChangeEvent::new(EventKind::OrganisationChanged, &[])],
    }
}

fn active(c: &ExportRoleClaim) -> bool {
    c.status == ResourceStatus::Active
}

fn claim_event(kind: EventKind, c: &ExportRoleClaim) -> ChangeEvent {
    ChangeEvent::new(
        kind,
        &[
            ("authority_claim_id", Some(&c.organisation_authority_claim_id)),
            ("role", c.role.as_deref()),
            ("authority_id", Some(&c.authority_id)),
            ("status", Some(c.status.as_str())),
        ],
    )
}

fn changed(before: &ExportOrganisation, after: &ExportOrganisation) -> Vec<ChangeEvent> {
    let mut out = Vec::new();
    let withdrawn = after.status == OrganisationStatus::Withdrawn && before.status != OrganisationStatus::Withdrawn;
    // The organisation's own fields: everything but its servers and role claims.
    let own = |o: &ExportOrganisation| ExportOrganisation {
        authorisation_servers: Vec::new(),
        org_domain_role_claims: Vec::new(),
        ..o.clone()
    };
    if withdrawn {
        out.push(ChangeEvent::new(
            EventKind::OrganisationWithdrawn,
            &[("reason", Some("status"))],
        ));
    } else if own(before) != own(after) {
        out.push(ChangeEvent::new(
            EventKind::OrganisationChanged,
            &[("status", Some(after.status.as_str()))],
        ));
    }
    let claims = |o: &ExportOrganisation| -> BTreeMap<String, ExportRoleClaim> {
        o.org_domain_role_claims
            .iter()
            .map(|c| (c.organisation_authority_claim_id.clone(), c.clone()))
            .collect()
    };
    let (cb, ca) = (claims(before), claims(after));
    for id in cb.keys().chain(ca.keys().filter(|k| !cb.contains_key(*k))) {
        let event = match (cb.get(id), ca.get(id)) {
            (Some(b), Some(a)) if active(b) && !active(a) => Some(claim_event(EventKind::AuthorityClaimDeactivated, a)),
            (Some(b), Some(a)) if !active(b) && active(a) => Some(claim_event(EventKind::AuthorityClaimActivated, a)),
            (Some(b), Some(a)) if b != a => Some(claim_event(EventKind::AuthorityClaimChanged, a)),
            (Some(b), None) if active(b) => Some(claim_event(EventKind::AuthorityClaimDeactivated, b)),
            (Some(b), None) => Some(claim_event(EventKind::AuthorityClaimChanged, b)),
            (None, Some(a)) if active(a) => Some(claim_event(EventKind::AuthorityClaimActivated, a)),
            (None, Some(a)) => Some(claim_event(EventKind::AuthorityClaimChanged, a)),
            _ => None,
        };
        out.extend(event);
    }
    servers(before, after, &mut out);
    out
}

/// Server and API resource events: added, changed or removed.
fn servers(before: &ExportOrganisation, after: &ExportOrganisation, out: &mut Vec<ChangeEvent>) {
    let by_id = |o: &ExportOrganisation| -> BTreeMap<String, ExportAuthorisationServer> {
        o.authorisation_servers
            .iter()
            .map(|s| (s.fields.authorisation_server_id.clone(), s.clone()))
            .collect()
    };
    let (sb, sa) = (by_id(before), by_id(after));
    let change = |b: bool, a: bool| match (b, a) {
        (false, true) => "added",
        (true, false) => "removed",
        _ => "changed",
    };
    for id in sb.keys().chain(sa.keys().filter(|k| !sb.contains_key(*k))) {
        let (b, a) = (sb.get(id), sa.get(id));
        let own = |s: &ExportAuthorisationServer| ExportAuthorisationServer {
            api_resources: Vec::new(),
            ..s.clone()
        };
        if b.map(own) != a.map(own) {
            out.push(ChangeEvent::new(
                EventKind::AuthorisationServerChanged,
                &[
                    ("authorisation_server_id", Some(id)),
                    ("change", Some(change(b.is_some(), a.is_some()))),
                ],
            ));
        }
        let resources = |s: Option<&ExportAuthorisationServer>| -> BTreeMap<String, Value> {
            s.map(|s| {
                s.api_resources
                    .iter()
                    .map(|r| (r.api_resource_id.clone(), serde_json::to_value(r).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default()
        };
        let (rb, ra) = (resources(b), resources(a));
        for rid in rb.keys().chain(ra.keys().filter(|k| !rb.contains_key(*k))) {
            if rb.get(rid) != ra.get(rid) {
                out.push(ChangeEvent::new(
                    EventKind::ApiResourceChanged,
                    &[
                        ("authorisation_server_id", Some(id)),
                        ("api_resource_id", Some(rid)),
                        ("change", Some(change(rb.contains_key(rid), ra.contains_key(rid)))),
                    ],
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(status: &str, claims: &[(&str, &str)]) -> String {
        let claims: Vec<Value> = claims
            .iter()
            .map(|(id, st)| {
                serde_json::json!({"OrganisationAuthorityClaimId": id, "AuthorityId": "auth-1", "Role": "PAGTO", "Status": st})
            })
            .collect();
        serde_json::json!({"OrganisationId": "org-1", "Status": status, "OrganisationName": "Bank", "OrgDomainRoleClaims": claims}).to_string()
    }

    fn kinds(events: &[ChangeEvent]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    #[test]
    fn uris_round_trip_and_unknown_ones_are_refused() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_uri(&k.uri()), Some(k));
        }
        assert_eq!(EventKind::from_uri("urn:participant-directory:event:nope"), None);
        assert!(serde_json::from_str::<EventKind>("\"x\"").is_err());
    }

    #[test]
    fn a_revoked_role_is_a_deactivation_naming_role_and_authority() {
        let before = org("Active", &[("c1", "Active"), ("c2", "Active")]);
        let after = org("Active", &[("c1", "Inactive"), ("c2", "Active")]);
        let events = derive(Some(&before), Some(&after));
        assert_eq!(kinds(&events), [EventKind::AuthorityClaimDeactivated]);
        assert_eq!(events[0].about["authority_claim_id"], "c1");
        assert_eq!(events[0].about["role"], "PAGTO");
        assert_eq!(events[0].about["authority_id"], "auth-1");
        assert_eq!(events[0].about["status"], "Inactive");
        assert_eq!(
            kinds(&derive(Some(&after), Some(&before))),
            [EventKind::AuthorityClaimActivated]
        );
    }

    #[test]
    fn creation_withdrawal_and_removal() {
        let a = org("Active", &[("c1", "Active"), ("c2", "Inactive")]);
        assert_eq!(
            kinds(&derive(None, Some(&a))),
            [EventKind::OrganisationCreated, EventKind::AuthorityClaimActivated]
        );
        assert_eq!(
            kinds(&derive(
                Some(&a),
                Some(&org("Withdrawn", &[("c1", "Active"), ("c2", "Inactive")]))
            )),
            [EventKind::OrganisationWithdrawn]
        );
        assert_eq!(kinds(&derive(Some(&a), None)), [EventKind::OrganisationWithdrawn]);
        assert_eq!(derive(Some(&a), Some(&a)), []);
        assert_eq!(
            kinds(&derive(Some("not json"), Some(&a))),
            [EventKind::OrganisationChanged]
        );
    }

    #[test]
    fn servers_and_resources_say_added_changed_removed() {
        let with = |resource: Option<&str>| {
            let resources: Vec<Value> = resource
                .map(|v| serde_json::json!({"ApiResourceId": "r1", "ApiVersion": v}))
                .into_iter()
                .collect();
            serde_json::json!({"OrganisationId": "o", "Status": "Active", "AuthorisationServers": [
                {"AuthorisationServerId": "as1", "ApiResources": resources}]})
            .to_string()
        };
        let none = serde_json::json!({"OrganisationId": "o", "Status": "Active"}).to_string();
        let e = derive(Some(&none), Some(&with(None)));
        assert_eq!(kinds(&e), [EventKind::AuthorisationServerChanged]);
        assert_eq!(e[0].about["change"], "added");
        let e = derive(Some(&with(Some("1"))), Some(&with(Some("2"))));
        assert_eq!(kinds(&e), [EventKind::ApiResourceChanged]);
        assert_eq!(
            (e[0].about["api_resource_id"].as_str(), e[0].about["change"].as_str()),
            (Some("r1"), Some("changed"))
        );
        let e = derive(Some(&with(Some("1"))), Some(&none));
        assert_eq!(
            kinds(&e),
            [EventKind::AuthorisationServerChanged, EventKind::ApiResourceChanged]
        );
        assert!(e.iter().all(|e| e.about["change"] == "removed"));
    }
}
