//! `GET /organisations/export/open-data` (openapi.yaml: getOpenDataExport): the file at
//! the directory's current revision. When the published file already reflects it, that
//! file is the answer; otherwise a directory of up to [`INLINE_ORGANISATIONS`] is
//! exported within the request (which publishes the `participants` object), and a
//! larger one gets `202 Accepted` with `Location` (this route) and `Retry-After`
//! while an export run it requested publishes (a request cannot outlast API
//! Gateway's 30 s, an export of 100,000 organisations can). The bytes go out gzip
//! when accepted or, past the target's response limit, as a 303 to a short-lived
//! presigned URL. `ETag` is the file's SHA-256, `x-jws-signature` its detached
//! signature, `x-directory-revision` the revision it reflects.

use crate::accept::accepts_gzip;
use crate::error::ApiError;
use crate::input::{Admitted, RouteInput, serve};
use directory_domain::feed::REVISION_HEADER;
use directory_domain::routes::{OPEN_DATA_EXPORT, Route};
use directory_domain::signature::{self, SIGNATURE_KEY};
use directory_usecases::export::{self, ExportStore, ObjectTarget};
use flate2::Compression;
use flate2::write::GzEncoder;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use std::io::Write;

/// The response header carrying the file's detached JWS.
pub const SIGNATURE_HEADER: &str = "x-jws-signature";
/// The largest directory (organisations in the last published file) exported within
/// the request; a larger one is exported by a run the request starts.
pub const INLINE_ORGANISATIONS: usize = 2_000;
/// How long a caller told to wait for an export run is asked to wait (`Retry-After`).
pub const EXPORT_RETRY_SECS: u32 = 30;
/// How long the route gives the sequencer to give every queued change its revision.
const SEQUENCE_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The route's input: how the caller wants the file.
pub struct ExportInput {
    pub gzip: bool,
    pub if_none_match: Option<String>,
}

impl RouteInput for ExportInput {
    const ROUTE: Route = OPEN_DATA_EXPORT;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        let text = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        Ok(Self {
            gzip: accepts_gzip(text(header::ACCEPT_ENCODING)),
            if_none_match: text(header::IF_NONE_MATCH).map(str::to_owned),
        })
    }
}

/// Runs the export for an admin and answers with the file.
pub async fn handle<S: ExportStore, T: ObjectTarget>(store: &S, target: &T, req: Request) -> Response<Body> {
    serve(req, |a: Admitted<ExportInput>| run(store, target, a)).await
}

/// Whether `If-None-Match` matches `etag` (weak comparison, `*` matches all).
pub fn none_match(if_none_match: Option<&str>, etag: &str) -> bool {
    if_none_match.is_some_and(|v| {
        v.split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == etag)
    })
}

/// Keeps the response bytes while they fit the limit.
enum Capture {
    Raw(Vec<u8>),
    Gzip(GzEncoder<Vec<u8>>),
    TooLarge,
}

impl Capture {
    fn push(&mut self, bytes: &[u8], limit: Option<usize>) {
        let size = match self {
            Self::Raw(v) => {
                v.extend_from_slice(bytes);
                v.len()
            }
            Self::Gzip(g) => {
                if g.write_all(bytes).is_err() {
                    *self = Self::TooLarge;
                    return;
                }
                g.get_ref().len()
            }
            Self::TooLarge => return,
        };
        if limit.is_some_and(|l| size > l) {
            *self = Self::TooLarge;
        }
    }

    fn finish(self, limit: Option<usize>) -> Option<Vec<u8>> {
        let bytes = match self {
            Self::Raw(v) => v,
            Self::Gzip(g) => g.finish().ok()?,
            Self::TooLarge => return None,
        };
        (limit.is_none_or(|l| bytes.len() <= l)).then_some(bytes)
    }
}

/// What the file at the current revision is, as far as this request can tell.
enum Answer {
    /// Just exported: its bytes were captured.
    Exported {
        sha256: String,
        signature: String,
        revision: u64,
    },
    /// Already published at this revision.
    Published {
        sha256: String,
        signature: String,
        revision: u64,
    },
}

