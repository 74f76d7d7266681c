//! The DynamoDB single-table adapter of the store port.
//!
//! Items: `PK`, `SK` (keys module), `Data` (the entity's JSON, compressed: see
//! [`crate::body`]; audit records keep it plain), and on organisation
//! details items `GSI1PK = "ORGS"`, `GSI1SK = OrganisationId` (a sparse index listing
//! organisations in id order). The version item of each organisation (sort key
//! `CLAIM`, just before its claims; `V`, a number) guards claim writes: every claim
//! update is a transaction conditioned on it. Every write also sets one `WriteToken`
//! on it and on its twins `#VERSION` and `VERSION` at the ends of the partition and
//! `PRIVATE` before the private items (`PRIVATE#…`, which the export never reads), and
//! organisations too large for one transaction are imported in the staged form (see
//! [`crate::staged`]). The export lease is `EXPORT`/`LEASE`.

use crate::body;
use crate::staged::{self, IMPORT, IMPORTING, PREV, TOKEN};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, Delete, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, Put, PutRequest, ScalarAttributeType, TableStatus, TransactWriteItem, Update,
    WriteRequest,
};
use directory_core::audit::{self, Actor, AuditRecord};
use directory_core::ids::{ClaimId, OrganisationId, ResourceId, ServerId};
use directory_core::keys::{self, OrgItem};
use directory_core::model::{ApiResource, AuthorityClaim, OrganisationSnapshot, ReferenceData};
use directory_core::store::items::{assemble, assemble_reference, organisation_items, parse, reference_items};
use directory_core::store::limits::{MAX_TRANSACTION_ITEMS, TRANSACTION_EXTRA_ITEMS};
use directory_core::store::{
    ClaimDecision, ClaimWrite, Document, MAX_WRITE_ATTEMPTS, Store, StoreError, Versioned, lease,
};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Partition key attribute.
const PK: &str = "PK";
/// Sort key attribute.
const SK: &str = "SK";
/// The entity's JSON.
const DATA: &str = "Data";
/// The organisation version number on `VERSION` items.
const VERSION: &str = "V";
/// GSI1 keys on organisation details items.
const GSI1PK: &str = "GSI1PK";
const GSI1SK: &str = "GSI1SK";

/// The TTL attribute of audit items (epoch seconds): DynamoDB deletes them after it.
pub const EXPIRES_AT: &str = "ExpiresAt";
/// The name of the organisations index.
pub const GSI1: &str = "GSI1";
/// DynamoDB's limit of items in one BatchWriteItem call.
const MAX_BATCH_ITEMS: usize = 25;

type Item = HashMap<String, AttributeValue>;

/// Which sort keys of a partition a query reads.
#[derive(Clone, Copy)]
enum SkRange<'a> {
    All,
    Between(&'a str, &'a str),
    From(&'a str),
}

fn backend<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Backend(DisplayErrorContext(e).to_string())
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

fn key(pk: &str, sk: &str) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// A [`Store`] on one DynamoDB table.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention_days: u32,
}

