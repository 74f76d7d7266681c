//! The local export target: `<dir>/participants`, written to a temporary file,
//! fsynced and renamed over the old one (atomic), with its SHA-256 beside it; both
//! world-readable (0644), being public data.

use directory_domain::signature::Signer;
use directory_usecases::export::{EXPORT_KEY, ExportError, ObjectTarget, Published, Upload};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Publishes into a directory, signed by `signer`.
#[derive(Clone)]
pub struct LocalDirTarget {
    dir: PathBuf,
    signer: Arc<dyn Signer>,
}

impl std::fmt::Debug for LocalDirTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalDirTarget")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl LocalDirTarget {
    /// A target writing into `dir` (created when needed), signing with `signer`.
    pub fn new(dir: impl Into<PathBuf>, signer: Arc<dyn Signer>) -> Self {
        Self {
            dir: dir.into(),
            signer,
        }
    }

    /// The published file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(EXPORT_KEY)
    }

    fn hash_path(&self) -> PathBuf {
        self.dir.join(format!("{EXPORT_KEY}.sha256"))
    }

    /// What was recorded with the file (hidden: not for the static site).
    fn record_path(&self) -> PathBuf {
        self.dir.join(format!(".{EXPORT_KEY}.published.json"))
    }
}

fn io(path: &Path, e: std::io::Error) -> ExportError {
    ExportError::Target(format!("{}: {e}", path.display()))
}

/// A temporary file being filled.
pub struct LocalUpload {
    target: LocalDirTarget,
    temp: Option<tempfile::NamedTempFile>,
}

impl Upload for LocalUpload {
    async fn put_part(&mut self, part: Vec<u8>) -> Result<(), ExportError> {
        let temp = self
            .temp
            .as_mut()
            .ok_or_else(|| ExportError::Target("upload already finished".into()))?;
        temp.write_all(&part).map_err(|e| io(temp.path(), e))
    }

    async fn complete(mut self, published: &Published) -> Result<(), ExportError> {
        let sha256 = &published.sha256;
        let temp = self
            .temp
            .take()
            .ok_or_else(|| ExportError::Target("upload already finished".into()))?;
        let path = self.target.path();
        persist_public(temp, &path)?;
        let hash_path = self.target.hash_path();
        std::fs::write(&hash_path, format!("{sha256}\n")).map_err(|e| io(&hash_path, e))?;
        let record = serde_json::json!({
            "sha256": sha256,
            "readStarted": published.read_started,
            "organisations": published.organisations,
            "revision": published.revision,
        });
        let record_path = self.target.record_path();
        std::fs::write(&record_path, record.to_string()).map_err(|e| io(&record_path, e))?;
        Ok(())
    }

    async fn abort(mut self) -> Result<(), ExportError> {
        // Dropping the temporary file deletes it.
        self.temp.take();
        Ok(())
    }
}

/// Makes a filled temporary file world-readable (public data a static web server may
/// serve; a temporary file starts owner-only), syncs it and renames it over `path`.
fn persist_public(temp: tempfile::NamedTempFile, path: &Path) -> Result<(), ExportError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let public = std::fs::Permissions::from_mode(0o644);
        temp.as_file().set_permissions(public).map_err(|e| io(temp.path(), e))?;
    }
    temp.as_file().sync_all().map_err(|e| io(temp.path(), e))?;
    temp.persist(path).map_err(|e| io(path, e.error))?;
    Ok(())
}

impl ObjectTarget for LocalDirTarget {
    type Upload = LocalUpload;

    async fn begin(&self) -> Result<LocalUpload, ExportError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, e))?;
        let temp = tempfile::Builder::new()
            .prefix(".participants-")
            .tempfile_in(&self.dir)
            .map_err(|e| io(&self.dir, e))?;
        Ok(LocalUpload {
            target: self.clone(),
            temp: Some(temp),
        })
    }

    async fn published(&self) -> Result<Option<Published>, ExportError> {
        if !self.path().exists() {
            return Ok(None);
        }
        let sha256 = match std::fs::read_to_string(self.hash_path()) {
            Ok(text) => text.trim().to_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io(&self.hash_path(), e)),
        };
        // Files published before the record existed have the hash alone.
        let record: serde_json::Value = std::fs::read_to_string(self.record_path())
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .filter(|r: &serde_json::Value| r["sha256"] == sha256.as_str())
            .unwrap_or_default();
        Ok(Some(Published {
            sha256,
            read_started: record["readStarted"].as_str().unwrap_or_default().to_owned(),
            organisations: record["organisations"].as_u64().unwrap_or(0) as usize,
            revision: record["revision"].as_u64(),
        }))
    }

    async fn presigned_url(&self) -> Result<Option<String>, ExportError> {
        Ok(None)
    }

    fn response_limit(&self) -> Option<usize> {
        None
    }

    fn location(&self) -> String {
        self.path().display().to_string()
    }

    fn signer(&self) -> &dyn Signer {
        &*self.signer
    }

    async fn read_published(&self, sink: &mut (dyn FnMut(&[u8]) + Send)) -> Result<(), ExportError> {
        let path = self.path();
        let mut file = std::fs::File::open(&path).map_err(|e| io(&path, e))?;
        let mut buffer = vec![0u8; 256 * 1024];
        loop {
            let n = file.read(&mut buffer).map_err(|e| io(&path, e))?;
            if n == 0 {
                return Ok(());
            }
            sink(&buffer[..n]);
        }
    }

    async fn put_beside(
        &self,
        name: &'static str,
        bytes: Vec<u8>,
        _content_type: &'static str,
    ) -> Result<(), ExportError> {
        let mut temp = tempfile::Builder::new()
            .prefix(".beside-")
            .tempfile_in(&self.dir)
            .map_err(|e| io(&self.dir, e))?;
        temp.write_all(&bytes).map_err(|e| io(temp.path(), e))?;
        persist_public(temp, &self.dir.join(name))
    }

    async fn get_beside(&self, name: &'static str) -> Result<Option<Vec<u8>>, ExportError> {
        let path = self.dir.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&path, e)),
        }
    }
}