async fn run<S: ExportStore, T: ObjectTarget>(
    store: &S,
    target: &T,
    a: Admitted<ExportInput>,
) -> Result<Response<Body>, ApiError> {
    let (call, gzip) = (&a.call, a.input.gzip);
    let limit = target.response_limit();
    let mut capture = if gzip {
        Capture::Gzip(GzEncoder::new(Vec::new(), Compression::fast()))
    } else {
        Capture::Raw(Vec::new())
    };
    // Every change queued so far gets its revision first (the sequencer normally keeps
    // up on its own; the budget keeps the request inside the gateway's limit).
    let _ = tokio::time::timeout(SEQUENCE_BUDGET, directory_usecases::feed::sequence(store)).await;
    let head = store.feed_head().await?.unwrap_or_default().revision;
    let stored = match target.get_beside(SIGNATURE_KEY).await? {
        Some(bytes) => String::from_utf8(bytes).ok(),
        None => None,
    };
    let current = stored
        .as_deref()
        .and_then(signature::header_of)
        .filter(|h| h.revision == Some(head));
    let published = target.published().await?;
    let answer = match (current, stored, published) {
        (Some(h), Some(jws), Some(p)) if p.sha256 == h.sha256 => {
            if limit.is_some() && p.organisations > INLINE_ORGANISATIONS {
                // Far past any response: the caller follows a presigned URL instead.
                capture = Capture::TooLarge;
            } else {
                target.read_published(&mut |bytes| capture.push(bytes, limit)).await?;
            }
            Answer::Published {
                sha256: h.sha256,
                signature: jws,
                revision: head,
            }
        }
        (_, _, Some(p)) if p.organisations > INLINE_ORGANISATIONS => {
            store.request_export(directory_usecases::clock::now()).await?;
            tracing::info!(
                organisations = p.organisations,
                head,
                published = ?p.revision,
                "export run requested"
            );
            let body = serde_json::json!({
                "message": "the directory is exported by a run this request started; retry after Retry-After seconds",
                "Revision": head,
                "PublishedRevision": p.revision,
            });
            return Response::builder()
                .status(StatusCode::ACCEPTED)
                .header(crate::fapi::INTERACTION_ID, &call.interaction_id)
                .header(header::LOCATION, OPEN_DATA_EXPORT.path())
                .header(header::RETRY_AFTER, EXPORT_RETRY_SECS)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::CACHE_CONTROL, "no-store")
                .header(REVISION_HEADER, head)
                .body(Body::Text(body.to_string()))
                .map_err(|e| ApiError::Internal(e.to_string()));
        }
        _ => {
            let report = export::run_as(store, target, &a.actor(), &mut |bytes| capture.push(bytes, limit)).await?;
            Answer::Exported {
                sha256: report.sha256,
                signature: report.signature,
                revision: report.revision,
            }
        }
    };
    let (Answer::Exported {
        sha256,
        signature,
        revision,
    }
    | Answer::Published {
        sha256,
        signature,
        revision,
    }) = answer;
    let etag = format!("\"{sha256}\"");
    let builder = Response::builder()
        .header(crate::fapi::INTERACTION_ID, &call.interaction_id)
        .header(header::ETAG, &etag)
        // The detached JWS of exactly these bytes (`participants.jws`), so a caller of
        // the route can verify without a second download.
        .header(SIGNATURE_HEADER, &signature)
        .header(REVISION_HEADER, revision)
        .header(header::VARY, "Accept-Encoding")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    let response = if none_match(a.input.if_none_match.as_deref(), &etag) {
        builder.status(StatusCode::NOT_MODIFIED).body(Body::Empty)
    } else if let Some(bytes) = capture.finish(limit) {
        let builder = builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json");
        if gzip {
            builder
                .header(header::CONTENT_ENCODING, "gzip")
                .body(Body::Binary(bytes))
        } else {
            builder.body(Body::Text(
                String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.to_string()))?,
            ))
        }
    } else {
        let url = target
            .presigned_url()
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .ok_or_else(|| ApiError::Internal("export too large to send and no URL to redirect to".into()))?;
        builder
            .status(StatusCode::SEE_OTHER)
            .header(header::LOCATION, url)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::Text(
                r#"{"message":"the export is larger than a response may be; follow Location"}"#.to_owned(),
            ))
    };
    response.map_err(|e| ApiError::Internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_matching() {
        assert!(none_match(Some("\"abc\""), "\"abc\""));
        assert!(none_match(Some("W/\"abc\", \"def\""), "\"abc\""));
        assert!(none_match(Some("*"), "\"abc\""));
        assert!(!none_match(Some("\"def\""), "\"abc\""));
        assert!(!none_match(None, "\"abc\""));
    }

    #[test]
    fn capture_gives_up_past_the_limit() {
        let mut c = Capture::Raw(Vec::new());
        c.push(b"12345", Some(8));
        c.push(b"6789", Some(8));
        assert!(c.finish(Some(8)).is_none());
        let mut g = Capture::Gzip(GzEncoder::new(Vec::new(), Compression::fast()));
        g.push(&[b'a'; 10_000], Some(1_000));
        let gz = g.finish(Some(1_000)).unwrap();
        let mut out = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut out).unwrap();
        assert_eq!(out.len(), 10_000);
    }
}
