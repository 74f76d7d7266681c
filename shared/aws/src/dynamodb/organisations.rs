//! Replacing an organisation: in one transaction when it fits (items, stale deletes,
//! audit record, version bump conditioned on the version read), in the staged form
//! otherwise (see [`crate::staged`]): the first transaction marks the import
//! (conditioned likewise), the items follow, and the last (with the audit record)
//! clears the mark and with it switches every reader to the new items at once.

use super::schema::{DATA, Item, SK, audit_item, get_s, key, org_item, s};
use super::transact::{Expect, ImportMark, VersionBump, staged_batches};
use super::{DynamoStore, backend, built, lost_race};
use crate::body;
use crate::staged::{self, IMPORT, PREV};
use aws_sdk_dynamodb::types::TransactWriteItem;
use directory_domain::ids::OrganisationId;
use directory_domain::keys::{self, OrgItem};
use directory_domain::limits::{MAX_TRANSACTION_ITEMS, TRANSACTION_EXTRA_ITEMS};
use directory_usecases::ports::{Commit, OrganisationWrites, StoreError, StoredOrganisation, WriteEffects};
use directory_usecases::writes::Retry;
use std::collections::{HashMap, HashSet};

/// What a replace read: the stored items (raw, for their staged attributes), the
/// import under way, and the version its first transaction is conditioned on.
#[derive(Debug)]
pub struct ReplaceRead {
    stored: Vec<(String, Item)>,
    under_way: Option<String>,
    expect: Expect,
}

impl OrganisationWrites for DynamoStore {
    type Read = ReplaceRead;

    async fn read_for_replace(&self, org_id: &OrganisationId) -> Result<StoredOrganisation<ReplaceRead>, StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        let (items, versions) = self.organisation_partition(&pk, false).await?;
        let version = items
            .iter()
            .find(|i| get_s(i, SK) == Some(keys::VERSION_SK))
            .and_then(super::reads::Version::of);
        let stored: Vec<(String, Item)> = items
            .into_iter()
            .filter_map(|i| Some((get_s(&i, SK)?.to_owned(), i)))
            .filter(|(sk, _)| !keys::is_version_sk(sk))
            .collect();
        let under_way = versions.importing;
        // The organisation as readers see it now.
        let visible = stored
            .iter()
            .filter_map(|(sk, i)| Some((sk.clone(), staged::visible(i, under_way.as_deref(), DATA)?.into_owned())))
            .collect();
        // Items without the version guard (a table written before the guard moved to
        // `CLAIM`) are written even unchanged, so the guard is created; an import that
        // stopped half-way is finished.
        let unguarded = !versions.exists && !stored.is_empty();
        Ok(StoredOrganisation {
            items: visible,
            pending: under_way.is_some() || unguarded,
            state: ReplaceRead {
                stored,
                under_way,
                expect: version.map_or(Expect::Absent, |v| Expect::Version(v.number)),
            },
        })
    }

    async fn replace_items(
        &self,
        org_id: &OrganisationId,
        read: ReplaceRead,
        items: Vec<(OrgItem, String)>,
        effects: &WriteEffects,
    ) -> Result<Commit, StoreError> {
        let org_id = org_id.as_str();
        let pk = keys::org_pk(org_id);
        let keep: HashSet<String> = items.iter().map(|(kind, _)| kind.sk()).collect();
        let stale: Vec<&(String, Item)> = read.stored.iter().filter(|(sk, _)| !keep.contains(sk)).collect();
        let batches = if items.len() + stale.len() + TRANSACTION_EXTRA_ITEMS <= MAX_TRANSACTION_ITEMS {
            self.single(&pk, org_id, items, &stale, effects, read.expect)?
        } else {
            // Resumes an import that stopped half-way under its own mark, so the
            // items it staged keep their true previous bodies.
            let mark = read.under_way.clone().unwrap_or_else(|| effects.audit.id.clone());
            self.staged(&pk, org_id, items, &read.stored, &stale, effects, &mark, read.expect)?
        };
        for (i, batch) in batches.into_iter().enumerate() {
            let mut retry = Retry::default();
            loop {
                match self.transact(batch.clone()).await {
                    Ok(()) => break,
                    // The first transaction is conditioned on the version read: a write
                    // came in since, so the use case reads again.
                    Err(e) if i == 0 && lost_race(&e) => return Ok(Commit::Conflict),
                    Err(e) if lost_race(&e) => retry.again().await?,
                    Err(e) => return Err(backend(e)),
                }
            }
        }
        Ok(Commit::Done)
    }
}

