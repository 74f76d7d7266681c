//! The local export target: `<dir>/participants`, written to a temporary file,
//! fsynced and renamed over the old one (atomic), with its SHA-256 beside it; both
//! world-readable (0644), being public data.

use super::{EXPORT_KEY, ExportError, ObjectTarget, Upload};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Publishes into a directory.
#[derive(Debug, Clone)]
pub struct LocalDirTarget {
    dir: PathBuf,
}

impl LocalDirTarget {
    /// A target writing into `dir` (created when needed).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The published file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(EXPORT_KEY)
    }

    fn hash_path(&self) -> PathBuf {
        self.dir.join(format!("{EXPORT_KEY}.sha256"))
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

    async fn complete(mut self, published: &super::Published) -> Result<(), ExportError> {
        let sha256 = &published.sha256;
        let temp = self
            .temp
            .take()
            .ok_or_else(|| ExportError::Target("upload already finished".into()))?;
        // Public data that a static web server may serve: world-readable like its
        // `.sha256` (a temporary file starts owner-only).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let public = std::fs::Permissions::from_mode(0o644);
            temp.as_file().set_permissions(public).map_err(|e| io(temp.path(), e))?;
        }
        temp.as_file().sync_all().map_err(|e| io(temp.path(), e))?;
        let path = self.target.path();
        temp.persist(&path).map_err(|e| io(&path, e.error))?;
        let hash_path = self.target.hash_path();
        std::fs::write(&hash_path, format!("{sha256}\n")).map_err(|e| io(&hash_path, e))?;
        Ok(())
    }

    async fn abort(mut self) -> Result<(), ExportError> {
        // Dropping the temporary file deletes it.
        self.temp.take();
        Ok(())
    }
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

    async fn published_sha256(&self) -> Result<Option<String>, ExportError> {
        if !self.path().exists() {
            return Ok(None);
        }
        match std::fs::read_to_string(self.hash_path()) {
            Ok(text) => Ok(Some(text.trim().to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.hash_path(), e)),
        }
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
}
