//! Revisions and the changes feed (docs/design.md, "Revisions and the changes feed"):
//! what a revision records, the canonical public record of an organisation (exactly
//! the object the participants file holds for it), the page a reader gets, and a
//! mirror that applies pages to a file. Pure: the sequencer that assigns revisions is
//! a use case, the items are the adapters'.
//!
//! The invariant everything here serves: the file at revision A, with the changes
//! after A applied in order, is the file at revision B byte for byte.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

use crate::model::{ExportOrganisation, OrganisationSnapshot};

/// A page's size when the reader names none, and the most it may name.
pub const DEFAULT_LIMIT: u64 = 100;
/// See [`DEFAULT_LIMIT`].
pub const MAX_LIMIT: u64 = 100;
/// Record bytes after which a page stops (it always carries at least one change), so
/// a page stays far inside a Lambda response (6 MB) whatever the records' sizes.
pub const PAGE_BYTES: usize = 2 * 1024 * 1024;
/// How long revisions are kept unless configured (days; the template's parameter).
pub const DEFAULT_RETENTION_DAYS: u32 = 35;
/// The variable that configures it (the template sets it from its parameter).
pub const RETENTION_ENV: &str = "FEED_RETENTION_DAYS";

/// The retention from [`RETENTION_ENV`], or the default.
pub fn retention_from_env() -> u32 {
    crate::days_from_env(RETENTION_ENV, DEFAULT_RETENTION_DAYS)
}
/// How long a superseded public record is kept, so an export under way can read the
/// record of the revision it states (longer than any export may run: 15 minutes).
pub const SUPERSEDED_KEEP_SECS: i64 = 3600;
/// Organisations the sequencer puts in one transaction at most (each costs up to four
/// items of DynamoDB's hundred: record, superseded record, feed entry, outbox items).
pub const BATCH_ORGANISATIONS: usize = 20;
/// The JWS `typ` of a changes page's detached signature.
pub const CHANGES_TYP: &str = "participants-changes+jws";
/// The response header naming the revision a file or page reflects.
pub const REVISION_HEADER: &str = "x-directory-revision";

/// A revision: a directory-wide number that only grows. Revision 0 is the empty
/// directory before any change.
pub type Revision = u64;

/// An organisation's public record as the file holds it: its exact JSON bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record(pub String);

impl Record {
    /// The record of a public snapshot, serialised as the export serialises it.
    pub fn of(snapshot: OrganisationSnapshot) -> Record {
        // A struct of strings, numbers, maps and vectors always serialises.
        Record(serde_json::to_string(&ExportOrganisation::from(snapshot)).unwrap_or_default())
    }

    /// SHA-256 of its bytes (lowercase hex): what tells the sequencer that a write
    /// changed nothing public.
    pub fn sha256(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// What one revision did to one organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub revision: Revision,
    pub organisation_id: String,
    /// Its record from this revision on; `None`: it left the directory.
    pub record: Option<Record>,
    /// When the sequencer committed it (Unix seconds).
    pub at: i64,
    /// What it did, as change events (derived from the record before and after it).
    pub events: Vec<crate::events::ChangeEvent>,
}

/// The head of the feed as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Head {
    /// The last revision (0: none yet).
    pub revision: Revision,
    /// When it was committed (Unix seconds); revisions' times never go back.
    pub at: i64,
    /// Whether every organisation stored before the feed existed has been queued for
    /// its first revision (a directory upgraded to the feed is seeded once).
    #[serde(default)]
    pub seeded: bool,
    /// Sequencer commits that wrote it: the next commit is conditioned on it.
    #[serde(default)]
    pub commits: u64,
}

/// An organisation's current public record as the sequencer keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Current {
    pub organisation_id: String,
    /// The revision that set it.
    pub revision: Revision,
    /// SHA-256 of the record (empty for a removal).
    pub sha256: String,
    /// `None`: removed at `revision` (kept for [`SUPERSEDED_KEEP_SECS`], then gone).
    pub record: Option<Record>,
}

