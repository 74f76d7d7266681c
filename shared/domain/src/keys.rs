//! The single-table key grammar (docs/design.md), built and parsed here only.
//!
//! Ids may contain any character but `<>`, so `#` and `%` inside an id are
//! percent-encoded: `AS#a%23RES%23b` can never be mistaken for a resource key.

/// Partition of the reference data.
pub const REF_PK: &str = "REF";
/// Sort key of the organisation details item.
pub const ORG_SK: &str = "ORG";
/// Sort key of the per-organisation version item guarding claim writes (DynamoDB).
/// `CLAIM` sorts just before every `CLAIM#…` key, so one Query over the claims'
/// range returns the version first and then the claims: a claim write reads both in
/// one round trip, and a write committed between the two reads fails its condition.
pub const VERSION_SK: &str = "CLAIM";
/// Sort keys of the version item's twins at the start and the end of the
/// partition: every write sets the same token on all three, so a reader whose Query
/// saw different tokens knows a write committed while it read, and reads again.
pub const VERSION_HEAD_SK: &str = "#VERSION";
/// See [`VERSION_HEAD_SK`]: the twin that every whole-partition Query reads last.
pub const VERSION_TAIL_SK: &str = "VERSION";
/// See [`VERSION_HEAD_SK`]: the twin between the public items and the private ones
/// (every private sort key starts with [`PRIVATE_PREFIX`], which sorts after it), so
/// a Query of `#VERSION` … `PRIVATE` reads exactly the public items, checked.
pub const PRIVATE_SK: &str = "PRIVATE";
/// Prefix of every private item's sort key (contacts, software statements,
/// certificates): they sort after every public item and the `PRIVATE` twin.
pub const PRIVATE_PREFIX: &str = "PRIVATE#";

/// Whether a sort key is one of the version items (no entity data).
pub fn is_version_sk(sk: &str) -> bool {
    [VERSION_SK, VERSION_HEAD_SK, PRIVATE_SK, VERSION_TAIL_SK].contains(&sk)
}
/// GSI1 partition of organisation details items: lists organisations in id order.
pub const ORGS_GSI1PK: &str = "ORGS";

/// The end of the sort-key range of every key starting with `prefix`: keys are
/// ASCII-prefixed, so the prefix followed by U+10FFFF bounds every key under it
/// (both stores use it for their range reads).
pub fn range_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// Escapes the key separator (and the escape character) inside an id.
pub fn encode(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for ch in id.chars() {
        match ch {
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            _ => out.push(ch),
        }
    }
    out
}

