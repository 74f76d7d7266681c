//! Import of the import format (docs/design.md): validate everything first, then write.
//! An invalid file writes nothing; re-importing the same file is idempotent.

use crate::audit::Actor;
use crate::claims::{apply_role, resolve_role};
use crate::model::{ImportFile, OrganisationSnapshot, ReferenceData};
use crate::store::{Store, StoreError};
use crate::validate;
use futures_util::{StreamExt, stream};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashSet};

/// Organisations written at once.
const WRITE_CONCURRENCY: usize = 8;

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file is not valid: every problem found, nothing written.
    #[error("{0}")]
    Invalid(Problems),
    /// The store failed while writing (re-run the import to complete it).
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Every problem of an import file: one line each (at most 50 per record, then an
/// `and N more` line), and the true counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems {
    /// `record <index> (<OrganisationId>): <field path>: <rule>`, or a file-level problem.
    pub lines: Vec<String>,
    /// How many problems there are, those past a record's cap included.
    pub total: usize,
    /// How many records (or the reference data) have problems.
    pub records: usize,
}

impl Problems {
    fn file(line: String) -> Self {
        Self {
            lines: vec![line],
            total: 1,
            records: 1,
        }
    }

    /// Adds the problems of one record (or of the reference data, `prefix`),
    /// capped at 50 lines.
    fn add(&mut self, prefix: &str, problems: Vec<String>) {
        if problems.is_empty() {
            return;
        }
        self.total += problems.len();
        self.records += 1;
        self.lines.extend(
            crate::error::cap_messages(problems)
                .into_iter()
                .map(|p| format!("{prefix}: {p}")),
        );
    }

    fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The closing line: `N problems in M records; nothing written`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        format!(
            "{} in {}; nothing written",
            plural(self.total, "problem"),
            plural(self.records, "record")
        )
    }
}

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in &self.lines {
            writeln!(f, "{line}")?;
        }
        f.write_str(&self.summary())
    }
}

/// Counts of what an import wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImportSummary {
    pub organisations: usize,
    pub authorities: usize,
    pub domains: usize,
    pub roles: usize,
}

/// The import file split without building it: the reference data parsed, each
/// organisation kept as its raw JSON text (a slice of the input) until it is needed,
/// so a large file is checked and written one organisation at a time.
pub struct RawImport<'a> {
    pub reference: ReferenceData,
    pub organisations: Vec<&'a RawValue>,
    /// Problems of the file's reference data (the records are still checked).
    pub problems: Problems,
}

fn invalid(problem: impl Into<String>) -> ImportError {
    ImportError::Invalid(Problems::file(problem.into()))
}

/// Splits the file into reference data and raw organisation records.
pub fn split(bytes: &[u8]) -> Result<RawImport<'_>, ImportError> {
    let top: BTreeMap<String, &RawValue> =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a valid import file (a JSON object): {e}")))?;
    let mut problems = Problems::default();
    let mut organisations = Vec::new();
    let mut rest = serde_json::Map::new();
    for (key, raw) in top {
        if key == "Organisations" {
            match serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get()) {
                Ok(list) => organisations = list.unwrap_or_default(),
                Err(_) => return Err(invalid("Organisations: must be an array")),
            }
        } else {
            let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            rest.insert(key, value);
        }
    }
    let mut rest = Value::Object(rest);
    let found = validate::reference_fields(&mut rest);
    let reference = if found.is_empty() {
        serde_path_to_error::deserialize(rest).unwrap_or_else(|e| {
            problems.add("reference data", vec![format!("{}: {}", e.path(), e.inner())]);
            ReferenceData::default()
        })
    } else {
        // The valid entries still count, so records are judged against them instead
        // of every claim failing for want of reference data.
        problems.add("reference data", found);
        lenient_reference(&rest)
    };
    Ok(RawImport {
        reference,
        organisations,
        problems,
    })
}

/// One organisation record as a file carries it, normalised (`null` is absent, an
/// integer `ApiVersion` its decimal string), with the prefix its problems get.
struct Record {
    value: Value,
    prefix: String,
}

impl Record {
    fn read(i: usize, raw: &RawValue) -> Self {
        // The record is a slice of a file that parsed, so it parses.
        let mut value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        validate::normalize_snapshot(&mut value);
        // No read ever returns a secret, so none is stored (docs/design.md, "Visibility").
        if let Some(statements) = value.get_mut("SoftwareStatements") {
            crate::model::visibility::remove_secrets(statements);
        }
        let id = value
            .pointer("/OrganisationDetails/OrganisationId")
            .and_then(Value::as_str)
            .unwrap_or("?");
        let prefix = format!("record {i} ({id})");
        Self { value, prefix }
    }

    fn id(&self) -> Option<&str> {
        self.value
            .pointer("/OrganisationDetails/OrganisationId")
            .and_then(Value::as_str)
    }

