//! Import of the import format (docs/design.md): validate everything first, then write.
//! An invalid file writes nothing; re-importing the same file is idempotent. The
//! file is read as a stream, three times (reference data, checks, writes), so memory
//! holds a few organisations and a digest per record, never the file.

pub mod stream;

pub use stream::FileSource;

use crate::ports::{ReferenceStore, StoreError};
use crate::writes::DirectoryWrites;
use directory_domain::audit::Actor;
use directory_domain::claims::{apply_role, resolve_role};
use directory_domain::model::{ImportFile, IndexedReference, OrganisationSnapshot, ReferenceData, ReferenceLookup};
use directory_domain::validate;
use futures_util::StreamExt;
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use stream::Visit;

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

/// Most problem lines an import reports; past them problems are only counted, so
/// the output of a hostile file stays small whatever it holds.
pub const MAX_PROBLEM_LINES: usize = 1000;

/// Every problem of an import file: one line each (at most 50 per record, then an
/// `and N more` line; at most [`MAX_PROBLEM_LINES`] in all), and the true counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Problems {
    /// `record <index> (<OrganisationId>): <field path>: <rule>`, or a file-level problem.
    pub lines: Vec<String>,
    /// How many problems there are, those past the caps included.
    pub total: usize,
    /// How many records (or the reference data) have problems.
    pub records: usize,
    /// Lines left out past [`MAX_PROBLEM_LINES`].
    pub omitted: usize,
}

impl Problems {
    fn file(line: String) -> Self {
        Self {
            lines: vec![line],
            total: 1,
            records: 1,
            omitted: 0,
        }
    }

