//! Subscriptions in the table: one item per stream id (`SUBSCRIPTION`, its JSON in
//! `Data` and its version in `V`), and one count per owner (`SUBSCRIBER`), changed
//! together in one transaction so the cap per participant holds under concurrent
//! creates. Every update is conditioned on the version read.

use super::schema::{DATA, Item, SK, VERSION, audit_item, get_n, get_s, key, n, s};
use super::{DynamoStore, backend, built, lost_race};
use aws_sdk_dynamodb::types::{Delete, Put, TransactWriteItem, Update};
use directory_domain::audit::AuditRecord;
use directory_domain::events::subscription::Subscription;
use directory_domain::keys::{SUBSCRIBER_PK, SUBSCRIPTION_PK};
use directory_usecases::ports::{Commit, StoreError, StoredSubscription, Subscriptions};

/// The owner of a subscription, beside its JSON (the count's key on delete).
const OWNER: &str = "Org";
/// An owner's number of subscriptions.
const COUNT: &str = "Held";

fn item(sub: &Subscription, version: u64) -> Result<Item, StoreError> {
    let mut item = key(SUBSCRIPTION_PK, &sub.stream_id);
    item.insert(
        DATA.to_owned(),
        s(serde_json::to_string(sub).map_err(|e| StoreError::Backend(e.to_string()))?),
    );
    item.insert(VERSION.to_owned(), n(version));
    item.insert(OWNER.to_owned(), s(&sub.owner));
    Ok(item)
}

fn stored(item: &Item) -> Result<StoredSubscription, StoreError> {
    let sk = get_s(item, SK).unwrap_or_default();
    let corrupt = |reason: String| StoreError::Corrupt {
        key: format!("{SUBSCRIPTION_PK}/{sk}"),
        reason,
    };
    let json = get_s(item, DATA).ok_or_else(|| corrupt("no Data".into()))?;
    Ok(StoredSubscription {
        subscription: serde_json::from_str(json).map_err(|e| corrupt(e.to_string()))?,
        version: get_n(item, VERSION).ok_or_else(|| corrupt("no version".into()))?,
    })
}

fn count_update(table: &str, owner: &str, delta: i64, cap: Option<usize>) -> Result<TransactWriteItem, StoreError> {
    let mut u = Update::builder()
        .table_name(table)
        .set_key(Some(key(SUBSCRIBER_PK, owner)))
        .update_expression(format!("SET {COUNT} = if_not_exists({COUNT}, :zero) + :d"))
        .expression_attribute_values(":zero", n(0))
        .expression_attribute_values(":d", aws_sdk_dynamodb::types::AttributeValue::N(delta.to_string()));
    if let Some(cap) = cap {
        u = u
            .condition_expression(format!("attribute_not_exists({COUNT}) OR {COUNT} < :cap"))
            .expression_attribute_values(":cap", n(cap as u64));
    }
    u.build()
        .map(|u| TransactWriteItem::builder().update(u).build())
        .map_err(|e| built(e.to_string()))
}

impl Subscriptions for DynamoStore {
    async fn create_subscription(
        &self,
        sub: &Subscription,
        cap: usize,
        audit: &AuditRecord,
    ) -> Result<bool, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item(sub, 1)?))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map(|p| TransactWriteItem::builder().put(p).build())
            .map_err(|e| built(e.to_string()))?;
        let count = count_update(&self.table, &sub.owner, 1, Some(cap))?;
        let audit = self.writes().put_new(audit_item(audit)).map_err(built)?;
        match self.transact(vec![put, count, audit]).await {
            Ok(()) => Ok(true),
            Err(e) if lost_race(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn subscription(&self, stream_id: &str) -> Result<Option<StoredSubscription>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(SUBSCRIPTION_PK, stream_id)))
            .send()
            .await
            .map_err(backend)?;
        got.item.as_ref().map(stored).transpose()
    }

    async fn subscriptions(&self, owner: Option<&str>) -> Result<Vec<StoredSubscription>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .key_condition_expression("PK = :pk")
                .expression_attribute_values(":pk", s(SUBSCRIPTION_PK))
                .set_exclusive_start_key(start);
            if let Some(owner) = owner {
                q = q
                    .filter_expression(format!("{OWNER} = :o"))
                    .expression_attribute_values(":o", s(owner));
            }
            let page = q.send().await.map_err(backend)?;
            for i in page.items() {
                out.push(stored(i)?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }

    async fn update_subscription(&self, sub: &Subscription, expected: u64) -> Result<Commit, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item(sub, expected + 1)?))
            .condition_expression(format!("{VERSION} = :v"))
            .expression_attribute_values(":v", n(expected))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Commit::Done),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(Commit::Conflict)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn delete_subscription(&self, sub: &Subscription, audit: &AuditRecord) -> Result<bool, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(SUBSCRIPTION_PK, &sub.stream_id)))
            .condition_expression("attribute_exists(PK)")
            .build()
            .map(|d| TransactWriteItem::builder().delete(d).build())
            .map_err(|e| built(e.to_string()))?;
        let count = count_update(&self.table, &sub.owner, -1, None)?;
        let audit = self.writes().put_new(audit_item(audit)).map_err(built)?;
        match self.transact(vec![delete, count, audit]).await {
            Ok(()) => Ok(true),
            Err(e) if lost_race(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }
}