    /// The typed organisation; the error names the JSON path.
    fn parse(self) -> Result<OrganisationSnapshot, String> {
        serde_path_to_error::deserialize::<_, OrganisationSnapshot>(self.value)
            .map_err(|e| format!("{}: {}", e.path(), e.inner()))
    }
}

/// The entries of the reference data that read as their type, the others left out.
fn lenient_reference(value: &Value) -> ReferenceData {
    fn entries<T: serde::de::DeserializeOwned>(value: &Value, field: &str) -> Vec<T> {
        let items = value
            .get(field)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        items.iter().filter_map(|v| T::deserialize(v).ok()).collect()
    }
    ReferenceData {
        authorities: entries(value, "Authorities"),
        authorisation_domains: entries(value, "AuthorisationDomains"),
        authorisation_domain_roles: entries(value, "AuthorisationDomainRoles"),
    }
}

/// Parses record `i`, naming the record and the JSON path of a type error.
pub fn record(i: usize, raw: &RawValue) -> Result<OrganisationSnapshot, String> {
    let record = Record::read(i, raw);
    let prefix = record.prefix.clone();
    record.parse().map_err(|e| format!("{prefix}: {e}"))
}

/// Parses the whole import file into memory (small files; `import` streams).
pub fn parse(bytes: &[u8]) -> Result<ImportFile, ImportError> {
    let raw = split(bytes)?;
    let mut problems = raw.problems;
    let mut organisations = Vec::with_capacity(raw.organisations.len());
    for (i, r) in raw.organisations.iter().enumerate() {
        let record = Record::read(i, r);
        let prefix = record.prefix.clone();
        match record.parse() {
            Ok(org) => organisations.push(org),
            Err(e) => problems.add(&prefix, vec![e]),
        }
    }
    if problems.is_empty() {
        Ok(ImportFile {
            reference: raw.reference,
            organisations,
        })
    } else {
        Err(ImportError::Invalid(problems))
    }
}

/// Completes and checks one organisation against the (merged) reference data:
/// claims get their organisation id and their role's derived fields; returns every
/// problem, without the record prefix.
pub fn prepare_one(org: &mut OrganisationSnapshot, reference: &ReferenceData) -> Vec<String> {
    let mut problems = complete_claims(org, reference);
    problems.extend(validate::snapshot_relations(org));
    problems
}

/// Gives each claim its organisation id and its role's derived fields; the problems
/// are those of claims whose authority or role is unknown. The write pass needs
/// only this: the checks already passed.
fn complete_claims(org: &mut OrganisationSnapshot, reference: &ReferenceData) -> Vec<String> {
    let id = org.id().to_owned();
    let mut problems = Vec::new();
    for (j, claim) in org.org_domain_role_claims.iter_mut().enumerate() {
        claim.organisation_id.get_or_insert_with(|| id.clone());
        if reference.authority(&claim.authority_id).is_none() {
            problems.push(format!(
                "OrgDomainRoleClaims[{j}].AuthorityId: {:?} is not a known authority",
                claim.authority_id
            ));
        }
        match resolve_role(
            reference,
            claim.authorisation_domain_role_identifier.as_deref(),
            claim.authorisation_domain.as_deref(),
            claim.role.as_deref(),
        ) {
            Ok(Some(role)) => apply_role(claim, reference, role),
            Ok(None) => problems.push(format!(
                "OrgDomainRoleClaims[{j}]: a role is required (AuthorisationDomainRoleIdentifier, or AuthorisationDomain and Role)"
            )),
            Err(e) => problems.push(format!("OrgDomainRoleClaims[{j}].{e}")),
        }
    }
    problems
}

/// The stored reference data with the file's on top (the file wins for the same ids);
/// the file's own reference problems go to `problems`.
fn merged_reference(file: &ReferenceData, stored: &ReferenceData, problems: &mut Problems) -> ReferenceData {
    problems.add("reference data", validate::reference(file));
    let mut reference = stored.clone();
    merge(&mut reference, file);
    reference
}

/// Records a duplicate organisation id.
fn duplicate(seen: &mut HashSet<String>, id: &str) -> Option<String> {
    (!seen.insert(id.to_owned()))
        .then(|| format!("OrganisationDetails.OrganisationId: duplicate organisation {id:?} in the file"))
}

/// Every problem of record `i` as the file gives it: each field's type and rule on
/// the JSON (so one wrong type hides nothing else), the duplicate id, and, once the
/// record has the right shape, roles resolved and the rules between fields.
fn check_raw(i: usize, raw: &RawValue, reference: &ReferenceData, seen: &mut HashSet<String>, out: &mut Problems) {
    let record = Record::read(i, raw);
    let prefix = record.prefix.clone();
    let mut problems: Vec<String> = record.id().and_then(|id| duplicate(seen, id)).into_iter().collect();
    let fields = validate::snapshot_fields(&record.value);
    if fields.is_empty() {
        match record.parse() {
            Ok(mut org) => problems.extend(prepare_one(&mut org, reference)),
            Err(e) => problems.push(e),
        }
    } else {
        problems.extend(fields);
    }
    out.add(&prefix, problems);
}

