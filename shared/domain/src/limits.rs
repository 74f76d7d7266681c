//! DynamoDB's size limits, checked when a record is validated so that a file that
//! passes validation can never fail half-way through its writes (the embedded store
//! holds the same limits, so both stores accept exactly the same data).

use crate::items::located_items;
use crate::keys;
use crate::model::OrganisationSnapshot;

/// A partition key's limit in bytes.
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
/// A sort key's limit in bytes.
pub const MAX_SORT_KEY_BYTES: usize = 1024;
/// An item's limit in bytes (attribute names and values).
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
/// A transaction's limit in bytes.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// A transaction's limit in items.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// A public record (the change feed's, the current one) larger than this once
/// compressed is stored in several items of this size (DynamoDB's item limit is
/// 400 KB); the sequencer counts them against [`MAX_TRANSACTION_ITEMS`].
pub const RECORD_CHUNK_BYTES: usize = 350 * 1024;

/// Items a record of `bytes` (uncompressed: never fewer than compressed) needs at most.
pub fn record_chunks(bytes: usize) -> usize {
    bytes.div_ceil(RECORD_CHUNK_BYTES).max(1)
}

/// What a single-transaction import writes beside the organisation's items: the
/// audit record, the four version items (the version and its three twins) and the
/// organisation's outbox item (the change feed).
pub const TRANSACTION_EXTRA_ITEMS: usize = 6;
/// What the store adds to an item besides its keys and JSON body (attribute names,
/// the GSI keys of the details item), with room to spare.
const ITEM_OVERHEAD_BYTES: usize = 128;
/// Room kept in an organisation's writes for the audit record and version item that
/// commit with them.
const TRANSACTION_RESERVE_BYTES: usize = 64 * 1024;

fn kib(bytes: usize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Every key or size limit the organisation's items would break, naming the field.
pub fn violations(s: &OrganisationSnapshot) -> Vec<String> {
    let mut out = Vec::new();
    let pk = keys::org_pk(s.id());
    if pk.len() > MAX_PARTITION_KEY_BYTES {
        out.push(format!(
            "OrganisationDetails.OrganisationId: makes a partition key of {} bytes, over DynamoDB's {MAX_PARTITION_KEY_BYTES}",
            pk.len()
        ));
    }
    let items = located_items(s);
    // An organisation too large for one transaction is imported in the staged form:
    // each item carries its previous body too (DynamoDB adapter, `staged`).
    let staged = items.len() + TRANSACTION_EXTRA_ITEMS > MAX_TRANSACTION_ITEMS;
    let copies = if staged { 2 } else { 1 };
    let mut sizes = Vec::with_capacity(items.len());
    for item in items {
        let sk = item.kind.sk();
        if sk.len() > MAX_SORT_KEY_BYTES {
            out.push(format!(
                "{}: makes a sort key of {} bytes, over DynamoDB's {MAX_SORT_KEY_BYTES}",
                item.key_path(),
                sk.len()
            ));
        }
        let size = pk.len() + sk.len() + copies * item.body.len() + ITEM_OVERHEAD_BYTES;
        if size > MAX_ITEM_BYTES {
            let why = if staged {
                " (an organisation this large is imported with each item's previous version beside it)"
            } else {
                ""
            };
            out.push(format!(
                "{}: is stored as an item of {}, over DynamoDB's {} item limit{why}",
                item.path,
                kib(size),
                kib(MAX_ITEM_BYTES)
            ));
        }
        sizes.push(size);
    }
    // One transaction carries the whole organisation, or (staged) up to 100 items.
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    let total: usize = sizes
        .iter()
        .take(if staged { MAX_TRANSACTION_ITEMS } else { usize::MAX })
        .sum();
    if total + TRANSACTION_RESERVE_BYTES > MAX_TRANSACTION_BYTES {
        out.push(format!(
            "OrganisationDetails.OrganisationId: the organisation is stored as {} of items, over the {} one transaction can carry",
            kib(total),
            kib(MAX_TRANSACTION_BYTES - TRANSACTION_RESERVE_BYTES)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Contact, OrganisationDetails};

    fn org() -> OrganisationSnapshot {
        OrganisationSnapshot {
            organisation_details: OrganisationDetails {
                organisation_id: "org-1".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    #[test]
    fn a_small_organisation_is_within_every_limit() {
        assert_eq!(violations(&org()), Vec::<String>::new());
    }

    #[test]
    fn an_over_long_key_names_its_field() {
        let mut s = org();
        s.contacts.push(Contact {
            contact_id: "#".repeat(400),
            ..Default::default()
        });
        assert_eq!(
            violations(&s),
            ["Contacts[0].ContactId: makes a sort key of 1216 bytes, over DynamoDB's 1024"]
        );
    }

    #[test]
    fn an_oversized_item_and_organisation_are_named() {
        let mut s = org();
        s.organisation_details.parent_organisation_reference = Some("x".repeat(MAX_ITEM_BYTES));
        let found = violations(&s);
        assert!(
            found[0].starts_with("OrganisationDetails: is stored as an item of 400."),
            "{found:?}"
        );
        for i in 0..11 {
            s.contacts.push(Contact {
                contact_id: format!("c{i}"),
                pgp_public_key: Some("k".repeat(390 * 1024)),
                ..Default::default()
            });
        }
        let found = violations(&s);
        assert!(
            found.last().unwrap().contains("the organisation is stored as"),
            "{found:?}"
        );
    }
}
