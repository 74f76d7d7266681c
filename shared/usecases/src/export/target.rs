//! Where the export is published: the object-target port (S3, a local directory) and
//! what is recorded with a published object.

use super::{DEFAULT_PART_BYTES, ExportError};
use directory_domain::signature::Signer;
use std::future::Future;

/// What is recorded with a published object, so a consumer can tell what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// SHA-256 of the bytes (lowercase hex).
    pub sha256: String,
    /// When the run started reading (RFC 3339): the file holds no change made later.
    pub read_started: String,
    /// How many organisations it holds.
    pub organisations: usize,
    /// The revision it reflects (absent on files published before revisions).
    pub revision: Option<u64>,
}

/// An object being written; it replaces the published one only at `complete`.
pub trait Upload: Send {
    /// Sends one part (every part but the last is at least the target's minimum).
    fn put_part(&mut self, part: Vec<u8>) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// Publishes the object atomically, recording what [`Published`] says of it.
    fn complete(self, published: &Published) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// Discards everything sent; the published object is untouched.
    fn abort(self) -> impl Future<Output = Result<(), ExportError>> + Send;
}

/// Where the export is published: S3, or a local directory.
pub trait ObjectTarget: Send + Sync {
    /// The upload type.
    type Upload: Upload;
    /// Starts writing a new version of the object.
    fn begin(&self) -> impl Future<Output = Result<Self::Upload, ExportError>> + Send;
    /// What was recorded for the published object, if there is one.
    fn published(&self) -> impl Future<Output = Result<Option<Published>, ExportError>> + Send;
    /// The SHA-256 recorded for the published object, if any.
    fn published_sha256(&self) -> impl Future<Output = Result<Option<String>, ExportError>> + Send {
        async { Ok(self.published().await?.map(|p| p.sha256)) }
    }
    /// A short-lived URL of the published object, for responses too large to send.
    fn presigned_url(&self) -> impl Future<Output = Result<Option<String>, ExportError>> + Send;
    /// Largest response the HTTP route may send inline (`None`: no limit).
    fn response_limit(&self) -> Option<usize>;
    /// Where the object is published, for people (a path or an `s3://` URL).
    fn location(&self) -> String;
    /// Part size to use.
    fn part_bytes(&self) -> usize {
        DEFAULT_PART_BYTES
    }
    /// The key the published file is signed with.
    fn signer(&self) -> &dyn Signer;
    /// Hands the published object's bytes to `sink`, in order (signing reads back
    /// what was stored, not what was meant to be).
    fn read_published(
        &self,
        sink: &mut (dyn FnMut(&[u8]) + Send),
    ) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// Publishes a small object `name` beside the file (signature, keys), atomically.
    fn put_beside(
        &self,
        name: &'static str,
        bytes: Vec<u8>,
        content_type: &'static str,
    ) -> impl Future<Output = Result<(), ExportError>> + Send;
    /// The small object `name` beside the file, if there is one.
    fn get_beside(&self, name: &'static str) -> impl Future<Output = Result<Option<Vec<u8>>, ExportError>> + Send;
}
