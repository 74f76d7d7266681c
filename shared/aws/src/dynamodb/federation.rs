//! The Trust Anchor's items in the table: pins (`FEDERATION_PIN`, JSON in `Data`,
//! version in `V`, written with their audit record in one transaction conditioned on
//! the version read) and the signed statements kept for reuse (`FEDERATION_STATEMENT`).

use super::reads::SkRange;
use super::schema::{DATA, Item, SK, VERSION, audit_item, get_n, get_s, key, n, s};
use super::{DynamoStore, backend, built, lost_race};
use directory_domain::audit::AuditRecord;
use directory_domain::federation::Pin;
use directory_domain::keys::{FEDERATION_PIN_PK, FEDERATION_STATEMENT_PK};
use directory_usecases::ports::{CachedStatement, FederationStore, StoreError};

fn data<T: directory_domain::items::Parse>(pk: &str, item: &Item) -> Result<T, StoreError> {
    let sk = get_s(item, SK).unwrap_or_default();
    let json = get_s(item, DATA).unwrap_or("null");
    Ok(directory_domain::items::parse(&format!("{pk}/{sk}"), json)?)
}

fn pin_of(item: &Item) -> Result<Pin, StoreError> {
    let pin: Pin = data(FEDERATION_PIN_PK, item)?;
    Ok(Pin {
        version: get_n(item, VERSION).unwrap_or(0),
        ..pin
    })
}

impl DynamoStore {
    async fn get(&self, pk: &str, sk: &str) -> Result<Option<Item>, StoreError> {
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(backend)?;
        Ok(got.item)
    }
}

impl FederationStore for DynamoStore {
    async fn pin(&self, entity_id: &str) -> Result<Option<Pin>, StoreError> {
        self.get(FEDERATION_PIN_PK, entity_id)
            .await?
            .as_ref()
            .map(pin_of)
            .transpose()
    }

    async fn pins(&self) -> Result<Vec<Pin>, StoreError> {
        let items = self.query_keys(FEDERATION_PIN_PK, SkRange::All, false).await?;
        items.iter().map(pin_of).collect()
    }

    async fn put_pin(&self, pin: &Pin, expected: Option<u64>, audit: &AuditRecord) -> Result<bool, StoreError> {
        let mut item = key(FEDERATION_PIN_PK, &pin.entity_id);
        let body = serde_json::to_string(&Pin {
            version: 0,
            ..pin.clone()
        })
        .map_err(|e| StoreError::Backend(e.to_string()))?;
        item.insert(DATA.to_owned(), s(body));
        item.insert(VERSION.to_owned(), n(expected.unwrap_or(0) + 1));
        let writes = self.writes();
        let put = match expected {
            None => writes.put_new(item),
            Some(v) => writes.put_conditioned(item, "V = :v", Some((":v", n(v)))),
        }
        .map_err(built)?;
        let audit = writes.put_new(audit_item(audit)).map_err(built)?;
        match self.transact(vec![put, audit]).await {
            Ok(()) => Ok(true),
            Err(e) if lost_race(&e) => Ok(false),
            Err(e) => Err(backend(e)),
        }
    }

    async fn cached_statement(&self, key_: &str) -> Result<Option<CachedStatement>, StoreError> {
        self.get(FEDERATION_STATEMENT_PK, key_)
            .await?
            .as_ref()
            .map(|i| data(FEDERATION_STATEMENT_PK, i))
            .transpose()
    }

    async fn cache_statement(&self, key_: &str, statement: &CachedStatement) -> Result<(), StoreError> {
        let mut item = key(FEDERATION_STATEMENT_PK, key_);
        item.insert(
            DATA.to_owned(),
            s(serde_json::to_string(statement).map_err(|e| StoreError::Backend(e.to_string()))?),
        );
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}