impl DynamoStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days: audit::DEFAULT_RETENTION_DAYS,
        }
    }

    /// Keeps audit records for `days` (their `ExpiresAt` TTL).
    pub fn with_audit_retention(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    fn audit_item(record: &AuditRecord) -> Item {
        let pk = record.partition_key();
        let mut item = key(&pk, &record.sort_key());
        item.insert(DATA.to_owned(), s(record.to_json()));
        item.insert(EXPIRES_AT.to_owned(), AttributeValue::N(record.expires_at.to_string()));
        item
    }

    /// The audit record's put, for a transaction; it never overwrites another record.
    fn audit_put(&self, record: &AuditRecord) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(Self::audit_item(record)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// One cheap call that opens the connection (TLS included) at init, so the first
    /// request does not pay for it; also fails fast on a missing table.
    pub async fn warm_up(&self) -> Result<(), StoreError> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Creates the table with its index if it does not exist, and waits until active.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(backend)
        };
        let key_el = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(backend)
        };
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(key_el(GSI1PK, KeyType::Hash)?)
            .key_schema(key_el(GSI1SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::KeysOnly).build())
            .build()
            .map_err(backend)?;
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr(PK)?)
            .attribute_definitions(attr(SK)?)
            .attribute_definitions(attr(GSI1PK)?)
            .attribute_definitions(attr(GSI1SK)?)
            .key_schema(key_el(PK, KeyType::Hash)?)
            .key_schema(key_el(SK, KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(SdkError::ServiceError(e)) if e.err().is_resource_in_use_exception() => {}
            Err(e) => return Err(backend(e)),
        }
        for _ in 0..600 {
            let d = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(backend)?;
            if d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                return self.enable_audit_ttl().await;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(StoreError::Backend(format!(
            "table {} did not become active",
            self.table
        )))
    }

    /// Lets DynamoDB drop audit records after their `ExpiresAt` (the template does
    /// the same for the deployed table). Already enabled is fine.
    async fn enable_audit_ttl(&self) -> Result<(), StoreError> {
        let spec = aws_sdk_dynamodb::types::TimeToLiveSpecification::builder()
            .attribute_name(EXPIRES_AT)
            .enabled(true)
            .build()
            .map_err(backend)?;
        match self
            .client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(spec)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if DisplayErrorContext(&e).to_string().contains("already enabled") => Ok(()),
            Err(e) => Err(backend(e)),
        }
    }

    /// Every item of a partition whose sort key lies in `[from, to]`, following
    /// pagination; strongly consistent so a write shows at once.
    async fn query(&self, pk: &str, range: Option<(&str, &str)>) -> Result<Vec<Item>, StoreError> {
        self.query_keys(pk, range.map_or(SkRange::All, |(a, b)| SkRange::Between(a, b)), false)
            .await
    }

    /// [`Self::query`] over any sort-key range, in either order.
    async fn query_keys(&self, pk: &str, range: SkRange<'_>, newest_first: bool) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(!newest_first)
                .expression_attribute_values(":pk", s(pk))
                .set_exclusive_start_key(start.take());
            q = match range {
                SkRange::Between(from, to) => q
                    .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                    .expression_attribute_values(":from", s(from))
                    .expression_attribute_values(":to", s(to)),
                SkRange::From(from) => q
                    .key_condition_expression("PK = :pk AND SK >= :from")
                    .expression_attribute_values(":from", s(from)),
                SkRange::All => q.key_condition_expression("PK = :pk"),
            };
            let page = q.send().await.map_err(backend)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    /// The version items' updates of one write: the version item (`update`, with
    /// `token`) and its twins (the same token): the partition's head and tail, and
    /// `PRIVATE` between its public and private items.
    fn versions_update(&self, pk: &str, update: Update, token: &str) -> Result<[TransactWriteItem; 4], StoreError> {
        let twin = |sk: &str| {
            Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk, sk)))
                .update_expression(format!("SET {TOKEN} = :t"))
                .expression_attribute_values(":t", s(token))
                .build()
                .map(|u| TransactWriteItem::builder().update(u).build())
                .map_err(backend)
        };
        Ok([
            TransactWriteItem::builder().update(update).build(),
            twin(keys::VERSION_HEAD_SK)?,
            twin(keys::PRIVATE_SK)?,
            twin(keys::VERSION_TAIL_SK)?,
        ])
    }

    /// Bumps the version (conditioned on it being `expected`, if given) with `extra`
    /// set/remove clauses and their `values`, and sets `token` on both version items.
    fn bump(
        &self,
        pk: &str,
        extra: &str,
        values: &[(&str, AttributeValue)],
        expected: Option<u64>,
        token: &str,
    ) -> Result<[TransactWriteItem; 4], StoreError> {
        let mut u = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, keys::VERSION_SK)))
            .update_expression(format!("SET {TOKEN} = :t{extra} ADD V :one"))
            .expression_attribute_values(":t", s(token))
            .expression_attribute_values(":one", n(1));
        for (name, value) in values {
            u = u.expression_attribute_values(*name, value.clone());
        }
        if let Some(v) = expected {
            u = u.condition_expression("V = :v").expression_attribute_values(":v", n(v));
        }
        self.versions_update(pk, u.build().map_err(backend)?, token)
    }

    /// Marks the organisation as being imported under `mark` (first transaction of
    /// a staged import).
    fn mark_importing(&self, pk: &str, mark: &str) -> Result<[TransactWriteItem; 4], StoreError> {
        self.bump(
            pk,
            &format!(", {IMPORTING} = :m"),
            &[(":m", s(mark))],
            None,
            &format!("{mark}:start"),
        )
    }

    /// The version bump that ends an import, clearing the importing mark (of a staged
    /// import, or of an earlier run that stopped half-way).
    fn finish_import(&self, pk: &str, mark: &str) -> Result<[TransactWriteItem; 4], StoreError> {
        self.bump(pk, &format!(" REMOVE {IMPORTING}"), &[], None, &format!("{mark}:end"))
    }

    /// The version bump of a claim write, conditioned on the version it decided on.
    fn bump_version(&self, pk: &str, expected: u64, token: &str) -> Result<[TransactWriteItem; 4], StoreError> {
        self.bump(pk, "", &[], Some(expected), token)
    }

    /// The item of `kind` with its index keys (the details item is listed by GSI1).
    fn org_item(pk: &str, org_id: &str, kind: &OrgItem) -> Item {
        let mut item = key(pk, &kind.sk());
        if *kind == OrgItem::Details {
            item.insert(GSI1PK.to_owned(), s(keys::ORGS_GSI1PK));
            item.insert(GSI1SK.to_owned(), s(org_id));
        }
        item
    }

    fn put(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete(&self, pk: &str, sk: &str) -> Result<TransactWriteItem, StoreError> {
        let del = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .build()
            .map_err(backend)?;
        Ok(TransactWriteItem::builder().delete(del).build())
    }

    /// An organisation that fits one transaction: plain items, stale ones (and any
    /// left staged by a stopped import) deleted, the mark cleared, all at once.
    fn single_import(
        &self,
        pk: &str,
        org_id: &str,
        items: Vec<(OrgItem, String)>,
        stale: &[&(String, Item)],
        record: &AuditRecord,
    ) -> Result<Vec<Vec<TransactWriteItem>>, StoreError> {
        let mut writes = Vec::with_capacity(items.len() + stale.len() + TRANSACTION_EXTRA_ITEMS);
        for (kind, body) in items {
            let mut item = Self::org_item(pk, org_id, &kind);
            item.insert(DATA.to_owned(), body::encode(&body));
            writes.push(self.put(item)?);
        }
        for (sk, _) in stale {
            writes.push(self.delete(pk, sk)?);
        }
        writes.push(self.audit_put(record)?);
        writes.extend(self.finish_import(pk, &record.id)?);
        Ok(vec![writes])
    }

    /// An organisation too large for one transaction, in the staged form (see
    /// [`staged`]): the first transaction marks the import, the last one (with the
    /// audit record) clears the mark and with it switches every reader to the new
    /// items at once.
    #[allow(clippy::too_many_arguments)]
    fn staged_import(
        &self,
        pk: &str,
        org_id: &str,
        items: Vec<(OrgItem, String)>,
        stored: &[(String, Item)],
        stale: &[&(String, Item)],
        record: &AuditRecord,
        mark: &str,
    ) -> Result<Vec<Vec<TransactWriteItem>>, StoreError> {
        let previous: HashMap<&str, &Item> = stored.iter().map(|(sk, i)| (sk.as_str(), i)).collect();
        // Before this import: the view while it is under way.
        let before = |sk: &str| previous.get(sk).and_then(|i| staged::visible(i, Some(mark), DATA));
        let mut writes = Vec::new();
        for (kind, body) in items {
            let mut item = Self::org_item(pk, org_id, &kind);
            if let Some(prev) = before(&kind.sk()) {
                item.insert(PREV.to_owned(), body::encode(&prev));
            }
            item.insert(DATA.to_owned(), body::encode(&body));
            item.insert(IMPORT.to_owned(), s(mark));
            writes.push(self.put(item)?);
        }
        for (sk, _) in stale {
            match before(sk) {
                // Removed by this import: kept for readers until it ends.
                Some(prev) => {
                    let mut item = key(pk, sk);
                    item.insert(PREV.to_owned(), body::encode(&prev));
                    item.insert(IMPORT.to_owned(), s(mark));
                    writes.push(self.put(item)?);
                }
                // Never visible before this import (or long removed): gone now.
                None => writes.push(self.delete(pk, sk)?),
            }
        }
        let mut batches: Vec<Vec<TransactWriteItem>> = Vec::new();
        let mut first = self.mark_importing(pk, mark)?.to_vec();
        let room = MAX_TRANSACTION_ITEMS - first.len();
        let rest = writes.split_off(room.min(writes.len()));
        first.extend(writes);
        batches.push(first);
        batches.extend(rest.chunks(MAX_TRANSACTION_ITEMS).map(<[_]>::to_vec));
        let mut last = vec![self.audit_put(record)?];
        last.extend(self.finish_import(pk, mark)?);
        // The switch is its own transaction, after every item is staged.
        batches.push(last);
        Ok(batches)
    }

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), SdkError<TransactWriteItemsError>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await?;
        Ok(())
    }

    /// The organisation's claim version and the mark of an import of it under way
    /// (or stopped half-way), `None` when the organisation does not exist.
    async fn version(&self, pk: &str) -> Result<Option<Version>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(pk, keys::VERSION_SK)))
            .send()
            .await
            .map_err(backend)?;
        Ok(got.item.as_ref().and_then(Version::of))
    }

    /// The version item and the claim items of an organisation, from one strongly
    /// consistent Query over the claims' range (the version item sorts first in it,
    /// so a claim write committed after the version was read fails its condition).
    async fn version_and_claims(&self, pk: &str) -> Result<(Option<Version>, Vec<Item>), StoreError> {
        let end = keys::range_end(keys::CLAIM_PREFIX);
        let mut items = self.query(pk, Some((keys::VERSION_SK, &end))).await?;
        let version = match items.first() {
            Some(first) if get_s(first, SK) == Some(keys::VERSION_SK) => Version::of(&items.remove(0)),
            _ => None,
        };
        Ok((version, items))
    }

    /// Every item of an organisation partition (with `public_only`, its public items:
    /// the range `#VERSION` … `PRIVATE`, so private items are not even read) from one
    /// Query that raced no commit (the version tokens it saw agree; read again
    /// otherwise), with what its version items say.
    async fn organisation_partition(
        &self,
        pk: &str,
        public_only: bool,
    ) -> Result<(Vec<Item>, staged::Versions), StoreError> {
        const ATTEMPTS: usize = 5;
        let range = public_only.then_some((keys::VERSION_HEAD_SK, keys::PRIVATE_SK));
        for attempt in 1..=ATTEMPTS {
            let items = self.query(pk, range).await?;
            let versions = staged::versions(
                &items,
                SK,
                keys::VERSION_HEAD_SK,
                keys::VERSION_SK,
                &[keys::PRIVATE_SK, keys::VERSION_TAIL_SK],
            );
            if versions.settled {
                return Ok((items, versions));
            }
            tokio::time::sleep(Duration::from_millis(10 * attempt as u64)).await;
        }
        Err(StoreError::Contention(ATTEMPTS))
    }

    /// The organisation's partition (or its public range) assembled into a snapshot.
    async fn assembled(&self, org_id: &str, public_only: bool) -> Result<Option<OrganisationSnapshot>, StoreError> {
        let (items, versions) = self.organisation_partition(&keys::org_pk(org_id), public_only).await?;
        let bodies = visible_bodies(&items, versions.importing.as_deref());
        Ok(assemble(
            bodies.iter().map(|(sk, body)| (*sk, body.as_ref())),
            public_only,
        )?)
    }

    /// The claims as readers see them: from the claim items alone, unless one was
    /// written by a staged import, in which case from a settled read of the whole
    /// partition (the view depends on the version item). `settled: false` reads the
    /// claim items as they are: for a claim write, which has just found no import
    /// under way and whose transaction is conditioned on the version it read.
    /// Returns the version item read with them (`None`: no organisation).
    async fn claims_of(&self, pk: &str, settled: bool) -> Result<(Option<Version>, Vec<AuthorityClaim>), StoreError> {
        let (version, mut items) = self.version_and_claims(pk).await?;
        let mut importing = None;
        if settled && staged::any_staged(&items) {
            let (all, versions) = self.organisation_partition(pk, true).await?;
            items = all
                .into_iter()
                .filter(|i| get_s(i, SK).is_some_and(|sk| sk.starts_with(keys::CLAIM_PREFIX)))
                .collect();
            importing = versions.importing;
        }
        let claims = visible_bodies(&items, importing.as_deref())
            .iter()
            .map(|(sk, body)| parse(sk, body))
            .collect::<Result<_, _>>()?;
        Ok((version, claims))
    }
}

