//! The DynamoDB single-table adapter of the storage ports.
//!
//! Items: `PK`, `SK` (the domain's key grammar), `Data` (the entity's JSON,
//! compressed: see [`crate::body`]; audit records keep it plain), and on organisation
//! details items `GSI1PK = "ORGS"`, `GSI1SK = OrganisationId` (a sparse index listing
//! organisations in id order). The version item of each organisation (sort key
//! `CLAIM`, just before its claims; `V`, a number) guards writes: every claim commit
//! and every replace is a transaction conditioned on it. Every write also sets one
//! `WriteToken` on it and on its twins `#VERSION` and `VERSION` at the ends of the
//! partition and `PRIVATE` before the private items (`PRIVATE#…`, which the export
//! never reads), and organisations too large for one transaction are written in the
//! staged form (see [`crate::staged`]). The export lease is `EXPORT`/`LEASE`. Every
//! organisation write also puts its outbox item (`OUTBOX`, see `feed`).
//!
//! One file per concern: `schema` (item shapes), `transact` (transaction writes and
//! the version protocol), `reads`, `claims`, `organisations` (replace and the staged
//! form), `records` (audit, documents), `lease`, `feed` (the change feed's items).

mod claims;
mod federation;
mod feed;
mod lease;
mod organisations;
mod reads;
mod records;
pub mod schema;
mod subscriptions;
pub mod transact;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    PutRequest, ScalarAttributeType, TableStatus, TransactWriteItem, WriteRequest,
};
use directory_domain::audit;
use directory_usecases::ports::StoreError;
use directory_usecases::writes::Retry;
pub use schema::{EXPIRES_AT, GSI1};
use schema::{GSI1PK, GSI1SK, Item, PK, SK};
use std::time::Duration;

/// What a BatchWriteItem takes at most.
const MAX_BATCH_ITEMS: usize = 25;

pub(crate) fn backend<E: std::error::Error + 'static>(e: E) -> StoreError {
    StoreError::Backend(DisplayErrorContext(e).to_string())
}

/// A store on one DynamoDB table (every capability of the storage ports).
#[derive(Clone, Debug)]
pub struct DynamoStore {
    client: Client,
    table: String,
    retention_days: u32,
    feed_retention_days: u32,
}

impl DynamoStore {
    /// A store on `table` through `client`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            retention_days: audit::DEFAULT_RETENTION_DAYS,
            feed_retention_days: directory_domain::feed::DEFAULT_RETENTION_DAYS,
        }
    }

    /// Keeps revisions for `days` (their `ExpiresAt` TTL; reads hide older ones).
    pub fn with_feed_retention(mut self, days: u32) -> Self {
        self.feed_retention_days = days;
        self
    }

    /// Keeps audit records for `days` (their `ExpiresAt` TTL).
    pub fn with_audit_retention(mut self, days: u32) -> Self {
        self.retention_days = days;
        self
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The DynamoDB client (benchmarks compare raw transactions on the same table).
    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    /// Writes items in batches of 25, retrying what is left unprocessed (no
    /// transaction: reference data, outbox seeding, superseded copies).
    pub(super) async fn batch_put(&self, items: Vec<Item>) -> Result<(), StoreError> {
        let requests: Vec<WriteRequest> = items
            .into_iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(backend)
            })
            .collect::<Result<_, _>>()?;
        self.batch_write(requests).await
    }

    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
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

    /// The transaction writes of this table.
    fn writes(&self) -> transact::Writes<'_> {
        transact::Writes { table: &self.table }
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

    async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), SdkError<TransactWriteItemsError>> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await?;
        Ok(())
    }
}

/// Whether a cancelled transaction lost a race (read again and retry) rather than failed.
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

/// A transaction write that could not be built (a bug: every field is set).
fn built(e: String) -> StoreError {
    StoreError::Backend(format!("building a transaction: {e}"))
}
