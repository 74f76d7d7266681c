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
//! at the start and the end of the partition (`#VERSION`, `VERSION`): a Query that saw
//! different tokens raced a commit and is read again.

use aws_sdk_dynamodb::types::AttributeValue;
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
pub fn visible<'a>(item: &'a Item, importing: Option<&str>, data: &str) -> Option<&'a str> {
    match (text(item, IMPORT), importing) {
        (Some(mark), Some(under_way)) if mark == under_way => text(item, PREV),
        _ => text(item, data),
    }
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

/// Reads the version items out of a whole partition's items: `[head, version, tail]`
/// sort keys (head first, tail last, the version item in between).
pub fn versions(items: &[Item], sk: &str, [head_sk, version_sk, tail_sk]: [&str; 3]) -> Versions {
    let find = |wanted: &str| items.iter().find(|i| text(i, sk) == Some(wanted));
    let token = |wanted: &str| find(wanted).and_then(|i| text(i, TOKEN));
    let version = find(version_sk);
    let head = token(head_sk);
    Versions {
        importing: version.and_then(|t| text(t, IMPORTING)).map(str::to_owned),
        // A partition of the layout before the guard moved has no version item: its
        // head and tail still compare.
        settled: head == token(tail_sk) && version.is_none_or(|v| text(v, TOKEN) == head),
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
            assert_eq!(got, expect, "{under_way:?}");
        }
    }
}