impl DynamoStore {
    /// An organisation that fits one transaction: plain items, stale ones (and any
    /// left staged by a stopped import) deleted, the mark cleared, all at once.
    fn single(
        &self,
        pk: &str,
        org_id: &str,
        items: Vec<(OrgItem, String)>,
        stale: &[&(String, Item)],
        effects: &WriteEffects,
        expect: Expect,
    ) -> Result<Vec<Vec<TransactWriteItem>>, StoreError> {
        let w = self.writes();
        let mut writes = Vec::with_capacity(items.len() + stale.len() + TRANSACTION_EXTRA_ITEMS);
        for (kind, body) in items {
            writes.push(w.put(org_item(pk, org_id, &kind, Some(&body))).map_err(built)?);
        }
        for (sk, _) in stale {
            writes.push(w.delete(pk, sk).map_err(built)?);
        }
        writes.push(w.put_new(audit_item(&effects.audit)).map_err(built)?);
        writes.push(w.outbox(org_id, expect.next(1)).map_err(built)?);
        let end = VersionBump {
            token: format!("{}:end", effects.audit.id),
            mark: ImportMark::Clear,
            expect,
        };
        writes.extend(w.version_twins(pk, &end).map_err(built)?);
        Ok(vec![writes])
    }

    /// An organisation too large for one transaction, in the staged form: the first
    /// transaction marks the import under `mark`, the last (with the audit record)
    /// clears the mark and with it switches every reader to the new items at once.
    #[allow(clippy::too_many_arguments)]
    fn staged(
        &self,
        pk: &str,
        org_id: &str,
        items: Vec<(OrgItem, String)>,
        stored: &[(String, Item)],
        stale: &[&(String, Item)],
        effects: &WriteEffects,
        mark: &str,
        expect: Expect,
    ) -> Result<Vec<Vec<TransactWriteItem>>, StoreError> {
        let w = self.writes();
        let previous: HashMap<&str, &Item> = stored.iter().map(|(sk, i)| (sk.as_str(), i)).collect();
        // Before this import: the view while it is under way.
        let before = |sk: &str| previous.get(sk).and_then(|i| staged::visible(i, Some(mark), DATA));
        let mut writes = Vec::new();
        for (kind, body) in items {
            let mut item = org_item(pk, org_id, &kind, Some(&body));
            if let Some(prev) = before(&kind.sk()) {
                item.insert(PREV.to_owned(), body::encode(&prev));
            }
            item.insert(IMPORT.to_owned(), s(mark));
            writes.push(w.put(item).map_err(built)?);
        }
        for (sk, _) in stale {
            match before(sk) {
                // Removed by this import: kept for readers until it ends.
                Some(prev) => {
                    let mut item = key(pk, sk);
                    item.insert(PREV.to_owned(), body::encode(&prev));
                    item.insert(IMPORT.to_owned(), s(mark));
                    writes.push(w.put(item).map_err(built)?);
                }
                // Never visible before this import (or long removed): gone now.
                None => writes.push(w.delete(pk, sk).map_err(built)?),
            }
        }
        let start = VersionBump {
            token: format!("{mark}:start"),
            mark: ImportMark::Set(mark.to_owned()),
            expect,
        };
        let end = VersionBump {
            token: format!("{mark}:end"),
            mark: ImportMark::Clear,
            expect: Expect::Any,
        };
        let first = w.version_twins(pk, &start).map_err(built)?.to_vec();
        // Two bumps: the start (`expect`, + 1) and the end (+ 1).
        let mut last = vec![
            w.put_new(audit_item(&effects.audit)).map_err(built)?,
            w.outbox(org_id, expect.next(2)).map_err(built)?,
        ];
        last.extend(w.version_twins(pk, &end).map_err(built)?);
        Ok(staged_batches(first, writes, last))
    }
}
