//! `GET /organisations/export/open-data` (openapi.yaml: getOpenDataExport): runs the export
//! (which publishes the `participants` object) and answers with its bytes — gzip
//! when accepted — or, past the target's response limit, a 303 to a short-lived
//! presigned URL of the object just written. `ETag` is the file's SHA-256 and
//! `x-jws-signature` its detached signature.

use crate::accept::accepts_gzip;
use crate::error::ApiError;
use crate::input::{Admitted, RouteInput, serve};
use directory_domain::routes::{OPEN_DATA_EXPORT, Route};
use directory_usecases::export::{self, ExportStore, ObjectTarget};
use flate2::Compression;
use flate2::write::GzEncoder;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};
use std::io::Write;

/// The response header carrying the file's detached JWS.
pub const SIGNATURE_HEADER: &str = "x-jws-signature";

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
    let report = export::run_as(store, target, &a.actor(), &mut |bytes| capture.push(bytes, limit)).await?;
    let etag = format!("\"{}\"", report.sha256);
    let builder = Response::builder()
        .header(crate::fapi::INTERACTION_ID, &call.interaction_id)
        .header(header::ETAG, &etag)
        // The detached JWS of exactly these bytes (`participants.jws`), so a caller of
        // the route can verify without a second download.
        .header(SIGNATURE_HEADER, &report.signature)
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