/// [`check_raw`] for a record already in memory.
fn check_typed(
    i: usize,
    org: &mut OrganisationSnapshot,
    reference: &ReferenceData,
    seen: &mut HashSet<String>,
    out: &mut Problems,
) {
    let id = org.id().to_owned();
    let problems: Vec<String> = duplicate(seen, &id)
        .into_iter()
        .chain(complete_claims(org, reference))
        .chain(validate::snapshot(org))
        .collect();
    out.add(&format!("record {i} ({id})"), problems);
}

/// Validates a whole in-memory file against itself and the stored reference data,
/// and resolves every claim's role. Returns the organisations ready to write.
pub fn prepare(
    file: ImportFile,
    stored: &ReferenceData,
) -> Result<(ReferenceData, Vec<OrganisationSnapshot>), ImportError> {
    let mut problems = Problems::default();
    let reference = merged_reference(&file.reference, stored, &mut problems);
    let mut seen = HashSet::new();
    let mut organisations = Vec::with_capacity(file.organisations.len());
    for (i, mut org) in file.organisations.into_iter().enumerate() {
        check_typed(i, &mut org, &reference, &mut seen, &mut problems);
        organisations.push(org);
    }
    if problems.is_empty() {
        Ok((file.reference, organisations))
    } else {
        Err(ImportError::Invalid(problems))
    }
}

fn merge(into: &mut ReferenceData, from: &ReferenceData) {
    for a in &from.authorities {
        into.authorities.retain(|x| x.authority_id != a.authority_id);
        into.authorities.push(a.clone());
    }
    for d in &from.authorisation_domains {
        into.authorisation_domains
            .retain(|x| x.authorisation_domain_id != d.authorisation_domain_id);
        into.authorisation_domains.push(d.clone());
    }
    for r in &from.authorisation_domain_roles {
        into.authorisation_domain_roles
            .retain(|x| x.authorisation_domain_role_identifier != r.authorisation_domain_role_identifier);
        into.authorisation_domain_roles.push(r.clone());
    }
}

/// Imports a published participants file (the open-data export format) on behalf of
/// `actor`: converted by [`crate::participants`] against the stored reference data,
/// then imported like any import file (every rule checked, nothing written unless all
/// is valid). Returns what was written and what had to be derived.
pub async fn import_participants_as<S: Store>(
    store: &S,
    bytes: &[u8],
    actor: &Actor,
    progress: impl FnMut(usize, usize),
) -> Result<(ImportSummary, crate::participants::Derived), ImportError> {
    let stored = store.reference().await?;
    let (file, derived) = crate::participants::to_import_file(bytes, &stored).map_err(invalid)?;
    let summary = import_as(store, &file, actor, progress).await?;
    Ok((summary, derived))
}

/// Parses, validates and writes an import file. Nothing is written unless every
/// record is valid. Two passes over the raw records (check all, then write), so memory
/// holds the input and a few organisations, not the whole directory. `progress` is
/// told after each organisation is written.
pub async fn import<S: Store>(
    store: &S,
    bytes: &[u8],
    progress: impl FnMut(usize, usize),
) -> Result<ImportSummary, ImportError> {
    import_as(store, bytes, &Actor::system("directory-cli", "import"), progress).await
}

/// [`import`] on behalf of `actor`: each organisation the import changes leaves one
/// audit record of `actor`.
pub async fn import_as<S: Store>(
    store: &S,
    bytes: &[u8],
    actor: &Actor,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportSummary, ImportError> {
    let mut raw = split(bytes)?;
    let stored = store.reference().await?;
    let mut problems = std::mem::take(&mut raw.problems);
    let reference = merged_reference(&raw.reference, &stored, &mut problems);
    let mut seen = HashSet::new();
    for (i, r) in raw.organisations.iter().enumerate() {
        check_raw(i, r, &reference, &mut seen, &mut problems);
    }
    if !problems.is_empty() {
        return Err(ImportError::Invalid(problems));
    }
    store.put_reference(&raw.reference).await?;
    let total = raw.organisations.len();
    let reference = &reference;
    // Organisations are independent partitions: several are written at once.
    let mut writes = stream::iter(raw.organisations.iter().enumerate())
        .map(|(i, r)| async move {
            let mut org = record(i, r).map_err(invalid)?;
            complete_claims(&mut org, reference);
            store
                .replace_organisation_as(&org, actor)
                .await
                .map_err(ImportError::from)
        })
        .buffer_unordered(WRITE_CONCURRENCY);
    let mut done = 0;
    while let Some(written) = writes.next().await {
        written?;
        done += 1;
        progress(done, total);
    }
    Ok(ImportSummary {
        organisations: total,
        authorities: raw.reference.authorities.len(),
        domains: raw.reference.authorisation_domains.len(),
        roles: raw.reference.authorisation_domain_roles.len(),
    })
}
