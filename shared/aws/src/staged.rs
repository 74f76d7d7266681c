//! Organisations too large for one DynamoDB transaction are imported in several,
//! without any reader seeing a mix of old and new items.
//!
//! Each transaction of such an import (named by its audit record id, the *mark*)
//! writes items in the staged form: `Data` the new body (absent: the item is
//! removed), `PrevData` the body before the import (absent: the item is new),
//! `ImportMark` the mark. The first transaction sets `ImportingMark` on the version
//! item and the last (its own transaction, after every item is staged) removes it.
//! Readers take from a staged item of the import under way its `PrevData`, from
//! every other item its `Data`: before the last transaction they see
//! the old organisation, after it the new one, and after a crash part-way still the
//! old one until the import is run again (it resumes under the same mark).
//!
//! Every write also sets one fresh `WriteToken` on the version item and on its twins
//! at the start and the end of the partition and between its public and private items
//! (`#VERSION`, `VERSION`, `PRIVATE`): a Query that saw different tokens raced a
//! commit and is read again.

use aws_sdk_dynamodb::types::AttributeValue;
use std::borrow::Cow;
use std::collections::HashMap;

/// An item as the SDK returns it.
pub type Item = HashMap<String, AttributeValue>;

/// The body before a staged import.
pub const PREV: &str = "PrevData";
/// The mark of the import that staged an item.
pub const IMPORT: &str = "ImportMark";
/// The mark of the import under way, on the version item.
pub const IMPORTING: &str = "ImportingMark";
/// The token of the last write, on the version item and its twins.
pub const TOKEN: &str = "WriteToken";

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// The body an item stands for while `importing` is under way (or none is): the
/// old body of an item staged by that import, the current one otherwise; `None`
/// when the item does not exist in that view.
/// Bodies are read through [`crate::body`].
pub fn visible<'a>(item: &'a Item, importing: Option<&str>, data: &str) -> Option<Cow<'a, str>> {
    let name = match (text(item, IMPORT), importing) {
        (Some(mark), Some(under_way)) if mark == under_way => PREV,
        _ => data,
    };
    item.get(name).and_then(crate::body::decode)
}

/// What the version items of a partition say.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Versions {
    /// The import under way, if any.
    pub importing: Option<String>,
    /// Whether the head, version and tail tokens agree (a Query saw no commit while
    /// it read).
    pub settled: bool,
    /// Whether the organisation's version item exists.
    pub exists: bool,
}

/// Reads the version items out of the items of one Query: `head_sk` (read first),
/// `version_sk`, and `twins` (the other token holders). The read raced no commit when
/// every token it saw is the head's; a twin outside the range read (the tail, for a
/// public-range read) or not yet written (a table of an older layout) is not compared.
pub fn versions(items: &[Item], sk: &str, head_sk: &str, version_sk: &str, twins: &[&str]) -> Versions {
    let find = |wanted: &str| items.iter().find(|i| text(i, sk) == Some(wanted));
    let version = find(version_sk);
    let head = find(head_sk).and_then(|i| text(i, TOKEN));
    let agrees = |wanted: &&str| find(wanted).is_none_or(|i| text(i, TOKEN) == head);
    Versions {
        importing: version.and_then(|t| text(t, IMPORTING)).map(str::to_owned),
        settled: std::iter::once(&version_sk).chain(twins).all(agrees),
        exists: version.is_some(),
    }
}

/// Whether any item is in the staged form (only then is more than one Query's
/// worth of care needed).
pub fn any_staged(items: &[Item]) -> bool {
    items.iter().any(|i| i.contains_key(IMPORT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, &str)]) -> Item {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
            .collect()
    }

    #[test]
    fn staged_items_read_old_while_their_import_is_under_way_and_new_after() {
        let plain = item(&[("Data", "a")]);
        let staged = item(&[("Data", "new"), (PREV, "old"), (IMPORT, "m1")]);
        let added = item(&[("Data", "new"), (IMPORT, "m1")]);
        let removed = item(&[(PREV, "old"), (IMPORT, "m1")]);
        for (under_way, expect) in [
            (Some("m1"), [Some("a"), Some("old"), None, Some("old")]),
            (None, [Some("a"), Some("new"), Some("new"), None]),
            (Some("m2"), [Some("a"), Some("new"), Some("new"), None]),
        ] {
            let got = [&plain, &staged, &added, &removed].map(|i| visible(i, under_way, "Data"));
            let got = got.each_ref().map(|b| b.as_deref());
            assert_eq!(got, expect, "{under_way:?}");
        }
    }
}
