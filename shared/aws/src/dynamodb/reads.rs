//! Reads: strongly consistent Queries of an organisation partition checked against
//! the version tokens (a Query that raced a commit is read again), the claims with
//! their guard, reference data, single API resources, the organisation list.

use super::schema::{DATA, GSI1, GSI1SK, IMPORTING_ATTR, Item, SK, VERSION, get_n, get_s, key, reference_item, s};
use super::{DynamoStore, backend};
use crate::staged::{self, IMPORT};
use directory_domain::ids::{OrganisationId, ResourceId, ServerId};
use directory_domain::items::{assemble, assemble_reference, parse, reference_items};
use directory_domain::keys;
use directory_domain::model::{ApiResource, AuthorityClaim, OrganisationSnapshot, ReferenceData};
use directory_usecases::ports::{OrganisationReads, ReferenceStore, StoreError};
use std::borrow::Cow;
use std::time::Duration;

/// Which sort keys of a partition a query reads.
#[derive(Clone, Copy)]
pub(super) enum SkRange<'a> {
    All,
    Between(&'a str, &'a str),
    From(&'a str),
}

/// What the version item says: the claim version and the mark of an import under
/// way (or stopped half-way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Version {
    pub number: u64,
    pub importing: Option<String>,
}

impl Version {
    /// Reads a version item; `None` without a version number.
    pub fn of(item: &Item) -> Option<Self> {
        Some(Self {
            number: get_n(item, VERSION)?,
            importing: get_s(item, IMPORTING_ATTR).map(str::to_owned),
        })
    }
}

/// The sort key and body of every item as readers see it while `importing` is
/// under way (see [`staged::visible`]); items with no body in that view are left out.
pub(super) fn visible_bodies<'a>(items: &'a [Item], importing: Option<&str>) -> Vec<(&'a str, Cow<'a, str>)> {
    items
        .iter()
        .filter_map(|i| Some((get_s(i, SK)?, staged::visible(i, importing, DATA)?)))
        .collect()
}

impl DynamoStore {
    /// Every item of a partition whose sort key lies in `[from, to]`, following
    /// pagination; strongly consistent so a write shows at once.
    pub(super) async fn query(&self, pk: &str, range: Option<(&str, &str)>) -> Result<Vec<Item>, StoreError> {
        self.query_keys(pk, range.map_or(SkRange::All, |(a, b)| SkRange::Between(a, b)), false)
            .await
    }

    /// [`Self::query`] over any sort-key range, in either order.
    pub(super) async fn query_keys(
        &self,
        pk: &str,
        range: SkRange<'_>,
        newest_first: bool,
    ) -> Result<Vec<Item>, StoreError> {
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

    /// The organisation's claim version and the mark of an import of it under way
    /// (or stopped half-way), `None` when the organisation does not exist.
    pub(super) async fn version(&self, pk: &str) -> Result<Option<Version>, StoreError> {
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
    pub(super) async fn organisation_partition(
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
    /// claim items as they are: for a claim write, which finds whether an import is
    /// under way and whose transaction is conditioned on the version it read.
    /// Returns the version item read with them (`None`: no organisation).
    pub(super) async fn claims_of(
        &self,
        pk: &str,
        settled: bool,
    ) -> Result<(Option<Version>, Vec<AuthorityClaim>), StoreError> {
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

impl ReferenceStore for DynamoStore {
    async fn put_reference(&self, reference: &ReferenceData) -> Result<(), StoreError> {
        let items = reference_items(reference)
            .into_iter()
            .map(|(sk, body)| reference_item(&sk, &body))
            .collect();
        self.batch_put(items).await
    }

    async fn reference(&self) -> Result<ReferenceData, StoreError> {
        let items = self.query(keys::REF_PK, None).await?;
        let bodies = visible_bodies(&items, None);
        Ok(assemble_reference(
            bodies.iter().map(|(sk, body)| (*sk, body.as_ref())),
        )?)
    }
}

impl OrganisationReads for DynamoStore {
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
        let pk = keys::org_pk(org_id.as_str());
        let sk = keys::resource_sk(server_id.as_str(), resource_id.as_str());
        let got = self
            .client
            .get_item()
            .table_name(&self.table)
            .consistent_read(true)
            .set_key(Some(key(&pk, &sk)))
            .send()
            .await
            .map_err(backend)?;
        let Some(item) = got.item.as_ref() else {
            return Ok(None);
        };
        // An item a staged import wrote reads as the version item says.
        let importing = if item.contains_key(IMPORT) {
            self.version(&pk).await?.and_then(|v| v.importing)
        } else {
            None
        };
        match staged::visible(item, importing.as_deref(), DATA) {
            Some(data) => Ok(Some(parse(&sk, &data)?)),
            None => Ok(None),
        }
    }

    async fn authority_claims(&self, org_id: &OrganisationId) -> Result<Option<Vec<AuthorityClaim>>, StoreError> {
        let pk = keys::org_pk(org_id.as_str());
        let (version, claims) = self.claims_of(&pk, true).await?;
        Ok((version.is_some() || !claims.is_empty()).then_some(claims))
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
