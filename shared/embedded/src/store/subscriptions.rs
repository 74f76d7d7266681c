//! Subscriptions in the embedded store: one item per stream id (`SUBSCRIPTION`) with
//! its version, and one count per owner (`SUBSCRIBER`), changed in the same write
//! transaction (redb serialises write transactions, so a check and its write cannot
//! interleave).

use super::{EmbeddedStore, ITEMS, backend};
use directory_domain::audit::AuditRecord;
use directory_domain::events::subscription::Subscription;
use directory_domain::items::parse;
use directory_domain::keys::{SUBSCRIBER_PK, SUBSCRIPTION_PK};
use directory_usecases::ports::{Commit, StoreError, StoredSubscription, Subscriptions};
use redb::{ReadableDatabase, ReadableTable};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Stored {
    version: u64,
    subscription: Subscription,
}

fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

type Table<'t> = redb::Table<'t, (&'static str, &'static str), &'static str>;

fn read_one(
    table: &impl ReadableTable<(&'static str, &'static str), &'static str>,
    id: &str,
) -> Result<Option<Stored>, StoreError> {
    match table.get((SUBSCRIPTION_PK, id)).map_err(backend)? {
        Some(v) => Ok(Some(parse(id, v.value())?)),
        None => Ok(None),
    }
}

fn count(table: &Table<'_>, owner: &str) -> Result<usize, StoreError> {
    Ok(match table.get((SUBSCRIBER_PK, owner)).map_err(backend)? {
        Some(v) => v.value().parse().unwrap_or(0),
        None => 0,
    })
}

fn set_count(table: &mut Table<'_>, owner: &str, n: usize) -> Result<(), StoreError> {
    if n == 0 {
        table.remove((SUBSCRIBER_PK, owner)).map_err(backend)?;
    } else {
        table
            .insert((SUBSCRIBER_PK, owner), n.to_string().as_str())
            .map_err(backend)?;
    }
    Ok(())
}

impl Subscriptions for EmbeddedStore {
    async fn create_subscription(&self, s: &Subscription, cap: usize, audit: &AuditRecord) -> Result<bool, StoreError> {
        let s = s.clone();
        let audit = audit.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let created = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                let n = count(&table, &s.owner)?;
                if n >= cap || read_one(&table, &s.stream_id)?.is_some() {
                    false
                } else {
                    let body = json(&Stored {
                        version: 1,
                        subscription: s.clone(),
                    })?;
                    table
                        .insert((SUBSCRIPTION_PK, s.stream_id.as_str()), body.as_str())
                        .map_err(backend)?;
                    set_count(&mut table, &s.owner, n + 1)?;
                    Self::insert_audit(&mut table, &audit)?;
                    true
                }
            };
            txn.commit().map_err(backend)?;
            Ok(created)
        })
        .await
    }

    async fn subscription(&self, stream_id: &str) -> Result<Option<StoredSubscription>, StoreError> {
        let id = stream_id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            Ok(read_one(&table, &id)?.map(|s| StoredSubscription {
                subscription: s.subscription,
                version: s.version,
            }))
        })
        .await
    }

    async fn subscriptions(&self, owner: Option<&str>) -> Result<Vec<StoredSubscription>, StoreError> {
        let owner = owner.map(str::to_owned);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(backend)?;
            let table = txn.open_table(ITEMS).map_err(backend)?;
            let mut out = Vec::new();
            for item in table
                .range((SUBSCRIPTION_PK, "")..(SUBSCRIPTION_PK, "\u{10ffff}"))
                .map_err(backend)?
            {
                let (k, v) = item.map_err(backend)?;
                let stored: Stored = parse(k.value().1, v.value())?;
                if owner.as_deref().is_none_or(|o| o == stored.subscription.owner) {
                    out.push(StoredSubscription {
                        subscription: stored.subscription,
                        version: stored.version,
                    });
                }
            }
            Ok(out)
        })
        .await
    }

    async fn update_subscription(&self, s: &Subscription, expected: u64) -> Result<Commit, StoreError> {
        let s = s.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let commit = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                match read_one(&table, &s.stream_id)? {
                    Some(current) if current.version == expected => {
                        let body = json(&Stored {
                            version: expected + 1,
                            subscription: s.clone(),
                        })?;
                        table
                            .insert((SUBSCRIPTION_PK, s.stream_id.as_str()), body.as_str())
                            .map_err(backend)?;
                        Commit::Done
                    }
                    _ => Commit::Conflict,
                }
            };
            txn.commit().map_err(backend)?;
            Ok(commit)
        })
        .await
    }

    async fn delete_subscription(&self, s: &Subscription, audit: &AuditRecord) -> Result<bool, StoreError> {
        let s = s.clone();
        let audit = audit.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(backend)?;
            let deleted = {
                let mut table = txn.open_table(ITEMS).map_err(backend)?;
                match read_one(&table, &s.stream_id)? {
                    Some(current) => {
                        table.remove((SUBSCRIPTION_PK, s.stream_id.as_str())).map_err(backend)?;
                        let n = count(&table, &current.subscription.owner)?;
                        set_count(&mut table, &current.subscription.owner, n.saturating_sub(1))?;
                        Self::insert_audit(&mut table, &audit)?;
                        true
                    }
                    None => false,
                }
            };
            txn.commit().map_err(backend)?;
            Ok(deleted)
        })
        .await
    }
}