/// The sort key and body of every item as readers see it while `importing` is
/// under way (see [`staged::visible`]); items with no body in that view are left out.
fn visible_bodies<'a>(items: &'a [Item], importing: Option<&str>) -> Vec<(&'a str, Cow<'a, str>)> {
    items
        .iter()
        .filter_map(|i| Some((get_s(i, SK)?, staged::visible(i, importing, DATA)?)))
        .collect()
}

/// What the version item says: the claim version and the mark of an import under
/// way (or stopped half-way).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Version {
    number: u64,
    importing: Option<String>,
}

impl Version {
    /// Reads a version item; `None` without a version number.
    fn of(item: &Item) -> Option<Self> {
        let number = item.get(VERSION)?.as_n().ok()?.parse().ok()?;
        Some(Self {
            number,
            importing: get_s(item, IMPORTING).map(str::to_owned),
        })
    }
}

/// Whether a cancelled transaction lost a race (retry) rather than failed.
fn lost_race(e: &SdkError<TransactWriteItemsError>) -> bool {
    match e {
        SdkError::ServiceError(se) => match se.err() {
            TransactWriteItemsError::TransactionCanceledException(tc) => tc
                .cancellation_reasons()
                .iter()
                .any(|r| matches!(r.code(), Some("ConditionalCheckFailed" | "TransactionConflict"))),
            _ => false,
        },
        _ => false,
    }
}

