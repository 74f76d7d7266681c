//! The item shapes of the table: attribute names, keys, and the items each kind of
//! entity is stored as. Pure (no client), so unit tests check every shape without
//! DynamoDB Local.

use crate::body;
use aws_sdk_dynamodb::types::AttributeValue;
use directory_domain::audit::AuditRecord;
use directory_domain::keys::{self, OrgItem};
use std::collections::HashMap;

/// Partition key attribute.
pub const PK: &str = "PK";
/// Sort key attribute.
pub const SK: &str = "SK";
/// The entity's JSON.
pub const DATA: &str = "Data";
/// The organisation version number on the version item; a document's version.
pub const VERSION: &str = "V";
/// GSI1 keys on organisation details items.
pub const GSI1PK: &str = "GSI1PK";
/// See [`GSI1PK`].
pub const GSI1SK: &str = "GSI1SK";
/// The TTL attribute of audit items (epoch seconds): DynamoDB deletes them after it.
pub const EXPIRES_AT: &str = "ExpiresAt";
/// The mark of the import under way, on the version item.
pub const IMPORTING_ATTR: &str = crate::staged::IMPORTING;
/// The name of the organisations index.
pub const GSI1: &str = "GSI1";

/// An item as the SDK sends and returns it.
pub type Item = HashMap<String, AttributeValue>;

/// A string attribute.
pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute.
pub fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute of `item`.
pub fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A number attribute of `item`.
pub fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// The key of an item.
pub fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// An audit record's item: plain JSON (not compressed) and its TTL.
pub fn audit_item(record: &AuditRecord) -> Item {
    let mut item = key(&record.partition_key(), &record.sort_key());
    item.insert(DATA.to_owned(), s(record.to_json()));
    item.insert(EXPIRES_AT.to_owned(), AttributeValue::N(record.expires_at.to_string()));
    item
}

/// The item of `kind` with its index keys (the details item is listed by GSI1) and,
/// when given, its compressed body.
pub fn org_item(pk: &str, org_id: &str, kind: &OrgItem, body: Option<&str>) -> Item {
    let mut item = key(pk, &kind.sk());
    if *kind == OrgItem::Details {
        item.insert(GSI1PK.to_owned(), s(keys::ORGS_GSI1PK));
        item.insert(GSI1SK.to_owned(), s(org_id));
    }
    if let Some(body) = body {
        item.insert(DATA.to_owned(), body::encode(body));
    }
    item
}

/// A reference data item.
pub fn reference_item(sk: &str, body: &str) -> Item {
    let mut item = key(keys::REF_PK, sk);
    item.insert(DATA.to_owned(), body::encode(body));
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use directory_domain::audit::Actor;

    #[test]
    fn details_items_are_indexed_and_other_items_are_not() {
        let details = org_item("ORG#o", "o", &OrgItem::Details, Some("{}"));
        assert_eq!(get_s(&details, PK), Some("ORG#o"));
        assert_eq!(get_s(&details, SK), Some("ORG"));
        assert_eq!(get_s(&details, GSI1PK), Some("ORGS"));
        assert_eq!(get_s(&details, GSI1SK), Some("o"));
        assert_eq!(body::decode(&details[DATA]).as_deref(), Some("{}"));
        let claim = org_item("ORG#o", "o", &OrgItem::Claim("c".into()), None);
        assert_eq!(get_s(&claim, SK), Some("CLAIM#c"));
        assert!(!claim.contains_key(GSI1PK) && !claim.contains_key(DATA));
        let private = org_item("ORG#o", "o", &OrgItem::Contact("x".into()), Some("{}"));
        assert!(get_s(&private, SK).unwrap().starts_with(keys::PRIVATE_PREFIX));
    }

    #[test]
    fn audit_items_are_plain_json_in_their_own_partition_with_a_ttl() {
        let record = AuditRecord::new(
            &Actor::system("t", "test"),
            directory_domain::audit::target(&[("OrganisationId", "o")]),
            Vec::new(),
            1,
        );
        let item = audit_item(&record);
        assert_eq!(get_s(&item, PK), Some("AUDIT#o"));
        assert!(get_s(&item, SK).unwrap().starts_with(&record.at));
        assert_eq!(get_s(&item, DATA), Some(record.to_json().as_str()));
        assert_eq!(get_n(&item, EXPIRES_AT), Some(record.expires_at as u64));
    }

    #[test]
    fn reference_items_live_under_ref() {
        let item = reference_item("ROLE#r", "{\"Role\":\"DADOS\"}");
        assert_eq!(get_s(&item, PK), Some("REF"));
        assert_eq!(body::decode(&item[DATA]).as_deref(), Some("{\"Role\":\"DADOS\"}"));
    }
}
