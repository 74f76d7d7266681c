//! The reference consumer of the participants file and the changes feed (`sync`):
//! keeps a local copy current with the file once, then one small signed request per
//! poll. Every byte it applies is verified first (the file against its detached JWS,
//! each page against its `x-jws-signature`, both with the published keys); anything
//! that does not verify, or does not follow the copy's revision, is refused and
//! nothing of it is applied. A `410` (the copy is older than what the feed keeps)
//! starts again from the file.

use crate::fetch::Fetch;
use directory_domain::feed::{CHANGES_TYP, Mirror, Page, Revision};
use directory_domain::signature::{self, Jwks, VerifyError};
use directory_usecases::clock::now;
use std::path::{Path, PathBuf};

/// The most a page may weigh (pages stop at 2 MiB of records plus one).
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// The most the file may weigh.
const MAX_FILE_BYTES: usize = 4 * 1024 * 1024 * 1024;
/// The most a key set may weigh.
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Where the directory publishes.
#[derive(Debug, Clone)]
pub struct Source {
    /// Where `participants`, `participants.jws` and `participants.jwks` are.
    pub files: String,
    /// Where `/participants/changes` is.
    pub api: String,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Synced {
    /// The revision the copy reflects now.
    pub revision: Revision,
    /// Organisations in the copy.
    pub organisations: usize,
    /// Change pages applied.
    pub pages: usize,
    /// Changes applied.
    pub changes: usize,
    /// Whether the whole file was downloaded.
    pub downloaded_file: bool,
    /// Bytes received (bodies).
    pub bytes: u64,
}

/// Why a run stopped; the copy is left as it was before the failing step.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Fetch(String),
    #[error("refused: {0}; nothing was applied")]
    Refused(String),
    /// Signed by a key the published key set does not hold yet (a rotation: the next
    /// export, which the directory starts at once, publishes it); nothing applied.
    #[error("signed by key {0}, not yet in the published keys; nothing was applied, try again in a few seconds")]
    KeyNotPublished(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// The local copy: the file and the revision it reflects, written file first (a copy
/// whose revision lags its file converges on the next run: changes carry whole records).
pub struct Copy {
    dir: PathBuf,
}

impl Copy {
    /// The copy kept in `dir`.
    pub fn new(dir: &Path) -> Self {
        Self { dir: dir.to_owned() }
    }

    /// The file's path.
    pub fn file(&self) -> PathBuf {
        self.dir.join("participants")
    }

    fn revision_path(&self) -> PathBuf {
        self.dir.join("participants.revision")
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SyncError + '_ {
        move |source| SyncError::Io {
            path: path.to_owned(),
            source,
        }
    }

    /// The copy, if there is one.
    pub fn load(&self) -> Result<Option<Mirror>, SyncError> {
        let (file, rev) = (self.file(), self.revision_path());
        if !file.exists() || !rev.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&file).map_err(Self::io(&file))?;
        let revision = std::fs::read_to_string(&rev)
            .map_err(Self::io(&rev))?
            .trim()
            .parse()
            .map_err(|_| SyncError::Refused(format!("{}: not a revision", rev.display())))?;
        Mirror::from_file(&bytes, revision)
            .map(Some)
            .map_err(|e| SyncError::Refused(format!("{}: {e}", file.display())))
    }

    /// Writes the copy (each file replaced atomically).
    pub fn save(&self, mirror: &Mirror) -> Result<(), SyncError> {
        std::fs::create_dir_all(&self.dir).map_err(Self::io(&self.dir))?;
        let write = |path: PathBuf, bytes: &[u8]| {
            let temp = path.with_extension("partial");
            std::fs::write(&temp, bytes).map_err(Self::io(&temp))?;
            std::fs::rename(&temp, &path).map_err(Self::io(&path))
        };
        write(self.file(), &mirror.file_bytes())?;
        write(self.revision_path(), format!("{}\n", mirror.revision).as_bytes())
    }
}

/// The published keys.
async fn keys<F: Fetch>(fetch: &F, source: &Source, synced: &mut Synced) -> Result<Jwks, SyncError> {
    let url = format!("{}/participants.jwks", source.files.trim_end_matches('/'));
    let got = fetch.get(&url, &[], MAX_JWKS_BYTES).await.map_err(SyncError::Fetch)?;
    synced.bytes += got.body.len() as u64;
    if got.status != 200 {
        return Err(SyncError::Fetch(format!("{url}: HTTP {}", got.status)));
    }
    serde_json::from_slice(&got.body).map_err(|e| SyncError::Refused(format!("{url}: not a JWK set: {e}")))
}

/// Verifies with the keys, fetching them again once when the signing key is not in
/// them (a rotation since they were read).
async fn verified<F: Fetch>(
    fetch: &F,
    source: &Source,
    jwks: &mut Jwks,
    synced: &mut Synced,
    check: impl Fn(&Jwks) -> Result<signature::Verified, VerifyError>,
) -> Result<signature::Verified, SyncError> {
    match check(jwks) {
        Err(VerifyError::UnknownKey(_)) => {
            *jwks = keys(fetch, source, synced).await?;
            check(jwks).map_err(|e| match e {
                VerifyError::UnknownKey(kid) => SyncError::KeyNotPublished(kid),
                e => SyncError::Refused(e.to_string()),
            })
        }
        other => other.map_err(|e| SyncError::Refused(e.to_string())),
    }
}

/// Downloads and verifies the whole file.
async fn download<F: Fetch>(
    fetch: &F,
    source: &Source,
    jwks: &mut Jwks,
    synced: &mut Synced,
) -> Result<Mirror, SyncError> {
    let base = source.files.trim_end_matches('/');
    let (file_url, jws_url) = (format!("{base}/participants"), format!("{base}/participants.jws"));
    let file = fetch
        .get(&file_url, &[], MAX_FILE_BYTES)
        .await
        .map_err(SyncError::Fetch)?;
    let jws = fetch
        .get(&jws_url, &[], MAX_JWKS_BYTES)
        .await
        .map_err(SyncError::Fetch)?;
    synced.bytes += (file.body.len() + jws.body.len()) as u64;
    for (url, got) in [(&file_url, &file), (&jws_url, &jws)] {
        if got.status != 200 {
            return Err(SyncError::Fetch(format!("{url}: HTTP {}", got.status)));
        }
    }
    let jws = String::from_utf8_lossy(&jws.body).into_owned();
    let ok = verified(fetch, source, jwks, synced, |keys| {
        signature::verify_bytes(&file.body, &jws, keys, now())
    })
    .await?;
    let revision = ok
        .revision
        .ok_or_else(|| SyncError::Refused("the file's signature states no revision".into()))?;
    synced.downloaded_file = true;
    Mirror::from_file(&file.body, revision).map_err(SyncError::Refused)
}

/// Brings the copy in `copy` up to the directory's last revision.
pub async fn sync<F: Fetch>(fetch: &F, source: &Source, copy: &Copy) -> Result<Synced, SyncError> {
    let mut synced = Synced::default();
    let mut jwks = keys(fetch, source, &mut synced).await?;
    let mut mirror = match copy.load()? {
        Some(m) => m,
        None => {
            let m = download(fetch, source, &mut jwks, &mut synced).await?;
            copy.save(&m)?;
            m
        }
    };
    let api = source.api.trim_end_matches('/');
    loop {
        let url = format!("{api}/participants/changes?since={}", mirror.revision);
        let got = fetch
            .get(&url, &[("accept", "application/json")], MAX_PAGE_BYTES)
            .await
            .map_err(SyncError::Fetch)?;
        synced.bytes += got.body.len() as u64;
        match got.status {
            200 => {}
            410 => {
                // Older than what the feed keeps: start again from the file.
                mirror = download(fetch, source, &mut jwks, &mut synced).await?;
                copy.save(&mirror)?;
                continue;
            }
            other => return Err(SyncError::Fetch(format!("{url}: HTTP {other}"))),
        }
        let jws = got
            .header("x-jws-signature")
            .ok_or_else(|| SyncError::Refused(format!("{url}: no x-jws-signature")))?
            .to_owned();
        let ok = verified(fetch, source, &mut jwks, &mut synced, |keys| {
            signature::verify_typed(&mut &got.body[..], &jws, CHANGES_TYP, keys, now())
        })
        .await?;
        let page: Page =
            serde_json::from_slice(&got.body).map_err(|e| SyncError::Refused(format!("{url}: not a page: {e}")))?;
        if ok.since != Some(page.since) || ok.revision != Some(page.revision) {
            return Err(SyncError::Refused(format!(
                "{url}: the signature covers revisions {:?}..{:?}, the page {}..{}",
                ok.since, ok.revision, page.since, page.revision
            )));
        }
        let more = page.more;
        let changes = page.changes.len();
        let before = mirror.revision;
        mirror.apply(page).map_err(SyncError::Refused)?;
        copy.save(&mirror)?;
        synced.pages += 1;
        synced.changes += changes;
        if mirror.revision != before {
            eprintln!("revision {}: {changes} change(s) after {before}", mirror.revision);
        }
        if !more {
            break;
        }
    }
    synced.revision = mirror.revision;
    synced.organisations = mirror.records.len();
    Ok(synced)
}