/// One change of a page, as sent.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Change {
    pub revision: Revision,
    pub organisation_id: String,
    /// The record the file holds for the organisation from this revision on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<Box<RawValue>>,
    /// Present (true) when the organisation left the directory.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
}

/// A page of the changes feed, as sent (`GET /participants/changes`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Page {
    /// The revision the page starts after (the request's `since`).
    pub since: Revision,
    /// The last revision the page covers: the reader's next `since`.
    pub revision: Revision,
    /// Whether later revisions exist beyond this page.
    pub more: bool,
    /// For each organisation changed after `since` up to `revision`, its latest
    /// change in that range, in revision order.
    pub changes: Vec<Change>,
}

impl Page {
    /// The page of `entries` (revisions `since + 1 ..= revision`, contiguous, in
    /// order): each organisation's latest entry only, in revision order.
    pub fn of(since: Revision, entries: &[Entry], more: bool) -> Result<Page, String> {
        let revision = entries.last().map_or(since, |e| e.revision);
        let mut latest: BTreeMap<&str, &Entry> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.revision != since + 1 + i as u64 {
                return Err(format!(
                    "revision {} where {} was due: the entries are not contiguous",
                    e.revision,
                    since + 1 + i as u64
                ));
            }
            latest.insert(&e.organisation_id, e);
        }
        let mut kept: Vec<&Entry> = latest.into_values().collect();
        kept.sort_by_key(|e| e.revision);
        let changes = kept
            .into_iter()
            .map(|e| {
                let organisation = match &e.record {
                    Some(r) => Some(
                        RawValue::from_string(r.0.clone())
                            .map_err(|err| format!("the record of revision {} is not JSON: {err}", e.revision))?,
                    ),
                    None => None,
                };
                Ok(Change {
                    revision: e.revision,
                    organisation_id: e.organisation_id.clone(),
                    removed: organisation.is_none(),
                    organisation,
                })
            })
            .collect::<Result<_, String>>()?;
        Ok(Page {
            since,
            revision,
            more,
            changes,
        })
    }

    /// The page's bytes: what is sent and signed.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Numbers, strings, booleans and raw JSON always serialise.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The strong entity tag of a page: what it covers, so a poll that would get the same
/// bytes gets `304` after reading nothing but the revisions it asked about.
pub fn page_etag(since: Revision, revision: Revision, more: bool) -> String {
    format!("\"{since}-{revision}-{}\"", u8::from(more))
}

/// The organisation id of a record (its first field, as the file writes it).
fn organisation_id_of(record: &RawValue) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Id {
        #[serde(rename = "OrganisationId")]
        id: String,
    }
    serde_json::from_str::<Id>(record.get())
        .map(|i| i.id)
        .map_err(|e| format!("an entry without OrganisationId: {e}"))
}

/// A copy of the participants file kept current by applying pages: what a relying
/// party holds (the `sync` command, the tests' consumer, the explorer's logic).
#[derive(Debug, Default)]
pub struct Mirror {
    /// The revision the copy reflects.
    pub revision: Revision,
    /// Organisation id → record, in the file's order (ids in byte order).
    pub records: BTreeMap<String, Box<RawValue>>,
}

impl Mirror {
    /// The copy of a file stating `revision`.
    pub fn from_file(bytes: &[u8], revision: Revision) -> Result<Mirror, String> {
        let entries: Vec<Box<RawValue>> =
            serde_json::from_slice(bytes).map_err(|e| format!("the file is not a JSON array: {e}"))?;
        let mut records = BTreeMap::new();
        for record in entries {
            let id = organisation_id_of(&record)?;
            if records.insert(id.clone(), record).is_some() {
                return Err(format!("the file holds {id} twice"));
            }
        }
        Ok(Mirror { revision, records })
    }

