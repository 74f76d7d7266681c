//! The one error type of the handlers and its single mapping to an HTTP response.

use crate::fapi::INTERACTION_ID;
use directory_domain::model::ErrorBody;
use directory_usecases::ports::StoreError;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};

pub use directory_domain::messages::{MAX_MESSAGE_CHARS, MAX_MESSAGES, cap_messages, clip};

/// Every way a request can fail. Client errors carry human-readable messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: every violation found.
    BadRequest(Vec<String>),
    /// 401: no, invalid or expired credentials (or a route without authorizer context).
    Unauthorized(String),
    /// 403: valid credentials without the right scope or organisation.
    Forbidden(String),
    /// 403: the body changes fields the caller may not change (one message each).
    ForbiddenFields(Vec<String>),
    /// 404 with the reason.
    NotFound(String),
    /// 405: the route exists with other methods (listed for `Allow`).
    MethodNotAllowed(String),
    /// 406: `Accept` excludes JSON.
    NotAcceptable,
    /// 413: the body is larger than allowed (0: the route takes none).
    PayloadTooLarge(usize),
    /// 408: the request did not arrive in time (the seconds allowed).
    RequestTimeout(u64),
    /// 410: what was asked for is no longer kept (revisions past their retention).
    Gone(String),
    /// 429 with `Retry-After`: the resource is busy with another caller's work.
    Busy(String),
    /// 500: a bug or a backend failure; the detail is logged, never sent.
    Internal(String),
}

/// Seconds a busy caller is told to wait (`Retry-After`).
pub const RETRY_AFTER_SECS: u32 = 5;

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) | Self::ForbiddenFields(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Gone(_) => StatusCode::GONE,
            Self::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The messages sent to the client: at most [`MAX_MESSAGES`] (then one "and N
    /// more" line), each at most [`MAX_MESSAGE_CHARS`] characters, so an error body
    /// stays small whatever the input.
    pub fn messages(&self) -> Vec<String> {
        cap_messages(self.full_messages())
    }

    fn full_messages(&self) -> Vec<String> {
        match self {
            Self::BadRequest(m) | Self::ForbiddenFields(m) => m.clone(),
            Self::Unauthorized(m) | Self::Forbidden(m) | Self::NotFound(m) | Self::Gone(m) | Self::Busy(m) => {
                vec![m.clone()]
            }
            Self::MethodNotAllowed(allow) => vec![format!("method not allowed on this route (allowed: {allow})")],
            Self::NotAcceptable => vec!["Accept must allow application/json".to_owned()],
            Self::PayloadTooLarge(0) => vec!["this route takes no request body".to_owned()],
            Self::PayloadTooLarge(max) => vec![format!("body larger than {max} bytes")],
            Self::RequestTimeout(secs) => vec![format!("the request body did not arrive within {secs} s")],
            Self::Internal(_) => vec!["internal error".to_owned()],
        }
    }

    /// The response: `{"errors": [...]}` as JSON with the interaction id header.
    pub fn into_response(self, interaction_id: &str) -> Response<Body> {
        if let Self::Internal(detail) = &self {
            tracing::error!(interaction_id, error = %detail, "request failed");
        }
        let body = serde_json::to_string(&ErrorBody {
            errors: self.messages(),
        })
        .unwrap_or_else(|_| r#"{"errors":["internal error"]}"#.to_owned());
        let mut builder = Response::builder()
            .status(self.status())
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "no-store")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
            .header(INTERACTION_ID, interaction_id);
        if let Self::MethodNotAllowed(allow) = &self {
            builder = builder.header(header::ALLOW, allow.as_str());
        }
        if let Self::Busy(_) = &self {
            builder = builder.header(header::RETRY_AFTER, RETRY_AFTER_SECS);
        }
        builder.body(Body::from(body)).unwrap_or_else(|_| fallback())
    }
}

/// The response to a panic inside a handler: a 500 with the FAPI header, so one bad
/// request never takes the process (or the Lambda execution environment) down.
pub fn panic_response(interaction_id: &str) -> Response<Body> {
    ApiError::Internal("handler panicked".to_owned()).into_response(interaction_id)
}

fn fallback() -> Response<Body> {
    let mut r = Response::new(Body::from(r#"{"errors":["internal error"]}"#));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

impl From<directory_usecases::feed::FeedError> for ApiError {
    fn from(e: directory_usecases::feed::FeedError) -> Self {
        use directory_usecases::feed::FeedError;
        match e {
            FeedError::Gone { since } => Self::Gone(format!(
                "since: revisions after {since} are no longer kept; download the participants file and continue from the revision it states"
            )),
            FeedError::Future { since, head } => {
                Self::BadRequest(vec![format!("since: {since} is beyond the last revision ({head})")])
            }
            FeedError::Store(e) => e.into(),
        }
    }
}

impl From<directory_usecases::export::ExportError> for ApiError {
    fn from(e: directory_usecases::export::ExportError) -> Self {
        match e {
            directory_usecases::export::ExportError::Busy => Self::Busy(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<directory_domain::Refusal> for ApiError {
    fn from(r: directory_domain::Refusal) -> Self {
        use directory_domain::Refusal;
        match r {
            Refusal::Unauthenticated(m) => Self::Unauthorized(m),
            Refusal::Forbidden(m) => Self::Forbidden(m),
            Refusal::ForbiddenFields(m) => Self::ForbiddenFields(m),
            Refusal::Invalid(m) => Self::BadRequest(m),
            Refusal::NotFound(m) => Self::NotFound(m),
            Refusal::Busy(m) => Self::Busy(m),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// A JSON response with the interaction id header. Organisation data is never
/// cached by intermediaries (`no-store`) nor sniffed into another type.
pub fn json_response(status: StatusCode, body: String, interaction_id: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(INTERACTION_ID, interaction_id)
        .body(Body::from(body))
        .unwrap_or_else(|_| fallback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_lists_are_capped_and_messages_clipped() {
        let e = ApiError::BadRequest((0..120).map(|i| format!("m{i}: {}", "x".repeat(5000))).collect());
        let m = e.messages();
        assert_eq!(m.len(), MAX_MESSAGES + 1);
        assert_eq!(m[MAX_MESSAGES], "and 70 more");
        assert!(m.iter().all(|x| x.chars().count() <= MAX_MESSAGE_CHARS + 1));
        let body = e.into_response("i");
        assert!(body.body().len() < 64 * 1024);
        assert_eq!(clip("abcdef", 3), "abc…");
        assert_eq!(clip("ab", 3), "ab");
    }
}
