//! The export lease: one item (`EXPORT`/`LEASE`) taken, checked and given back with
//! conditional updates; its fence only grows.

use super::schema::{get_n, key, n, s};
use super::{DynamoStore, backend};
use directory_domain::keys;
use directory_domain::lease;
use directory_usecases::ports::{ExportLease, StoreError};
use std::time::Duration;

impl ExportLease for DynamoStore {
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

    async fn request_export(&self, at: i64) -> Result<(), StoreError> {
        let mut item = key(keys::EXPORT_REQUEST_PK, keys::EXPORT_REQUEST_SK);
        item.insert("At".to_owned(), n(at.max(0) as u64));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn export_requested(&self) -> Result<Option<i64>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(keys::EXPORT_REQUEST_PK, keys::EXPORT_REQUEST_SK)))
            .send()
            .await
            .map_err(backend)?;
        Ok(got.item.as_ref().and_then(|i| get_n(i, "At")).map(|at| at as i64))
    }
}
