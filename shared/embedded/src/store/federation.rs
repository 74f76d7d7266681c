//! The Trust Anchor's items in the embedded store: pins (`FEDERATION_PIN`, with their
//! version, written with their audit record in one write transaction) and the signed
//! statements kept for reuse (`FEDERATION_STATEMENT`).

use super::{EmbeddedStore, ITEMS, backend};
use directory_domain::audit::AuditRecord;
use directory_domain::federation::Pin;
use directory_domain::items::parse;
use directory_domain::keys::{FEDERATION_PIN_PK, FEDERATION_STATEMENT_PK};
use directory_usecases::ports::{CachedStatement, FederationStore, StoreError};
use redb::{ReadableDatabase, ReadableTable};

fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

impl FederationStore for EmbeddedStore {
    async fn pin(&self, entity_id: &str) -> Result<Option<Pin>, StoreError> {
        let id = entity_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            match table.get((FEDERATION_PIN_PK, id.as_str())).map_err(backend)? {
                Some(v) => Ok(Some(parse(&id, v.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn pins(&self) -> Result<Vec<Pin>, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let mut out = Vec::new();
            for item in table
                .range((FEDERATION_PIN_PK, "")..(FEDERATION_PIN_PK, "\u{10ffff}"))
                .map_err(backend)?
            {
                let (k, v) = item.map_err(backend)?;
                out.push(parse(k.value().1, v.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn put_pin(&self, pin: &Pin, expected: Option<u64>, audit: &AuditRecord) -> Result<bool, StoreError> {
        let pin = pin.clone();
        let audit = audit.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let written = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let current = match table
                    .get((FEDERATION_PIN_PK, pin.entity_id.as_str()))
                    .map_err(backend)?
                {
                    Some(v) => Some(parse::<Pin>(&pin.entity_id, v.value())?.version),
                    None => None,
                };
                if current != expected {
                    false
                } else {
                    let body = json(&Pin {
                        version: expected.unwrap_or(0) + 1,
                        ..pin.clone()
                    })?;
                    table
                        .insert((FEDERATION_PIN_PK, pin.entity_id.as_str()), body.as_str())
                        .map_err(backend)?;
                    Self::insert_audit(&mut table, &audit)?;
                    true
                }
            };
            txn.commit().map_err(backend)?;
            Ok(written)
        })
        .await
    }

    async fn cached_statement(&self, key: &str) -> Result<Option<CachedStatement>, StoreError> {
        let key = key.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            match table.get((FEDERATION_STATEMENT_PK, key.as_str())).map_err(backend)? {
                Some(v) => Ok(Some(parse(&key, v.value())?)),
                None => Ok(None),
            }
        })
        .await
    }

    async fn cache_statement(&self, key: &str, statement: &CachedStatement) -> Result<(), StoreError> {
        let key = key.to_owned();
        let body = json(statement)?;
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                table
                    .insert((FEDERATION_STATEMENT_PK, key.as_str()), body.as_str())
                    .map_err(backend)?;
            }
            txn.commit().map_err(backend)?;
            Ok(())
        })
        .await
    }
}