/// Reverses [`encode`]; `None` for a malformed escape.
pub fn decode(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        match rest.get(i + 1..i + 3)? {
            "25" => out.push('%'),
            "23" => out.push('#'),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// `ORG#{OrganisationId}`
pub fn org_pk(org_id: &str) -> String {
    format!("ORG#{}", encode(org_id))
}

/// Partition of the export lease item (sort key [`LEASE_SK`]).
pub const EXPORT_PK: &str = "EXPORT";
/// Sort key of the export lease item.
pub const LEASE_SK: &str = "LEASE";

/// Partition of the directory-wide documents (key histories), one sort key each.
pub const DOCUMENTS_PK: &str = "KEYS";

/// Partition of directory-wide audit records (export publishes).
pub const AUDIT_DIRECTORY_PK: &str = "AUDIT";

/// `AUDIT#{OrganisationId}`: the organisation's audit records, outside its `ORG#`
/// partition so snapshot, claims and export reads never touch them.
pub fn audit_pk(org_id: &str) -> String {
    format!("AUDIT#{}", encode(org_id))
}

/// The audit partition of a record target: the organisation's, or the directory's.
pub fn audit_partition(org_id: Option<&str>) -> String {
    org_id.map_or_else(|| AUDIT_DIRECTORY_PK.to_owned(), audit_pk)
}

/// Partition of the changes outbox: one item per accepted write of an organisation,
/// put in that write's own transaction and removed by the sequencer once the change
/// has its revision (or needs none). Sort key [`outbox_sk`].
pub const OUTBOX_PK: &str = "OUTBOX";

/// `{OrganisationId}#{version}`: the outbox item of the write that took the
/// organisation's guard to `version` (20 digits, so one organisation's items sort by
/// version).
pub fn outbox_sk(org_id: &str, version: u64) -> String {
    format!("{}#{version:020}", encode(org_id))
}

/// The organisation and version of an outbox sort key; `None` for anything else.
pub fn parse_outbox_sk(sk: &str) -> Option<(String, u64)> {
    let (org, version) = sk.rsplit_once('#')?;
    (version.len() == 20).then_some(())?;
    Some((decode(org)?, version.parse().ok()?))
}

/// Partition of the subscriptions (change events): one item per stream id.
pub const SUBSCRIPTION_PK: &str = "SUBSCRIPTION";
/// Partition of the subscription counts: one item per owning organisation, so the
/// cap per participant holds under concurrent creates (a conditional count).
pub const SUBSCRIBER_PK: &str = "SUBSCRIBER";

/// Partition of the federation keys an admin pinned: one item per entity identifier
/// (OpenID Federation, self-managed subordinates).
pub const FEDERATION_PIN_PK: &str = "FEDERATION_PIN";
/// Partition of the signed federation statements kept for reuse: one item per
/// statement key (what it is about), replaced when its content or time runs out.
pub const FEDERATION_STATEMENT_PK: &str = "FEDERATION_STATEMENT";

/// Partition of the changes feed: one item per revision ([`feed_sk`]) and the head
/// ([`FEED_HEAD_SK`]), which sorts after every revision.
pub const FEED_PK: &str = "FEED";
/// Sort key of the feed's head: the last revision, moved on only by the sequencer's
/// transaction that adds the revisions after it.
pub const FEED_HEAD_SK: &str = "HEAD";

/// A revision's sort key: 20 digits, so revisions sort as numbers and before the head.
pub fn feed_sk(revision: u64) -> String {
    format!("{revision:020}")
}

/// The revision of a feed sort key; `None` for the head or anything else.
pub fn parse_feed_sk(sk: &str) -> Option<u64> {
    (sk.len() == 20 && sk.bytes().all(|b| b.is_ascii_digit()))
        .then(|| sk.parse().ok())
        .flatten()
}

/// Partition of every organisation's current public record (what the file holds for
/// it), the sort key its raw `OrganisationId`: read in sort-key order, it is the file.
pub const PUBLIC_PK: &str = "PUBLIC";

/// Partition of public records a newer revision replaced, kept for an hour so an
/// export under way can still read the record of the revision it states.
pub const SUPERSEDED_PK: &str = "SUPERSEDED";

/// `{OrganisationId}#{revision}`: a superseded record (20 digits, so one
/// organisation's sort by revision).
pub fn superseded_sk(org_id: &str, revision: u64) -> String {
    format!("{}#{revision:020}", encode(org_id))
}

/// The first sort key of an organisation's superseded records.
pub fn superseded_prefix(org_id: &str) -> String {
    format!("{}#", encode(org_id))
}

/// Partition of export requests: an item here starts an asynchronous export run
/// (AWS: through the table's stream). Apart from the lease's partition, so a function
/// that may ask for an export cannot touch the lease (IAM conditions see only the PK).
pub const EXPORT_REQUEST_PK: &str = "EXPORT_REQUEST";
/// The one export request item's sort key.
pub const EXPORT_REQUEST_SK: &str = "REQUEST";

/// `PRIVATE#CONTACT#{ContactId}`
pub fn contact_sk(id: &str) -> String {
    format!("{PRIVATE_PREFIX}CONTACT#{}", encode(id))
}

/// `AS#{AuthorisationServerId}`
pub fn server_sk(id: &str) -> String {
    format!("{SERVER_PREFIX}{}", encode(id))
}

/// `AS#{AuthorisationServerId}#RES#{ApiResourceId}`
pub fn resource_sk(server_id: &str, resource_id: &str) -> String {
    format!("{SERVER_PREFIX}{}#RES#{}", encode(server_id), encode(resource_id))
}

/// `CLAIM#{OrganisationAuthorityClaimId}`
pub fn claim_sk(id: &str) -> String {
    format!("{CLAIM_PREFIX}{}", encode(id))
}

/// Prefix shared by all claim sort keys.
pub const CLAIM_PREFIX: &str = "CLAIM#";
/// Prefix shared by authorisation server and API resource sort keys.
pub const SERVER_PREFIX: &str = "AS#";
/// Prefix shared by all domain claim sort keys.
pub const DOMAIN_CLAIM_PREFIX: &str = "DOMAINCLAIM#";

/// `DOMAINCLAIM#{OrganisationAuthorityDomainClaimId}`
pub fn domain_claim_sk(id: &str) -> String {
    format!("{DOMAIN_CLAIM_PREFIX}{}", encode(id))
}

/// `PRIVATE#SS#{SoftwareStatementId}`
pub fn software_statement_sk(id: &str) -> String {
    format!("{PRIVATE_PREFIX}SS#{}", encode(id))
}

/// `PRIVATE#CERT#{index}`: certificates have no id of their own; the zero-padded
/// position keeps their order.
pub fn certificate_sk(index: usize) -> String {
    format!("{PRIVATE_PREFIX}CERT#{index:06}")
}

/// `AUTHORITY#{AuthorityId}`
pub fn authority_sk(id: &str) -> String {
    format!("AUTHORITY#{}", encode(id))
}

/// `DOMAIN#{AuthorisationDomainID}`
pub fn domain_sk(id: &str) -> String {
    format!("DOMAIN#{}", encode(id))
}

/// `ROLE#{AuthorisationDomainRoleIdentifier}`
pub fn role_sk(id: &str) -> String {
    format!("ROLE#{}", encode(id))
}

/// What an item of an organisation partition is, parsed from its sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgItem {
    Details,
    Version,
    Contact(String),
    Server(String),
    Resource(String, String),
    Claim(String),
    DomainClaim(String),
    SoftwareStatement(String),
    Certificate(usize),
}

impl OrgItem {
    /// Parses an organisation-partition sort key; `None` for anything unknown.
    /// Private kinds are read under [`PRIVATE_PREFIX`] and, from tables written before
    /// it (a re-import moves them), without it.
    pub fn parse(sk: &str) -> Option<Self> {
        if sk == ORG_SK {
            return Some(Self::Details);
        }
        if sk == VERSION_SK {
            return Some(Self::Version);
        }
        if let Some(private) = sk.strip_prefix(PRIVATE_PREFIX) {
            let (kind, rest) = private.split_once('#')?;
            return Self::private(kind, rest);
        }
        let (kind, rest) = sk.split_once('#')?;
        if let Some(private) = Self::private(kind, rest) {
            return Some(private);
        }
        Some(match kind {
            "CLAIM" => Self::Claim(decode(rest)?),
            "DOMAINCLAIM" => Self::DomainClaim(decode(rest)?),
            "AS" => match rest.split_once("#RES#") {
                Some((server, resource)) => Self::Resource(decode(server)?, decode(resource)?),
                None if !rest.contains('#') => Self::Server(decode(rest)?),
                None => return None,
            },
            _ => return None,
        })
    }

    fn private(kind: &str, rest: &str) -> Option<Self> {
        match kind {
            "CONTACT" => Some(Self::Contact(decode(rest)?)),
            "SS" => Some(Self::SoftwareStatement(decode(rest)?)),
            "CERT" => Some(Self::Certificate(rest.parse().ok()?)),
            _ => None,
        }
    }

    /// The sort key of this item.
    pub fn sk(&self) -> String {
        match self {
            Self::Details => ORG_SK.to_owned(),
            Self::Version => VERSION_SK.to_owned(),
            Self::Contact(id) => contact_sk(id),
            Self::Server(id) => server_sk(id),
            Self::Resource(s, r) => resource_sk(s, r),
            Self::Claim(id) => claim_sk(id),
            Self::DomainClaim(id) => domain_claim_sk(id),
            Self::SoftwareStatement(id) => software_statement_sk(id),
            Self::Certificate(i) => certificate_sk(*i),
        }
    }

    /// Whether the item is part of the public (export) data.
    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Self::Details | Self::Server(_) | Self::Resource(..) | Self::Claim(_) | Self::DomainClaim(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_design_grammar() {
        assert_eq!(org_pk("org-1"), "ORG#org-1");
        assert_eq!(resource_sk("as-1", "r-1"), "AS#as-1#RES#r-1");
        assert_eq!(claim_sk("c"), "CLAIM#c");
        assert_eq!(domain_claim_sk("d"), "DOMAINCLAIM#d");
        assert_eq!(certificate_sk(7), "PRIVATE#CERT#000007");
        assert_eq!(contact_sk("c"), "PRIVATE#CONTACT#c");
        assert_eq!(role_sk("r"), "ROLE#r");
        assert_eq!(audit_pk("o#1"), "AUDIT#o%231");
        assert_eq!(audit_partition(None), "AUDIT");
    }

    #[test]
    fn the_version_item_is_read_first_in_the_claims_range() {
        let end = range_end(CLAIM_PREFIX);
        let mut keys = [claim_sk("zz"), claim_sk(""), claim_sk("!"), VERSION_SK.to_owned()];
        keys.sort();
        assert_eq!(keys[0], VERSION_SK);
        assert!(
            keys.iter()
                .all(|k| k.as_str() >= VERSION_SK && k.as_str() <= end.as_str())
        );
        // Nothing else of the partition falls in that range, and the twins are at its ends.
        for other in [
            contact_sk("a"),
            domain_claim_sk("a"),
            server_sk("a"),
            ORG_SK.into(),
            VERSION_TAIL_SK.into(),
        ] {
            assert!(other.as_str() > end.as_str() || other.as_str() < VERSION_SK, "{other}");
        }
        assert!(VERSION_HEAD_SK < server_sk("").as_str() && VERSION_TAIL_SK > software_statement_sk("").as_str());
    }

    #[test]
    fn the_public_range_holds_every_public_item_and_no_private_one() {
        let public = |sk: &str| sk > VERSION_HEAD_SK && sk < PRIVATE_SK;
        for item in [
            OrgItem::Details,
            OrgItem::Server("a".into()),
            OrgItem::Resource("a".into(), "~".into()),
            OrgItem::Claim("\u{10FFFF}".into()),
            OrgItem::DomainClaim("~".into()),
            OrgItem::Contact("".into()),
            OrgItem::SoftwareStatement("~".into()),
            OrgItem::Certificate(0),
        ] {
            assert_eq!(public(&item.sk()), item.is_public(), "{item:?}");
            assert!(item.sk().as_str() < VERSION_TAIL_SK, "{item:?} before the tail");
        }
        assert!(public(VERSION_SK) && !public(PRIVATE_SK) && PRIVATE_SK < contact_sk("").as_str());
        // Keys of the layout before the private prefix still read as their kinds.
        assert_eq!(OrgItem::parse("CONTACT#c"), Some(OrgItem::Contact("c".into())));
        assert_eq!(OrgItem::parse("SS#s"), Some(OrgItem::SoftwareStatement("s".into())));
        assert_eq!(OrgItem::parse("CERT#000003"), Some(OrgItem::Certificate(3)));
    }

    #[test]
    fn separators_inside_ids_cannot_forge_keys() {
        let forged = server_sk("a#RES#b");
        assert_eq!(forged, "AS#a%23RES%23b");
        assert_eq!(OrgItem::parse(&forged), Some(OrgItem::Server("a#RES#b".into())));
        assert_ne!(forged, resource_sk("a", "b"));
    }

    #[test]
    fn every_item_round_trips_through_its_key() {
        for item in [
            OrgItem::Details,
            OrgItem::Version,
            OrgItem::Contact("c%1".into()),
            OrgItem::Server("s#1".into()),
            OrgItem::Resource("s#RES#x".into(), "r%23".into()),
            OrgItem::Claim("ç".into()),
            OrgItem::DomainClaim("d".into()),
            OrgItem::SoftwareStatement("ss".into()),
            OrgItem::Certificate(12),
        ] {
            assert_eq!(OrgItem::parse(&item.sk()), Some(item));
        }
        assert_eq!(OrgItem::parse("BOGUS#x"), None);
        assert_eq!(decode("%2"), None);
    }

    #[test]
    fn feed_keys_sort_as_numbers_and_before_the_head() {
        let mut keys = [
            feed_sk(10),
            feed_sk(9),
            FEED_HEAD_SK.to_owned(),
            feed_sk(u64::MAX),
            feed_sk(0),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                feed_sk(0),
                feed_sk(9),
                feed_sk(10),
                feed_sk(u64::MAX),
                FEED_HEAD_SK.to_owned()
            ]
        );
        assert_eq!(parse_feed_sk(&feed_sk(42)), Some(42));
        assert_eq!(parse_feed_sk(FEED_HEAD_SK), None);
        assert_eq!(parse_outbox_sk(&outbox_sk("o#1", 7)), Some(("o#1".to_owned(), 7)));
        assert!(outbox_sk("o", 9) < outbox_sk("o", 10));
        assert_eq!(parse_outbox_sk("o#12"), None);
        assert!(superseded_sk("a#b", 3).starts_with(&superseded_prefix("a#b")));
        assert!(!superseded_sk("a#b", 3).starts_with(&superseded_prefix("a")));
    }

    #[test]
    fn only_public_kinds_are_public() {
        assert!(OrgItem::Claim("x".into()).is_public());
        assert!(!OrgItem::Contact("x".into()).is_public());
        assert!(!OrgItem::SoftwareStatement("x".into()).is_public());
        assert!(!OrgItem::Certificate(0).is_public());
        assert!(!OrgItem::Version.is_public());
    }
}
