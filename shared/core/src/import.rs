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
    /// The file is not valid: one line per problem, nothing written.
    #[error("{} problem(s) in the import file:\n{}", .0.len(), .0.join("\n"))]
    Invalid(Vec<String>),
    /// The store failed while writing (re-run the import to complete it).
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

fn invalid(problem: impl Into<String>) -> ImportError {
    ImportError::Invalid(vec![problem.into()])
}

/// Splits the file into reference data and raw organisation records.
pub fn split(bytes: &[u8]) -> Result<RawImport<'_>, ImportError> {
    let top: BTreeMap<String, &RawValue> =
        serde_json::from_slice(bytes).map_err(|e| invalid(format!("not a valid import file (a JSON object): {e}")))?;
    let mut problems = Vec::new();
    let mut organisations = Vec::new();
    let mut rest = serde_json::Map::new();
    for (key, raw) in top {
        if key == "Organisations" {
            match serde_json::from_str::<Option<Vec<&RawValue>>>(raw.get()) {
                Ok(list) => organisations = list.unwrap_or_default(),
                Err(_) => problems.push("Organisations: must be an array".to_owned()),
            }
        } else {
            let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
            rest.insert(key, value);
        }
    }
    let reference: ReferenceData = match serde_path_to_error::deserialize(Value::Object(rest)) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("reference data: {}: {}", e.path(), e.inner()));
            ReferenceData::default()
        }
    };
    if problems.is_empty() {
        Ok(RawImport {
            reference,
            organisations,
        })
    } else {
        Err(ImportError::Invalid(problems))
    }
}

/// Parses record `i`, naming the record and the JSON path of a type error.
pub fn record(i: usize, raw: &RawValue) -> Result<OrganisationSnapshot, String> {
    let value: Value = serde_json::from_str(raw.get()).map_err(|e| format!("record {i} (?): {e}"))?;
    let id = value
        .pointer("/OrganisationDetails/OrganisationId")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    serde_path_to_error::deserialize::<_, OrganisationSnapshot>(value)
        .map_err(|e| format!("record {i} ({id}): {}: {}", e.path(), e.inner()))
}

/// Parses the whole import file into memory (small files; `import` streams).
pub fn parse(bytes: &[u8]) -> Result<ImportFile, ImportError> {
    let raw = split(bytes)?;
    let mut problems = Vec::new();
    let mut organisations = Vec::with_capacity(raw.organisations.len());
    for (i, r) in raw.organisations.iter().enumerate() {
        match record(i, r) {
            Ok(org) => organisations.push(org),
            Err(e) => problems.push(e),
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
    problems.extend(validate::snapshot(org));
    problems
}

/// The stored reference data with the file's on top (the file wins for the same ids),
/// and the file's own reference problems.
fn merged_reference(file: &ReferenceData, stored: &ReferenceData) -> (ReferenceData, Vec<String>) {
    let problems = validate::reference(file)
        .into_iter()
        .map(|p| format!("reference data: {p}"))
        .collect();
    let mut reference = stored.clone();
    merge(&mut reference, file);
    (reference, problems)
}

/// Records a duplicate organisation id.
fn duplicate(seen: &mut HashSet<String>, id: &str) -> Option<String> {
    (!seen.insert(id.to_owned()))
        .then(|| format!("OrganisationDetails.OrganisationId: duplicate organisation {id:?} in the file"))
}

/// The one check of record `i` (both the in-memory and the streaming import use
/// it): duplicate id, roles resolved and applied, every rule. At most 50 problems
/// (then "and N more"), each prefixed `record <i> (<OrganisationId>): `.
fn check_record(
    i: usize,
    org: &mut OrganisationSnapshot,
    reference: &ReferenceData,
    seen: &mut HashSet<String>,
) -> Vec<String> {
    let id = org.id().to_owned();
    let problems: Vec<String> = duplicate(seen, &id)
        .into_iter()
        .chain(prepare_one(org, reference))
        .collect();
    crate::error::cap_messages(problems)
        .into_iter()
        .map(|p| format!("record {i} ({id}): {p}"))
        .collect()
}

/// Validates a whole in-memory file against itself and the stored reference data,
/// and resolves every claim's role. Returns the organisations ready to write.
pub fn prepare(
    file: ImportFile,
    stored: &ReferenceData,
) -> Result<(ReferenceData, Vec<OrganisationSnapshot>), ImportError> {
    let (reference, mut problems) = merged_reference(&file.reference, stored);
    let mut seen = HashSet::new();
    let mut organisations = Vec::with_capacity(file.organisations.len());
    for (i, mut org) in file.organisations.into_iter().enumerate() {
        problems.extend(check_record(i, &mut org, &reference, &mut seen));
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
    let raw = split(bytes)?;
    let stored = store.reference().await?;
    let (reference, mut problems) = merged_reference(&raw.reference, &stored);
    let mut seen = HashSet::new();
    for (i, r) in raw.organisations.iter().enumerate() {
        match record(i, r) {
            Ok(mut org) => problems.extend(check_record(i, &mut org, &reference, &mut seen)),
            Err(e) => problems.push(e),
        }
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
            let mut org = record(i, r).map_err(|e| ImportError::Invalid(vec![e]))?;
            prepare_one(&mut org, reference);
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