    /// Adds the problems of one record (or of the reference data, `prefix`),
    /// capped at 50 lines, and at [`MAX_PROBLEM_LINES`] over the whole file.
    fn add(&mut self, prefix: &str, problems: Vec<String>) {
        if problems.is_empty() {
            return;
        }
        self.total += problems.len();
        self.records += 1;
        for line in directory_domain::messages::cap_messages(problems) {
            if self.lines.len() < MAX_PROBLEM_LINES {
                self.lines.push(format!("{prefix}: {line}"));
            } else {
                self.omitted += 1;
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The closing line: `N problems in M records; nothing written`.
    pub fn summary(&self) -> String {
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let omitted = if self.omitted > 0 {
            format!(" ({} more lines not shown)", self.omitted)
        } else {
            String::new()
        };
        format!(
            "{} in {}{omitted}; nothing written",
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

fn invalid(problem: impl Into<String>) -> ImportError {
    ImportError::Invalid(Problems::file(problem.into()))
}

/// The first pass: the file's reference data (leniently, with its problems) and how
/// many records it holds.
#[derive(Default)]
struct ReferencePass {
    members: serde_json::Map<String, Value>,
    records: usize,
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
fn reference_of(members: serde_json::Map<String, Value>, problems: &mut Problems) -> ReferenceData {
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
fn complete_claims(org: &mut OrganisationSnapshot, reference: &(impl ReferenceLookup + ?Sized)) -> Vec<String> {
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
    stored.merged_with(file)
}

/// Records a duplicate organisation id.
fn duplicate(seen: &mut HashSet<String>, id: &str) -> Option<String> {
    (!seen.insert(id.to_owned()))
        .then(|| format!("OrganisationDetails.OrganisationId: duplicate organisation {id:?} in the file"))
}

/// The digest a record is known by between the check and the write pass.
fn digest(raw: &RawValue) -> [u8; 16] {
    let full = Sha256::digest(raw.get().as_bytes());
    let mut short = [0u8; 16];
    short.copy_from_slice(&full[..16]);
    short
}

/// The second pass: every problem of every record as the file gives it (each
/// field's type and rule on the JSON, so one wrong type hides nothing else; the
/// duplicate id; and, once the record has the right shape, roles resolved and the
/// rules between fields), and each record's digest.
struct CheckPass<'r, R: ?Sized> {
    reference: &'r R,
    seen: HashSet<String>,
    problems: Problems,
    digests: Vec<[u8; 16]>,
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
fn check_typed(
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

/// What an import reads: bytes in memory, or a file on disk (read once per pass).
#[derive(Debug, Clone)]
pub enum ImportSource {
    Bytes(std::sync::Arc<[u8]>),
    File(std::path::PathBuf),
}

impl ImportSource {
    /// A reader from the first byte.
    pub fn open(&self) -> std::io::Result<Box<dyn std::io::Read + Send + '_>> {
        match self {
            Self::Bytes(b) => Ok(Box::new(&b[..])),
            Self::File(path) => {
                let file = std::fs::File::open(path)?;
                Ok(Box::new(std::io::BufReader::with_capacity(256 * 1024, file)))
            }
        }
    }

    /// What it is, for messages.
    fn name(&self) -> String {
        match self {
            Self::Bytes(b) => format!("{} bytes", b.len()),
            Self::File(path) => path.display().to_string(),
        }
    }
}

impl From<&[u8]> for ImportSource {
    fn from(bytes: &[u8]) -> Self {
        Self::Bytes(bytes.into())
    }
}

impl From<&Vec<u8>> for ImportSource {
    fn from(bytes: &Vec<u8>) -> Self {
        Self::Bytes(bytes.as_slice().into())
    }
}

impl From<Vec<u8>> for ImportSource {
    fn from(bytes: Vec<u8>) -> Self {
        Self::Bytes(bytes.into())
    }
}

impl From<FileSource> for ImportSource {
    fn from(file: FileSource) -> Self {
        Self::File(file.0)
    }
}

/// Imports a published participants file (the open-data export format) on behalf of
/// `actor`: converted by [`directory_domain::participants`] against the stored reference data
/// into a temporary import file (a stream in, a stream out), then imported like any
/// import file (every rule checked, nothing written unless all is valid). Returns what
/// was written and what had to be derived.
pub async fn import_participants_as<S: ReferenceStore + DirectoryWrites>(
    store: &S,
    source: impl Into<ImportSource>,
    actor: &Actor,
    progress: impl FnMut(usize, usize),
) -> Result<(ImportSummary, directory_domain::participants::Derived), ImportError> {
    let source = source.into();
    let stored = store.reference().await?;
    let converted = tempfile::NamedTempFile::new().map_err(|e| invalid(format!("a temporary file: {e}")))?;
    let reader = source.open().map_err(|e| invalid(format!("{}: {e}", source.name())))?;
    let writer = std::io::BufWriter::with_capacity(256 * 1024, converted.as_file());
    let derived = directory_domain::participants::to_import_file(reader, &stored, writer).map_err(invalid)?;
    let summary = import_as(store, FileSource(converted.path().to_owned()), actor, progress).await?;
    Ok((summary, derived))
}

/// Parses, validates and writes an import file. Nothing is written unless every
/// record is valid. `progress` is told after each organisation is written.
pub async fn import<S: ReferenceStore + DirectoryWrites>(
    store: &S,
    source: impl Into<ImportSource>,
    progress: impl FnMut(usize, usize),
) -> Result<ImportSummary, ImportError> {
    import_as(store, source, &Actor::system("directory-cli", "import"), progress).await
}

/// Records handed from the reading thread to the writes at once (bounded: the
/// reader waits for the writes, memory holds a few records).
const RECORDS_IN_FLIGHT: usize = 32;

/// The third pass's reader: each record, checked against the digest the check pass
/// saw, sent to the writes.
struct SendPass {
    digests: Vec<[u8; 16]>,
    records: tokio::sync::mpsc::Sender<(usize, Box<RawValue>)>,
}

impl Visit for SendPass {
    fn member(&mut self, _: String, _: Value) {}
    fn wants_records(&self) -> bool {
        true
    }
    fn record(&mut self, i: usize, raw: Box<RawValue>) -> Result<(), String> {
        if self.digests.get(i) != Some(&digest(&raw)) {
            return Err(format!(
                "record {i} is not the record that was checked: the file changed while it was imported; run the import again"
            ));
        }
        self.records
            .blocking_send((i, raw))
            .map_err(|_| "the writes stopped".to_owned())
    }
    fn records(&mut self, count: usize) {
        if count != self.digests.len() {
            // Reported by the reader's result below (a record it did not check).
            self.digests.clear();
        }
    }
}

/// [`import`] on behalf of `actor`: each organisation the import changes leaves one
/// audit record of `actor`. Three passes over the source: the reference data, the
/// checks (every problem, nothing written if any), and the writes, whose records
/// are read on a thread of their own and each matched to the digest its check saw.
pub async fn import_as<S: ReferenceStore + DirectoryWrites>(
    store: &S,
    source: impl Into<ImportSource>,
    actor: &Actor,
    mut progress: impl FnMut(usize, usize),
) -> Result<ImportSummary, ImportError> {
    let source = source.into();
    let open = || source.open().map_err(|e| invalid(format!("{}: {e}", source.name())));
    let mut first = ReferencePass::default();
    stream::scan(open()?, &mut first).map_err(invalid)?;
    let mut problems = Problems::default();
    let file_reference = reference_of(first.members, &mut problems);
    let stored = store.reference().await?;
    let reference = merged_reference(&file_reference, &stored, &mut problems);
    let index = IndexedReference::new(&reference);
    let mut check = CheckPass {
        reference: &index,
        seen: HashSet::new(),
        problems,
        digests: Vec::with_capacity(first.records),
    };
    stream::scan(open()?, &mut check).map_err(invalid)?;
    if !check.problems.is_empty() {
        return Err(ImportError::Invalid(check.problems));
    }
    let total = check.digests.len();
    let digests = check.digests;
    store.put_reference(&file_reference).await?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel(RECORDS_IN_FLIGHT);
    let reader_source = source.clone();
    let reader = std::thread::spawn(move || {
        let reader = reader_source.open().map_err(|e| e.to_string())?;
        let mut pass = SendPass {
            digests,
            records: sender,
        };
        stream::scan(reader, &mut pass)?;
        if pass.digests.len() != total {
            return Err("the file changed while it was imported; run the import again".to_owned());
        }
        Ok::<(), String>(())
    });
    let records = futures_util::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    // Organisations are independent partitions: several are written at once.
    let mut writes = records
        .map(|(i, raw)| {
            let index = &index;
            async move {
                let mut org = record(i, &raw).map_err(invalid)?;
                complete_claims(&mut org, index);
                store
                    .replace_organisation_as(&org, actor)
                    .await
                    .map_err(ImportError::from)
            }
        })
        .buffer_unordered(WRITE_CONCURRENCY);
    let mut done = 0;
    let mut failed = None;
    while let Some(written) = writes.next().await {
        if let Err(e) = written {
            failed = Some(e);
            break;
        }
        done += 1;
        progress(done, total);
    }
    // Dropping the writes closes the channel, so a reader still sending stops.
    drop(writes);
    let read = reader
        .join()
        .unwrap_or_else(|_| Err("the reading thread stopped".to_owned()));
    if let Some(e) = failed {
        return Err(e);
    }
    read.map_err(invalid)?;
    Ok(ImportSummary {
        organisations: total,
        authorities: file_reference.authorities.len(),
        domains: file_reference.authorisation_domains.len(),
        roles: file_reference.authorisation_domain_roles.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_that_changed_after_its_check_is_not_sent_to_the_writes() {
        let checked: Box<RawValue> = serde_json::from_str(r#"{"OrganisationDetails":{"OrganisationId":"a"}}"#).unwrap();
        let changed: Box<RawValue> = serde_json::from_str(r#"{"OrganisationDetails":{"OrganisationId":"b"}}"#).unwrap();
        let (sender, mut receiver) = tokio::sync::mpsc::channel(4);
        let mut pass = SendPass {
            digests: vec![digest(&checked)],
            records: sender,
        };
        pass.record(0, checked).unwrap();
        let err = pass.record(0, changed.clone()).unwrap_err();
        assert!(err.contains("the file changed while it was imported"), "{err}");
        assert!(pass.record(1, changed).is_err(), "a record the check never saw");
        assert_eq!(receiver.try_recv().unwrap().0, 0);
        assert!(receiver.try_recv().is_err(), "only the checked record was sent");
    }

    #[test]
    fn the_output_is_capped_and_the_counts_are_true() {
        let mut p = Problems::default();
        for i in 0..5_000 {
            p.add(&format!("record {i} (x)"), vec!["a: b".into(), "c: d".into()]);
        }
        assert_eq!(p.lines.len(), MAX_PROBLEM_LINES);
        assert_eq!((p.total, p.records, p.omitted), (10_000, 5_000, 9_000));
        assert_eq!(
            p.summary(),
            "10000 problems in 5000 records (9000 more lines not shown); nothing written"
        );
    }
}