/// The one retry policy of the adapter: up to [`MAX_WRITE_ATTEMPTS`] attempts with
/// jittered exponential backoff between them, then [`StoreError::Contention`].
#[derive(Default)]
struct Retry {
    attempt: usize,
}

impl Retry {
    /// Waits before the next attempt, or gives up when none is left.
    async fn again(&mut self) -> Result<(), StoreError> {
        self.attempt += 1;
        if self.attempt >= MAX_WRITE_ATTEMPTS {
            return Err(StoreError::Contention(self.attempt));
        }
        let cap_ms = 2u64.saturating_pow(self.attempt.min(6) as u32).min(50);
        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..=cap_ms))).await;
        Ok(())
    }
}

impl Store for DynamoStore {
    async fn put_reference(&self, reference: &ReferenceData) -> Result<(), StoreError> {
        let requests: Vec<WriteRequest> = reference_items(reference)
            .into_iter()
            .map(|(sk, body)| {
                let mut item = key(keys::REF_PK, &sk);
                item.insert(DATA.to_owned(), body::encode(&body));
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(backend)
            })
            .collect::<Result<_, _>>()?;
        for chunk in requests.chunks(MAX_BATCH_ITEMS) {
            let mut pending = chunk.to_vec();
            let mut retry = Retry::default();
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(backend)?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                if !pending.is_empty() {
                    retry.again().await?;
                }
            }
        }
        Ok(())
    }

    async fn reference(&self) -> Result<ReferenceData, StoreError> {
        let items = self.query(keys::REF_PK, None).await?;
        let bodies = visible_bodies(&items, None);
        Ok(assemble_reference(
            bodies.iter().map(|(sk, body)| (*sk, body.as_ref())),
        )?)
    }

    async fn replace_organisation_as(&self, snapshot: &OrganisationSnapshot, actor: &Actor) -> Result<(), StoreError> {
        let org_id = snapshot.id();
        let pk = keys::org_pk(org_id);
        let (stored, versions) = self.organisation_partition(&pk, false).await?;
        let stored: Vec<(String, Item)> = stored
            .into_iter()
            .filter_map(|i| Some((get_s(&i, SK)?.to_owned(), i)))
            .filter(|(sk, _)| !keys::is_version_sk(sk))
            .collect();
        let under_way = versions.importing;
        // Items without the version guard (a table written before the guard moved to
        // `CLAIM`): write even an unchanged organisation, so the guard is created.
        let unguarded = !versions.exists && !stored.is_empty();
        // The organisation as readers see it now.
        let existing: Vec<(String, String)> = stored
            .iter()
            .filter_map(|(sk, i)| Some((sk.clone(), staged::visible(i, under_way.as_deref(), DATA)?.into_owned())))
            .collect();
        let items: Vec<(OrgItem, String)> = organisation_items(snapshot);
        let after: Vec<(String, String)> = items.iter().map(|(kind, body)| (kind.sk(), body.clone())).collect();
        let record = match audit::organisation_replace(actor, org_id, &existing, &after, self.retention_days) {
            Some(record) => record,
            // Nothing would change: no write, no audit record.
            None if under_way.is_none() && !unguarded => return Ok(()),
            // The same content as before an import that stopped half-way: it is
            // still finished (its staged items undone), and recorded; or the same
            // content without its guard, which the write adds.
            None => audit::AuditRecord::new(
                actor,
                [("OrganisationId".to_owned(), org_id.to_owned())].into(),
                Vec::new(),
                self.retention_days,
            ),
        };
        let keep: HashSet<String> = after.iter().map(|(sk, _)| sk.clone()).collect();
        let stale: Vec<&(String, Item)> = stored.iter().filter(|(sk, _)| !keep.contains(sk)).collect();
        let batches = if items.len() + stale.len() + TRANSACTION_EXTRA_ITEMS <= MAX_TRANSACTION_ITEMS {
            self.single_import(&pk, org_id, items, &stale, &record)?
        } else {
            // Resumes an import that stopped half-way under its own mark, so the
            // items it staged keep their true previous bodies.
            let mark = under_way.unwrap_or_else(|| record.id.clone());
            self.staged_import(&pk, org_id, items, &stored, &stale, &record, &mark)?
        };
        for batch in batches {
            let mut retry = Retry::default();
            loop {
                match self.transact(batch.clone()).await {
                    Ok(()) => break,
                    Err(e) if lost_race(&e) => retry.again().await?,
                    Err(e) => return Err(backend(e)),
                }
            }
        }
        record.log();
        Ok(())
    }

    async fn read_organisation(
        &self,
        org_id: &OrganisationId,
        public_only: bool,
    ) -> Result<Option<OrganisationSnapshot>, StoreError> {
        if !public_only {
            return self.assembled(org_id.as_str(), false).await;
        }
        // The export keeps many public reads in flight, and decoding them (the SDK's
        // deserialisation, inflate, parse, assembly) is most of its CPU: on a task of
        // its own each one runs on any worker thread, not all on the export's task.
        let (store, org_id) = (self.clone(), org_id.as_str().to_owned());
        tokio::spawn(async move { store.assembled(&org_id, true).await })
            .await
            .map_err(|e| StoreError::Backend(format!("reading an organisation stopped: {e}")))?
    }

    async fn api_resource(
        &self,
        org_id: &OrganisationId,
        server_id: &ServerId,
        resource_id: &ResourceId,
    ) -> Result<Option<ApiResource>, StoreError> {
        let org_id = org_id.as_str();
        let server_id = server_id.as_str();
        let resource_id = resource_id.as_str();
        let sk = keys::resource_sk(server_id, resource_id);
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(&keys::org_pk(org_id), &sk)))
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = got.item.as_ref() else {
            return Ok(None);
        };
        // An item a staged import wrote reads as the version item says.
        let importing = if item.contains_key(IMPORT) {
            self.version(&keys::org_pk(org_id)).await?.and_then(|v| v.importing)
        } else {
            None
        };
        match staged::visible(item, importing.as_deref(), DATA) {
            Some(data) => Ok(Some(parse(&sk, &data)?)),
            None => Ok(None),
        }
    }

    async fn authority_claims(&self, org_id: &OrganisationId) -> Result<Option<Vec<AuthorityClaim>>, StoreError> {
        let org_id = org_id.as_str();
        let pk = keys::org_pk(org_id);
        let (version, claims) = self.claims_of(&pk, true).await?;
        Ok((version.is_some() || !claims.is_empty()).then_some(claims))
    }

    async fn update_authority_claim_as<E: Send + 'static, D: ClaimDecision<E> + 'static>(
        &self,
        org_id: &OrganisationId,
        claim_id: &ClaimId,
        actor: &Actor,
        decide: D,
    ) -> Result<ClaimWrite<E>, StoreError> {
        let org_id = org_id.as_str();
        let claim_id = claim_id.as_str();
        let pk = keys::org_pk(org_id);
        let sk = keys::claim_sk(claim_id);
        let mut retry = Retry::default();
        loop {
            // One round trip: the reference data and, in one Query, the version then
            // the claims. Any claim write committed after the version was read bumps
            // it, so the conditional transaction below fails and the decision is retaken.
            let (reference, (version, claims)) = tokio::try_join!(self.reference(), self.claims_of(&pk, false))?;
            let Some(Version {
                number: version,
                importing,
            }) = version
            else {
                return Ok(ClaimWrite::NotFound);
            };
            if importing.is_some() {
                return Ok(ClaimWrite::Importing);
            }
            let Some(current) = claims
                .iter()
                .find(|c| keys::claim_sk(&c.organisation_authority_claim_id) == sk)
            else {
                return Ok(ClaimWrite::NotFound);
            };
            let updated = match decide(&reference, &claims, current) {
                Ok(u) => u,
                Err(e) => return Ok(ClaimWrite::Rejected(e)),
            };
            let body = serde_json::to_string(&updated).map_err(|e| StoreError::Backend(e.to_string()))?;
            let mut item = key(&pk, &sk);
            item.insert(DATA.to_owned(), body::encode(&body));
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_exists(PK)")
                .build()
                .map_err(backend)?;
            let record = audit::claim_update(actor, org_id, claim_id, current, &updated, self.retention_days);
            let mut writes = vec![TransactWriteItem::builder().put(put).build(), self.audit_put(&record)?];
            writes.extend(self.bump_version(&pk, version, &record.id)?);
            match self.transact(writes).await {
                Ok(()) => {
                    record.log();
                    return Ok(ClaimWrite::Updated(Box::new(updated)));
                }
                Err(e) if lost_race(&e) => retry.again().await?,
                Err(e) => return Err(backend(e)),
            }
        }
    }

    async fn put_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(Self::audit_item(record)))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn audit_records(
        &self,
        org_id: Option<&OrganisationId>,
        since: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let org_id = org_id.map(OrganisationId::as_str);
        let pk = keys::audit_partition(org_id);
        let range = since.map_or(SkRange::All, SkRange::From);
        let items = self.query_keys(&pk, range, true).await?;
        Ok(directory_core::store::items::audit_records(
            items
                .iter()
                .map(|i| (get_s(i, SK).unwrap_or("?"), get_s(i, DATA).unwrap_or("null"))),
            since,
        )?)
    }

    async fn acquire_export_lease(&self, holder: &str, ttl: Duration) -> Result<Option<u64>, StoreError> {
        let now = lease::now_ms();
        // One conditional update: free (never taken, released or expired) → taken
        // with the next fence. `LeaseUntilMs`, not the table's TTL attribute: the
        // item (and with it the fence) must never be deleted.
        let granted = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::EXPORT_PK, keys::LEASE_SK)))
            .update_expression("SET Holder = :h, LeaseUntilMs = :until ADD Fence :one")
            .condition_expression("attribute_not_exists(LeaseUntilMs) OR LeaseUntilMs <= :now")
            .expression_attribute_values(":h", s(holder))
            .expression_attribute_values(":until", n(now + ttl.as_millis() as u64))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
            .send()
            .await;
        match granted {
            Ok(out) => Ok(out
                .attributes
                .as_ref()
                .and_then(|a| a.get("Fence"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok())),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn holds_export_lease(&self, fence: u64) -> Result<bool, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(keys::EXPORT_PK, keys::LEASE_SK)))
            .send()
            .await
            .map_err(backend)?;
        let number = |name: &str| {
            got.item
                .as_ref()
                .and_then(|i| i.get(name))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        Ok(number("Fence") == Some(fence) && number("LeaseUntilMs").is_some_and(|until| until > lease::now_ms()))
    }

    async fn release_export_lease(&self, fence: u64) -> Result<(), StoreError> {
        let released = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::EXPORT_PK, keys::LEASE_SK)))
            .update_expression("SET LeaseUntilMs = :zero")
            .condition_expression("Fence = :fence")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":fence", n(fence))
            .send()
            .await;
        match released {
            Ok(_) => Ok(()),
            // Another holder took it since (ours had expired): theirs stays.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn document(&self, document: Document) -> Result<Option<Versioned>, StoreError> {
        let (pk, sk) = document.key();
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(pk, &sk)))
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = got.item.as_ref() else {
            return Ok(None);
        };
        let version = item
            .get(VERSION)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| StoreError::Corrupt {
                key: format!("{pk}/{sk}"),
                reason: "no version".into(),
            })?;
        let body = get_s(item, DATA).unwrap_or_default().to_owned();
        Ok(Some(Versioned { version, body }))
    }

    async fn put_document(&self, document: Document, body: &str, expected: Option<u64>) -> Result<bool, StoreError> {
        let (pk, sk) = document.key();
        let mut item = key(pk, &sk);
        item.insert(DATA.to_owned(), s(body));
        item.insert(VERSION.to_owned(), n(expected.unwrap_or(0) + 1));
        let put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        let put = match expected {
            None => put.condition_expression("attribute_not_exists(PK)"),
            Some(v) => put
                .condition_expression("V = :v")
                .expression_attribute_values(":v", n(v)),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn organisation_ids(&self, after: Option<&str>, limit: usize) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        let mut start: Option<Item> = None;
        while ids.len() < limit {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .expression_attribute_values(":p", s(keys::ORGS_GSI1PK))
                .limit(i32::try_from(limit - ids.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take());
            q = match after {
                Some(a) => q
                    .key_condition_expression("GSI1PK = :p AND GSI1SK > :after")
                    .expression_attribute_values(":after", s(a)),
                None => q.key_condition_expression("GSI1PK = :p"),
            };
            let page = q.send().await.map_err(backend)?;
            ids.extend(
                page.items
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|i| get_s(i, GSI1SK).map(str::to_owned)),
            );
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(ids)
    }
}
