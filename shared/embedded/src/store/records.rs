//! Audit records, the export lease and versioned documents of the embedded store.

use super::{EmbeddedStore, ITEMS, backend};
use directory_domain::audit::AuditRecord;
use directory_domain::ids::OrganisationId;
use directory_domain::items::parse;
use directory_domain::keys::{self};
use directory_domain::lease;
use directory_usecases::ports::*;
use redb::{ReadableDatabase, ReadableTable};

impl AuditLog for EmbeddedStore {
    fn audit_retention_days(&self) -> u32 {
        self.retention_days
    }

    async fn put_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let record = record.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            Self::insert_audit(&mut txn.open_table(ITEMS).map_err(backend)?, &record)?;
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn audit_records(
        &self,
        org_id: Option<&OrganisationId>,
        since: Option<&str>,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let org_id = org_id.map(OrganisationId::as_str);
        let pk = keys::audit_partition(org_id);
        let items = self.blocking(move |db| Self::read_partition(db, &pk, "")).await?;
        Ok(directory_domain::items::audit_records(
            items.iter().rev().map(|(k, v)| (k.as_str(), v.as_str())),
            since,
        )?)
    }
}

impl ExportLease for EmbeddedStore {
    async fn acquire_export_lease(&self, holder: &str, ttl: std::time::Duration) -> Result<Option<u64>, StoreError> {
        let holder = holder.to_owned();
        self.blocking(move |db| {
            // One write transaction: redb serialises them, so the check and the
            // grant cannot interleave with another process's.
            let txn = db.begin_write().map_err(backend)?;
            let granted = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let current = Self::lease(&table)?;
                let granted = lease::take(current.as_ref(), &holder, lease::now_ms(), ttl);
                if let Some(next) = &granted {
                    let body = serde_json::to_string(next).map_err(|e| StoreError::Backend(e.to_string()))?;
                    table
                        .insert((keys::EXPORT_PK, keys::LEASE_SK), body.as_str())
                        .map_err(backend)?;
                }
                granted
            };
            txn.commit().map_err(backend)?;
            Ok(granted.map(|l| l.fence))
        })
        .await
    }

    async fn holds_export_lease(&self, fence: u64) -> Result<bool, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            Ok(lease::holds(Self::lease(&table)?.as_ref(), fence, lease::now_ms()))
        })
        .await
    }

    async fn release_export_lease(&self, fence: u64) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                if let Some(current) = Self::lease(&table)? {
                    let body = serde_json::to_string(&lease::released(current, fence))
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    table
                        .insert((keys::EXPORT_PK, keys::LEASE_SK), body.as_str())
                        .map_err(backend)?;
                }
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn request_export(&self, at: i64) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let body = serde_json::json!({ "At": at }).to_string();
                table
                    .insert((keys::EXPORT_REQUEST_PK, keys::EXPORT_REQUEST_SK), body.as_str())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)
        })
        .await
    }

    async fn export_requested(&self) -> Result<Option<i64>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            match table
                .get((keys::EXPORT_REQUEST_PK, keys::EXPORT_REQUEST_SK))
                .map_err(backend)?
            {
                Some(body) => {
                    let value: serde_json::Value = parse(keys::EXPORT_REQUEST_SK, body.value())?;
                    Ok(value.get("At").and_then(serde_json::Value::as_i64))
                }
                None => Ok(None),
            }
        })
        .await
    }
}

impl Documents for EmbeddedStore {
    async fn document(&self, document: Document) -> Result<Option<Versioned>, StoreError> {
        let (pk, sk) = document.key();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            match table.get((pk, sk.as_str())).map_err(backend)? {
                Some(body) => Ok(Some(parse(&sk, body.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn put_document(&self, document: Document, body: &str, expected: Option<u64>) -> Result<bool, StoreError> {
        let (pk, sk) = document.key();
        let body = body.to_owned();
        self.blocking(move |db| {
            // One write transaction: the version check and the write cannot interleave.
            let txn = db.begin_write().map_err(backend)?;
            let written = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let current = match table.get((pk, sk.as_str())).map_err(backend)? {
                    Some(stored) => Some(parse::<Versioned>(&sk, stored.value())?.version),
                    None => None,
                };
                if current != expected {
                    false
                } else {
                    let next = Versioned {
                        version: expected.unwrap_or(0) + 1,
                        body,
                    };
                    let json = serde_json::to_string(&next).map_err(|e| StoreError::Backend(e.to_string()))?;
                    table.insert((pk, sk.as_str()), json.as_str()).map_err(backend)?;
                    true
                }
            };
            txn.commit().map_err(backend)?;
            Ok(written)
        })
        .await
    }
}