    /// Applies a page asked for `since` this copy's revision; refused (and nothing
    /// applied) when it starts elsewhere or goes back.
    pub fn apply(&mut self, page: Page) -> Result<(), String> {
        if page.since != self.revision || page.revision < page.since {
            return Err(format!(
                "a page from {} to {} does not follow revision {}",
                page.since, page.revision, self.revision
            ));
        }
        for change in &page.changes {
            if change.revision <= page.since || change.revision > page.revision {
                return Err(format!("change {} lies outside its page", change.revision));
            }
            if let Some(record) = &change.organisation
                && organisation_id_of(record)? != change.organisation_id
            {
                return Err(format!(
                    "change {} names another organisation's record",
                    change.revision
                ));
            }
        }
        for change in page.changes {
            match change.organisation {
                Some(record) => self.records.insert(change.organisation_id, record),
                None => self.records.remove(&change.organisation_id),
            };
        }
        self.revision = page.revision;
        Ok(())
    }

    /// The file this copy holds, byte for byte as the export writes it.
    pub fn file_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.records.values().map(|r| r.get().len() + 1).sum::<usize>() + 2);
        out.push(b'[');
        for (i, record) in self.records.values().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(record.get().as_bytes());
        }
        out.push(b']');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(revision: u64, org: &str, body: Option<&str>) -> Entry {
        Entry {
            revision,
            organisation_id: org.into(),
            record: body.map(|b| Record(format!(r#"{{"OrganisationId":"{org}","Name":"{b}"}}"#))),
            at: 0,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_page_keeps_each_organisations_latest_change_in_revision_order() {
        let entries = [
            entry(6, "b", Some("1")),
            entry(7, "a", Some("1")),
            entry(8, "b", Some("2")),
            entry(9, "c", None),
        ];
        let page = Page::of(5, &entries, true).unwrap();
        let text = String::from_utf8(page.to_bytes()).unwrap();
        assert_eq!(
            text,
            r#"{"Since":5,"Revision":9,"More":true,"Changes":[{"Revision":7,"OrganisationId":"a","Organisation":{"OrganisationId":"a","Name":"1"}},{"Revision":8,"OrganisationId":"b","Organisation":{"OrganisationId":"b","Name":"2"}},{"Revision":9,"OrganisationId":"c","Removed":true}]}"#
        );
        assert!(Page::of(5, &entries[1..], false).is_err(), "a gap is refused");
        assert_eq!(Page::of(5, &[], false).unwrap().revision, 5);
    }

    #[test]
    fn a_mirror_applies_pages_to_the_file_byte_for_byte() {
        let file = br#"[{"OrganisationId":"a","Name":"0"},{"OrganisationId":"c","Name":"0"}]"#;
        let mut mirror = Mirror::from_file(file, 5).unwrap();
        assert_eq!(mirror.file_bytes(), file);
        let page = Page::of(5, &[entry(6, "b", Some("1")), entry(7, "c", None)], false).unwrap();
        let bytes = page.to_bytes();
        mirror.apply(serde_json::from_slice(&bytes).unwrap()).unwrap();
        assert_eq!(
            mirror.file_bytes(),
            br#"[{"OrganisationId":"a","Name":"0"},{"OrganisationId":"b","Name":"1"}]"#
        );
        assert_eq!(mirror.revision, 7);
        // A page that does not follow is refused, and changes nothing.
        let stale = Page::of(5, &[entry(6, "a", None)], false).unwrap();
        assert!(mirror.apply(stale).is_err());
        assert_eq!(mirror.records.len(), 2);
    }

    #[test]
    fn a_change_carrying_another_organisations_record_is_refused() {
        let mut mirror = Mirror::default();
        let mut page = Page::of(0, &[entry(1, "a", Some("1"))], false).unwrap();
        page.changes[0].organisation_id = "b".into();
        assert!(mirror.apply(page).is_err());
        assert!(mirror.records.is_empty() && mirror.revision == 0);
    }

    #[test]
    fn etags_name_what_the_page_covers() {
        assert_eq!(page_etag(3, 9, true), "\"3-9-1\"");
        assert_ne!(page_etag(3, 9, true), page_etag(3, 9, false));
    }
}
