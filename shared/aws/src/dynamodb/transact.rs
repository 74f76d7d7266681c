//! The writes of one transaction, built as values: puts, deletes, the audit record,
//! and the version protocol's updates (typed, not spliced strings), and how a write
//! too large for one transaction is cut into batches. Pure, unit-tested.

use super::schema::{Item, VERSION, key, n, s};
use crate::staged::{IMPORTING, TOKEN};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use directory_domain::keys;
use directory_domain::limits::MAX_TRANSACTION_ITEMS;

/// What a version bump does to the import mark on the version item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportMark {
    /// Left as it is (a claim write).
    Keep,
    /// Set: a staged import starts under this mark.
    Set(String),
    /// Removed: an import (staged, or one that stopped half-way) ends.
    Clear,
}

/// What a version bump is conditioned on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No condition.
    Any,
    /// The version item does not exist yet.
    Absent,
    /// The version is this number.
    Version(u64),
}

impl Expect {
    /// The version after `bumps` bumps from the one expected (none: from 0).
    pub fn next(self, bumps: u64) -> u64 {
        match self {
            Self::Absent | Self::Any => bumps,
            Self::Version(v) => v + bumps,
        }
    }
}

/// One write's bump of the organisation's version item: `V` moves on by one, the
/// write's token is set (on its twins too, see [`version_twins`]), the import mark as
/// asked, under the condition asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionBump {
    pub token: String,
    pub mark: ImportMark,
    pub expect: Expect,
}

impl VersionBump {
    /// The update expression, its condition, and the values they name.
    pub fn expressions(
        &self,
    ) -> (
        String,
        Option<String>,
        Vec<(&'static str, aws_sdk_dynamodb::types::AttributeValue)>,
    ) {
        let mut values = vec![(":t", s(&self.token)), (":one", n(1))];
        let update = match &self.mark {
            ImportMark::Keep => format!("SET {TOKEN} = :t ADD {VERSION} :one"),
            ImportMark::Set(mark) => {
                values.push((":m", s(mark)));
                format!("SET {TOKEN} = :t, {IMPORTING} = :m ADD {VERSION} :one")
            }
            ImportMark::Clear => format!("SET {TOKEN} = :t REMOVE {IMPORTING} ADD {VERSION} :one"),
        };
        let condition = match self.expect {
            Expect::Any => None,
            Expect::Absent => Some(format!("attribute_not_exists({VERSION})")),
            Expect::Version(v) => {
                values.push((":v", n(v)));
                Some(format!("{VERSION} = :v"))
            }
        };
        (update, condition, values)
    }
}

/// The writes of one table's transactions.
#[derive(Debug, Clone)]
pub struct Writes<'t> {
    pub table: &'t str,
}

fn build<E: std::fmt::Display>(built: Result<TransactWriteItem, E>) -> Result<TransactWriteItem, String> {
    built.map_err(|e| e.to_string())
}

