//! Audit records (in their own partitions, with a TTL) and versioned documents.

use super::reads::SkRange;
use super::schema::{DATA, SK, VERSION, audit_item, get_n, get_s, key, n, s};
use super::{DynamoStore, backend};
use directory_domain::audit::AuditRecord;
use directory_domain::ids::OrganisationId;
use directory_domain::keys;
use directory_usecases::ports::{AuditLog, Document, Documents, StoreError, Versioned};

impl AuditLog for DynamoStore {
    fn audit_retention_days(&self) -> u32 {
        self.retention_days
    }

    async fn put_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(audit_item(record)))
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
        let pk = keys::audit_partition(org_id.map(OrganisationId::as_str));
        let range = since.map_or(SkRange::All, SkRange::From);
        let items = self.query_keys(&pk, range, true).await?;
        Ok(directory_domain::items::audit_records(
            items
                .iter()
                .map(|i| (get_s(i, SK).unwrap_or("?"), get_s(i, DATA).unwrap_or("null"))),
            since,
        )?)
    }
}

impl Documents for DynamoStore {
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
        let version = get_n(item, VERSION).ok_or_else(|| StoreError::Corrupt {
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
}
