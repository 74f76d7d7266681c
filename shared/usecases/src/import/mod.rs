//! Import of the import format (docs/design.md): validate everything first, then write.
//! An invalid file writes nothing; re-importing the same file is idempotent. The
//! file is read as a stream, three times (reference data, checks, writes), so memory
//! holds a few organisations and a digest per record, never the file.

mod problems;
mod records;
mod source;
pub mod stream;

pub use problems::{MAX_PROBLEM_LINES, Problems};
use records::{CheckPass, ReferencePass, complete_claims, digest, merged_reference, reference_of};
pub use records::{parse, prepare, prepare_one, record};
pub use source::ImportSource;

pub use stream::FileSource;

use crate::ports::{ReferenceStore, StoreError};
use crate::writes::DirectoryWrites;
use directory_domain::audit::Actor;
use directory_domain::model::IndexedReference;
use futures_util::StreamExt;
use serde_json::Value;
use serde_json::value::RawValue;
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