impl Writes<'_> {
    /// A plain put.
    pub fn put(&self, item: Item) -> Result<TransactWriteItem, String> {
        build(
            Put::builder()
                .table_name(self.table)
                .set_item(Some(item))
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build()),
        )
    }

    /// A put of an item that must exist already (a claim).
    pub fn put_existing(&self, item: Item) -> Result<TransactWriteItem, String> {
        build(
            Put::builder()
                .table_name(self.table)
                .set_item(Some(item))
                .condition_expression("attribute_exists(PK)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build()),
        )
    }

    /// A put of an item that must not exist (an audit record never overwrites another).
    pub fn put_new(&self, item: Item) -> Result<TransactWriteItem, String> {
        build(
            Put::builder()
                .table_name(self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map(|p| TransactWriteItem::builder().put(p).build()),
        )
    }

    /// A put under `condition`, with the value it names.
    pub fn put_conditioned(
        &self,
        item: Item,
        condition: &str,
        value: Option<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
    ) -> Result<TransactWriteItem, String> {
        let mut put = Put::builder()
            .table_name(self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if let Some((name, v)) = value {
            put = put.expression_attribute_values(name, v);
        }
        build(put.build().map(|p| TransactWriteItem::builder().put(p).build()))
    }

    /// The outbox item of a write that leaves the organisation's guard at `version`.
    pub fn outbox(&self, org_id: &str, version: u64) -> Result<TransactWriteItem, String> {
        self.put(key(keys::OUTBOX_PK, &keys::outbox_sk(org_id, version)))
    }

    /// A delete.
    pub fn delete(&self, pk: &str, sk: &str) -> Result<TransactWriteItem, String> {
        build(
            Delete::builder()
                .table_name(self.table)
                .set_key(Some(key(pk, sk)))
                .build()
                .map(|d| TransactWriteItem::builder().delete(d).build()),
        )
    }

    /// The version items' updates of one write: the version item bumped and its
    /// twins at the partition's head and tail, and `PRIVATE` between its public and
    /// private items, given the same token (readers compare them).
    pub fn version_twins(&self, pk: &str, bump: &VersionBump) -> Result<[TransactWriteItem; 4], String> {
        let (update, condition, values) = bump.expressions();
        let mut u = Update::builder()
            .table_name(self.table)
            .set_key(Some(key(pk, keys::VERSION_SK)))
            .update_expression(update)
            .set_condition_expression(condition);
        for (name, value) in values {
            u = u.expression_attribute_values(name, value);
        }
        let version = build(u.build().map(|u| TransactWriteItem::builder().update(u).build()))?;
        let twin = |sk: &str| {
            build(
                Update::builder()
                    .table_name(self.table)
                    .set_key(Some(key(pk, sk)))
                    .update_expression(format!("SET {TOKEN} = :t"))
                    .expression_attribute_values(":t", s(&bump.token))
                    .build()
                    .map(|u| TransactWriteItem::builder().update(u).build()),
            )
        };
        Ok([
            version,
            twin(keys::VERSION_HEAD_SK)?,
            twin(keys::PRIVATE_SK)?,
            twin(keys::VERSION_TAIL_SK)?,
        ])
    }
}

/// The transactions of a staged write: `first` (the import mark) with as many of
/// `writes` as fit after it, the rest in full transactions, then `last` (the switch)
/// on its own, after every item is staged.
pub fn staged_batches<T: Clone>(first: Vec<T>, mut writes: Vec<T>, last: Vec<T>) -> Vec<Vec<T>> {
    let mut head = first;
    let room = MAX_TRANSACTION_ITEMS.saturating_sub(head.len());
    let rest = writes.split_off(room.min(writes.len()));
    head.extend(writes);
    let mut batches = vec![head];
    batches.extend(rest.chunks(MAX_TRANSACTION_ITEMS).map(<[T]>::to_vec));
    batches.push(last);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_bumps_are_typed_expressions() {
        let bump = |mark, expect| VersionBump {
            token: "t".into(),
            mark,
            expect,
        };
        let (u, c, v) = bump(ImportMark::Keep, Expect::Version(7)).expressions();
        assert_eq!(u, "SET WriteToken = :t ADD V :one");
        assert_eq!(c.as_deref(), Some("V = :v"));
        assert_eq!(v.iter().map(|(k, _)| *k).collect::<Vec<_>>(), [":t", ":one", ":v"]);
        let (u, c, v) = bump(ImportMark::Set("m".into()), Expect::Absent).expressions();
        assert_eq!(u, "SET WriteToken = :t, ImportingMark = :m ADD V :one");
        assert_eq!(c.as_deref(), Some("attribute_not_exists(V)"));
        assert!(v.iter().any(|(k, val)| *k == ":m" && val.as_s().unwrap() == "m"));
        let (u, c, _) = bump(ImportMark::Clear, Expect::Any).expressions();
        assert_eq!(u, "SET WriteToken = :t REMOVE ImportingMark ADD V :one");
        assert_eq!(c, None);
    }

    #[test]
    fn every_twin_gets_the_token() {
        let w = Writes { table: "t" };
        let bump = VersionBump {
            token: "tok".into(),
            mark: ImportMark::Keep,
            expect: Expect::Any,
        };
        let twins = w.version_twins("ORG#o", &bump).unwrap();
        let sks: Vec<String> = twins
            .iter()
            .map(|t| t.update().unwrap().key()["SK"].as_s().unwrap().clone())
            .collect();
        assert_eq!(sks, ["CLAIM", "#VERSION", "PRIVATE", "VERSION"]);
        for t in &twins[1..] {
            let u = t.update().unwrap();
            assert_eq!(u.expression_attribute_values().unwrap()[":t"].as_s().unwrap(), "tok");
            assert!(u.condition_expression().is_none());
        }
    }

    #[test]
    fn staged_writes_fill_transactions_and_switch_last() {
        let first = vec![0; 4];
        let writes: Vec<i32> = (1..=250).collect();
        let last = vec![-1; 5];
        let batches = staged_batches(first, writes, last);
        let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [100, 100, 54, 5]);
        assert!(batches.iter().all(|b| b.len() <= MAX_TRANSACTION_ITEMS));
        assert_eq!(
            batches.last().unwrap(),
            &vec![-1; 5],
            "the switch is its own transaction"
        );
        let flat: Vec<i32> = batches[..3].concat().into_iter().filter(|&x| x > 0).collect();
        assert_eq!(flat, (1..=250).collect::<Vec<_>>(), "every write once, in order");
        assert_eq!(
            staged_batches(vec![0; 4], Vec::<i32>::new(), vec![9]),
            [vec![0; 4], vec![9]]
        );
    }
}
