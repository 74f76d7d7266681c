//! Import of the DESIGN.md import format: validate everything first, then write.
//! An invalid file writes nothing; re-importing the same file is idempotent.

use crate::model::{AuthorityClaim, DomainRole, ImportFile, OrganisationSnapshot, ReferenceData};
use crate::store::{Store, StoreError};
use crate::validate;
use futures_util::{StreamExt, stream};
use serde_json::Value;

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

/// Parses the import file, naming the JSON path of a type error.
pub fn parse(bytes: &[u8]) -> Result<ImportFile, ImportError> {
    let value: Value =
        serde_json::from_slice(bytes).map_err(|e| ImportError::Invalid(vec![format!("not valid JSON: {e}")]))?;
    let Value::Object(mut top) = value else {
        return Err(ImportError::Invalid(vec![
            "the import file must be a JSON object".to_owned(),
        ]));
    };
    let mut problems = Vec::new();
    // Each organisation is parsed alone so one bad record names itself.
    let raw_orgs = match top.remove("Organisations") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a,
        Some(_) => {
            problems.push("Organisations: must be an array".to_owned());
            Vec::new()
        }
    };
    let reference: ReferenceData = match serde_path_to_error::deserialize(Value::Object(top)) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("reference data: {}: {}", e.path(), e.inner()));
            ReferenceData::default()
        }
    };
    let mut organisations = Vec::with_capacity(raw_orgs.len());
    for (i, raw) in raw_orgs.into_iter().enumerate() {
        let id = raw
            .pointer("/OrganisationDetails/OrganisationId")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        match serde_path_to_error::deserialize::<_, OrganisationSnapshot>(raw) {
            Ok(s) => organisations.push(s),
            Err(e) => problems.push(format!("record {i} ({id}): {}: {}", e.path(), e.inner())),
        }
    }
    if problems.is_empty() {
        Ok(ImportFile {
            reference,
            organisations,
        })
    } else {
        Err(ImportError::Invalid(problems))
    }
}

/// Resolves a claim's role from reference data: by `AuthorisationDomainRoleIdentifier`
/// or, deprecated, by the `AuthorisationDomain` + `Role` names. Both given must agree.
pub fn resolve_role<'r>(
    reference: &'r ReferenceData,
    role_id: Option<&str>,
    domain_name: Option<&str>,
    role_name: Option<&str>,
) -> Result<Option<&'r DomainRole>, String> {
    let by_id = match role_id {
        Some(id) => Some(
            reference
                .role(id)
                .ok_or_else(|| format!("AuthorisationDomainRoleIdentifier: {id:?} is not a known role"))?,
        ),
        None => None,
    };
    let by_names = match (domain_name, role_name) {
        (Some(d), Some(r)) => Some(
            reference
                .role_by_names(d, r)
                .ok_or_else(|| format!("AuthorisationDomain/Role: no role {r:?} in the authorisation domain {d:?}"))?,
        ),
        (None, None) => None,
        _ if by_id.is_some() => None,
        _ => return Err("AuthorisationDomain and Role must be given together".to_owned()),
    };
    match (by_id, by_names) {
        (Some(a), Some(b)) if a.authorisation_domain_role_identifier != b.authorisation_domain_role_identifier => {
            Err("AuthorisationDomainRoleIdentifier disagrees with AuthorisationDomain/Role".to_owned())
        }
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// Fills a claim's derived fields from its role (the one place this is done).
pub fn apply_role(claim: &mut AuthorityClaim, reference: &ReferenceData, role: &DomainRole) {
    claim.authorisation_domain_role_identifier = Some(role.authorisation_domain_role_identifier.clone());
    claim.authorisation_domain_id = Some(role.authorisation_domain_id.clone());
    claim.authorisation_domain = reference
        .domain(&role.authorisation_domain_id)
        .map(|d| d.authorisation_domain_name.clone());
    claim.role = Some(role.role.clone());
    claim.role_type = role.role_type.clone();
    claim.exclusive = Some(role.exclusive);
    claim.metadata = role.metadata.clone();
}

/// Validates the whole file against itself and the stored reference data, and
/// resolves every claim's role. Returns the organisations ready to write.
pub fn prepare(
    file: ImportFile,
    stored: &ReferenceData,
) -> Result<(ReferenceData, Vec<OrganisationSnapshot>), ImportError> {
    let mut problems: Vec<String> = validate::reference(&file.reference)
        .into_iter()
        .map(|p| format!("reference data: {p}"))
        .collect();
    // The file's reference data wins over the stored one for the same ids.
    let mut reference = stored.clone();
    merge(&mut reference, &file.reference);

    let mut seen = std::collections::HashSet::new();
    let mut organisations = Vec::with_capacity(file.organisations.len());
    for (i, mut org) in file.organisations.into_iter().enumerate() {
        let id = org.id().to_owned();
        let mut record = Vec::new();
        if !seen.insert(id.clone()) {
            record.push(format!(
                "OrganisationDetails.OrganisationId: duplicate organisation {id:?} in the file"
            ));
        }
        for claim in org.org_domain_role_claims.iter_mut() {
            claim.organisation_id.get_or_insert_with(|| id.clone());
        }
        for (j, claim) in org.org_domain_role_claims.iter_mut().enumerate() {
            if reference.authority(&claim.authority_id).is_none() {
                record.push(format!(
                    "OrgDomainRoleClaims[{j}].AuthorityId: {:?} is not a known authority",
                    claim.authority_id
                ));
            }
            match resolve_role(
                &reference,
                claim.authorisation_domain_role_identifier.as_deref(),
                claim.authorisation_domain.as_deref(),
                claim.role.as_deref(),
            ) {
                Ok(Some(role)) => apply_role(claim, &reference, role),
                Ok(None) => record.push(format!("OrgDomainRoleClaims[{j}]: a role is required (AuthorisationDomainRoleIdentifier, or AuthorisationDomain and Role)")),
                Err(e) => record.push(format!("OrgDomainRoleClaims[{j}].{e}")),
            }
        }
        record.extend(validate::snapshot(&org));
        problems.extend(record.into_iter().map(|p| format!("record {i} ({id}): {p}")));
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
/// record is valid. `progress` is told after each organisation is written.
pub async fn import<S: Store>(
    store: &S,
    bytes: &[u8],
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportSummary, ImportError> {
    let file = parse(bytes)?;
    let stored = store.reference().await?;
    let (reference, organisations) = prepare(file, &stored)?;
    store.put_reference(&reference).await?;
    let total = organisations.len();
    // Organisations are independent partitions: write several at once. (Futures are
    // collected first so the stream type holds no higher-ranked closure.)
    let writes: Vec<_> = organisations
        .iter()
        .map(|org| store.replace_organisation(org))
        .collect();
    let mut writes = stream::iter(writes).buffer_unordered(WRITE_CONCURRENCY);
    let mut done = 0;
    while let Some(written) = writes.next().await {
        written?;
        done += 1;
        progress(done, total);
    }
    Ok(ImportSummary {
        organisations: total,
        authorities: reference.authorities.len(),
        domains: reference.authorisation_domains.len(),
        roles: reference.authorisation_domain_roles.len(),
    })
}
