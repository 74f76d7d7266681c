//! The S3 export target: a multipart upload of `participants` that replaces the
//! object only at CompleteMultipartUpload, and is aborted on any failure (or when the
//! bytes equal the published object's, so it and its `Last-Modified` stay put).
//!
//! The SHA-256 is kept in the object tag `sha256` (beside `read-started`, when the
//! run began reading, `organisations`, how many it holds, and `revision`, the
//! revision it reflects): S3 fixes user metadata when the
//! multipart upload starts, before the bytes (and so their hash) exist, while a tag
//! can be set after completion without touching the bytes or `Last-Modified`. It is
//! set on the version the completion returned (versioned buckets), and publishes are
//! serialised by the export lease, so the tag of the current object describes it.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Tag, Tagging};
use directory_domain::signature::Signer;
use directory_usecases::export::{EXPORT_KEY, ExportError, ObjectTarget, Published, Upload};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Parts uploaded at once: bounds memory to about this many parts.
const PARTS_IN_FLIGHT: usize = 3;
/// Lifetime of the URL a too-large response redirects to.
const PRESIGNED_TTL: Duration = Duration::from_secs(300);
/// Inline responses stay under Lambda's 6 MB synchronous payload even once base64'd.
const RESPONSE_LIMIT: usize = 4_000_000;
/// How long ecosystem caches may keep the file.
pub const CACHE_CONTROL: &str = "public, max-age=300";

fn target_error<E: std::error::Error + 'static>(e: E) -> ExportError {
    ExportError::Target(DisplayErrorContext(e).to_string())
}

/// Publishes the export to `s3://{bucket}/participants`, signed by `signer`
/// (`participants.jws`, `participants.jwks` beside it).
#[derive(Clone)]
pub struct S3Target {
    client: Client,
    bucket: String,
    part_bytes: usize,
    response_limit: usize,
    signer: Arc<dyn Signer>,
}

impl std::fmt::Debug for S3Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Target")
            .field("bucket", &self.bucket)
            .finish_non_exhaustive()
    }
}

impl S3Target {
    /// A target on `bucket`, signing with `signer`.
    pub fn new(client: Client, bucket: impl Into<String>, signer: Arc<dyn Signer>) -> Self {
        Self {
            client,
            signer,
            bucket: bucket.into(),
            part_bytes: directory_usecases::export::DEFAULT_PART_BYTES,
            response_limit: RESPONSE_LIMIT,
        }
    }

    /// Sends inline responses only up to `bytes` (tests use a small limit).
    pub fn with_response_limit(mut self, bytes: usize) -> Self {
        self.response_limit = bytes;
        self
    }

    /// Uses parts of `bytes` (at least S3's 5 MiB minimum in production).
    pub fn with_part_bytes(mut self, bytes: usize) -> Self {
        self.part_bytes = bytes;
        self
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }
}

/// An open multipart upload.
pub struct S3Upload {
    client: Client,
    bucket: String,
    upload_id: String,
    next_part: i32,
    done: Vec<CompletedPart>,
    in_flight: JoinSet<Result<CompletedPart, ExportError>>,
}

impl S3Upload {
    async fn settle_one(&mut self) -> Result<(), ExportError> {
        if let Some(joined) = self.in_flight.join_next().await {
            let part = joined.map_err(|e| ExportError::Target(format!("part upload task: {e}")))??;
            self.done.push(part);
        }
        Ok(())
    }
}

impl Upload for S3Upload {
    async fn put_part(&mut self, part: Vec<u8>) -> Result<(), ExportError> {
        while self.in_flight.len() >= PARTS_IN_FLIGHT {
            self.settle_one().await?;
        }
        let number = self.next_part;
        self.next_part += 1;
        let (client, bucket, upload_id) = (self.client.clone(), self.bucket.clone(), self.upload_id.clone());
        self.in_flight.spawn(async move {
            let out = client
                .upload_part()
                .bucket(bucket)
                .key(EXPORT_KEY)
                .upload_id(upload_id)
                .part_number(number)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(target_error)?;
            Ok(CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag)
                .build())
        });
        Ok(())
    }

    async fn complete(mut self, published: &Published) -> Result<(), ExportError> {
        while !self.in_flight.is_empty() {
            if let Err(e) = self.settle_one().await {
                let _ = abort(&self.client, &self.bucket, &self.upload_id).await;
                return Err(e);
            }
        }
        self.done.sort_by_key(|p| p.part_number());
        let parts = CompletedMultipartUpload::builder()
            .set_parts(Some(std::mem::take(&mut self.done)))
            .build();
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(EXPORT_KEY)
            .upload_id(&self.upload_id)
            .multipart_upload(parts)
            .send()
            .await;
        let version = match completed {
            Ok(out) => out.version_id,
            Err(e) => {
                let _ = abort(&self.client, &self.bucket, &self.upload_id).await;
                return Err(target_error(e));
            }
        };
        let tag = |key: &str, value: &str| Tag::builder().key(key).value(value).build().map_err(target_error);
        let mut tags = vec![
            tag("sha256", &published.sha256)?,
            tag("read-started", &published.read_started)?,
            tag("organisations", &published.organisations.to_string())?,
        ];
        if let Some(revision) = published.revision {
            tags.push(tag("revision", &revision.to_string())?);
        }
        let tagging = Tagging::builder()
            .set_tag_set(Some(tags))
            .build()
            .map_err(target_error)?;
        // On a versioned bucket the tag goes on the version this upload created, so
        // it can never describe another run's bytes.
        self.client
            .put_object_tagging()
            .bucket(&self.bucket)
            .key(EXPORT_KEY)
            .set_version_id(version)
            .tagging(tagging)
            .send()
            .await
            .map_err(target_error)?;
        Ok(())
    }

    async fn abort(mut self) -> Result<(), ExportError> {
        self.in_flight.abort_all();
        while self.in_flight.join_next().await.is_some() {}
        abort(&self.client, &self.bucket, &self.upload_id).await
    }
}

