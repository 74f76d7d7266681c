//! One record of an import file: read as the file gives it (normalised, secrets
//! dropped), checked field by field and against the reference data, and known by its
//! digest between the passes.

use super::stream::{self, Visit};
use super::{ImportError, Problems, invalid};
use directory_domain::claims::{apply_role, resolve_role};
use directory_domain::model::{ImportFile, IndexedReference, OrganisationSnapshot, ReferenceData, ReferenceLookup};
use directory_domain::validate;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::HashSet;

/// The first pass: the file's reference data (leniently, with its problems) and how
/// many records it holds.
#[derive(Default)]
pub(super) struct ReferencePass {
    pub(super) members: serde_json::Map<String, Value>,
    pub(super) records: usize,
}

impl Visit for ReferencePass {
    fn member(&mut self, key: String, value: Value) {
        self.members.insert(key, value);
    }
    fn wants_records(&self) -> bool {
        false
    }
    fn record(&mut self, _: usize, _: Box<RawValue>) -> Result<(), String> {
        Ok(())
    }
    fn records(&mut self, count: usize) {
        self.records = count;
    }
}

/// The file's reference data from its top-level members, and its problems.
pub(super) fn reference_of(members: serde_json::Map<String, Value>, problems: &mut Problems) -> ReferenceData {
    let mut rest = Value::Object(members);
    let found = validate::reference_fields(&mut rest);
    if found.is_empty() {
        serde_path_to_error::deserialize(rest).unwrap_or_else(|e| {
            problems.add("reference data", vec![format!("{}: {}", e.path(), e.inner())]);
            ReferenceData::default()
        })
    } else {
        // The valid entries still count, so records are judged against them instead
        // of every claim failing for want of reference data.
        problems.add("reference data", found);
        lenient_reference(&rest)
    }
}

/// One organisation record as a file carries it, normalised (`null` is absent, an
/// integer `ApiVersion` its decimal string), with the prefix its problems get.
pub(super) struct Record {
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
            directory_domain::model::visibility::remove_secrets(statements);
        }
        let id = value
            .pointer("/OrganisationDetails/OrganisationId")
            .and_then(Value::as_str)
            .unwrap_or("?");
        // The id is the file's: shown escaped when it would move a cursor.
        let id = if validate::rules::Chars::Line.violation(id).is_some() {
            id.escape_debug().to_string()
        } else {
            id.to_owned()
        };
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
pub(super) fn lenient_reference(value: &Value) -> ReferenceData {
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

/// Parses a whole (small) import file into memory; `import` streams.
pub fn parse(bytes: &[u8]) -> Result<ImportFile, ImportError> {
    struct Collect {
        members: serde_json::Map<String, Value>,
        organisations: Vec<OrganisationSnapshot>,
        problems: Problems,
    }
    impl Visit for Collect {
        fn member(&mut self, key: String, value: Value) {
            self.members.insert(key, value);
        }
        fn wants_records(&self) -> bool {
            true
        }
        fn record(&mut self, i: usize, raw: Box<RawValue>) -> Result<(), String> {
            let record = Record::read(i, &raw);
            let prefix = record.prefix.clone();
            match record.parse() {
                Ok(org) => self.organisations.push(org),
                Err(e) => self.problems.add(&prefix, vec![e]),
            }
            Ok(())
        }
        fn records(&mut self, _: usize) {}
    }
    let mut c = Collect {
        members: serde_json::Map::new(),
        organisations: Vec::new(),
        problems: Problems::default(),
    };
    stream::scan(bytes, &mut c).map_err(invalid)?;
    let reference = reference_of(c.members, &mut c.problems);
    if c.problems.is_empty() {
        Ok(ImportFile {
            reference,
            organisations: c.organisations,
        })
    } else {
        Err(ImportError::Invalid(c.problems))
    }
}

/// Completes and checks one organisation against the (merged) reference data:
/// claims get their organisation id and their role's derived fields; returns every
/// problem, without the record prefix.
pub fn prepare_one(org: &mut OrganisationSnapshot, reference: &(impl ReferenceLookup + ?Sized)) -> Vec<String> {
    let mut problems = complete_claims(org, reference);
    problems.extend(validate::snapshot_relations(org));
    problems
}

/// Gives each claim its organisation id and its role's derived fields; the problems
/// are those of claims whose authority or role is unknown. The write pass needs
/// only this: the checks already passed.
pub(super) fn complete_claims(
    org: &mut OrganisationSnapshot,
    reference: &(impl ReferenceLookup + ?Sized),
) -> Vec<String> {
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
pub(super) fn merged_reference(file: &ReferenceData, stored: &ReferenceData, problems: &mut Problems) -> ReferenceData {
    problems.add("reference data", validate::reference(file));
    stored.merged_with(file)
}

/// Records a duplicate organisation id.
pub(super) fn duplicate(seen: &mut HashSet<String>, id: &str) -> Option<String> {
    (!seen.insert(id.to_owned()))
        .then(|| format!("OrganisationDetails.OrganisationId: duplicate organisation {id:?} in the file"))
}

/// The digest a record is known by between the check and the write pass.
pub(super) fn digest(raw: &RawValue) -> [u8; 16] {
    let full = Sha256::digest(raw.get().as_bytes());
    let mut short = [0u8; 16];
    short.copy_from_slice(&full[..16]);
    short
}

/// The second pass: every problem of every record as the file gives it (each
/// field's type and rule on the JSON, so one wrong type hides nothing else; the
/// duplicate id; and, once the record has the right shape, roles resolved and the
/// rules between fields), and each record's digest.
pub(super) struct CheckPass<'r, R: ?Sized> {
    pub(super) reference: &'r R,
    pub(super) seen: HashSet<String>,
    pub(super) problems: Problems,
    pub(super) digests: Vec<[u8; 16]>,
}

impl<R: ReferenceLookup + ?Sized> Visit for CheckPass<'_, R> {
    fn member(&mut self, _: String, _: Value) {}
    fn wants_records(&self) -> bool {
        true
    }
    fn record(&mut self, i: usize, raw: Box<RawValue>) -> Result<(), String> {
        self.digests.push(digest(&raw));
        let record = Record::read(i, &raw);
        let prefix = record.prefix.clone();
        let mut problems: Vec<String> = record
            .id()
            .and_then(|id| duplicate(&mut self.seen, id))
            .into_iter()
            .collect();
        let fields = validate::snapshot_fields(&record.value);
        if fields.is_empty() {
            match record.parse() {
                Ok(mut org) => problems.extend(prepare_one(&mut org, self.reference)),
                Err(e) => problems.push(e),
            }
        } else {
            problems.extend(fields);
        }
        self.problems.add(&prefix, problems);
        Ok(())
    }
    fn records(&mut self, _: usize) {}
}

/// [`CheckPass`] for a record already in memory.
pub(super) fn check_typed(
    i: usize,
    org: &mut OrganisationSnapshot,
    reference: &(impl ReferenceLookup + ?Sized),
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
    let index = IndexedReference::new(&reference);
    let mut seen = HashSet::new();
    let mut organisations = Vec::with_capacity(file.organisations.len());
    for (i, mut org) in file.organisations.into_iter().enumerate() {
        check_typed(i, &mut org, &index, &mut seen, &mut problems);
        organisations.push(org);
    }
    if problems.is_empty() {
        Ok((file.reference, organisations))
    } else {
        Err(ImportError::Invalid(problems))
    }
}