async fn abort(client: &Client, bucket: &str, upload_id: &str) -> Result<(), ExportError> {
    client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(EXPORT_KEY)
        .upload_id(upload_id)
        .send()
        .await
        .map_err(target_error)?;
    Ok(())
}

impl ObjectTarget for S3Target {
    type Upload = S3Upload;

    async fn begin(&self) -> Result<S3Upload, ExportError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(EXPORT_KEY)
            .content_type("application/json")
            .cache_control(CACHE_CONTROL)
            .send()
            .await
            .map_err(target_error)?;
        let upload_id = created
            .upload_id
            .ok_or_else(|| ExportError::Target("no upload id".into()))?;
        Ok(S3Upload {
            client: self.client.clone(),
            bucket: self.bucket.clone(),
            upload_id,
            next_part: 1,
            done: Vec::new(),
            in_flight: JoinSet::new(),
        })
    }

    async fn published(&self) -> Result<Option<Published>, ExportError> {
        let tags = self
            .client
            .get_object_tagging()
            .bucket(&self.bucket)
            .key(EXPORT_KEY)
            .send()
            .await;
        match tags {
            Ok(out) => {
                let tag = |name: &str| {
                    out.tag_set()
                        .iter()
                        .find(|t| t.key() == name)
                        .map(|t| t.value().to_owned())
                };
                Ok(tag("sha256").map(|sha256| Published {
                    sha256,
                    read_started: tag("read-started").unwrap_or_default(),
                    organisations: tag("organisations").and_then(|o| o.parse().ok()).unwrap_or(0),
                    revision: tag("revision").and_then(|r| r.parse().ok()),
                }))
            }
            Err(e) if e.as_service_error().and_then(|s| s.code()) == Some("NoSuchKey") => Ok(None),
            Err(e) => Err(target_error(e)),
        }
    }

    async fn presigned_url(&self) -> Result<Option<String>, ExportError> {
        let config = PresigningConfig::expires_in(PRESIGNED_TTL).map_err(target_error)?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(EXPORT_KEY)
            .presigned(config)
            .await
            .map_err(target_error)?;
        Ok(Some(request.uri().to_owned()))
    }

    fn response_limit(&self) -> Option<usize> {
        Some(self.response_limit)
    }

    fn part_bytes(&self) -> usize {
        self.part_bytes
    }

    fn location(&self) -> String {
        format!("s3://{}/{EXPORT_KEY}", self.bucket)
    }

    fn signer(&self) -> &dyn Signer {
        &*self.signer
    }

    async fn read_published(&self, sink: &mut (dyn FnMut(&[u8]) + Send)) -> Result<(), ExportError> {
        let mut body = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(EXPORT_KEY)
            .send()
            .await
            .map_err(target_error)?
            .body;
        while let Some(chunk) = body.try_next().await.map_err(target_error)? {
            sink(&chunk);
        }
        Ok(())
    }

    async fn put_beside(
        &self,
        name: &'static str,
        bytes: Vec<u8>,
        content_type: &'static str,
    ) -> Result<(), ExportError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(name)
            .content_type(content_type)
            .cache_control(CACHE_CONTROL)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(target_error)?;
        Ok(())
    }

    async fn get_beside(&self, name: &'static str) -> Result<Option<Vec<u8>>, ExportError> {
        let got = self.client.get_object().bucket(&self.bucket).key(name).send().await;
        match got {
            Ok(out) => Ok(Some(out.body.collect().await.map_err(target_error)?.to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(target_error(e)),
        }
    }
}
