//! The one error type of the handlers and its single mapping to an HTTP response.

use crate::http::fapi::INTERACTION_ID;
use crate::model::ErrorBody;
use crate::store::StoreError;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Response};

/// Every way a request can fail. Client errors carry human-readable messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 400: every violation found.
    BadRequest(Vec<String>),
    /// 401: no, invalid or expired credentials (or a route without authorizer context).
    Unauthorized(String),
    /// 403: valid credentials without the right scope or organisation.
    Forbidden(String),
    /// 404 with the reason.
    NotFound(String),
    /// 405: the route exists with other methods (listed for `Allow`).
    MethodNotAllowed(&'static str),
    /// 406: `Accept` excludes JSON.
    NotAcceptable,
    /// 413: the body is larger than allowed.
    PayloadTooLarge(usize),
    /// 500: a bug or a backend failure; the detail is logged, never sent.
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::NotAcceptable => StatusCode::NOT_ACCEPTABLE,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The messages sent to the client.
    pub fn messages(&self) -> Vec<String> {
        match self {
            Self::BadRequest(m) => m.clone(),
            Self::Unauthorized(m) | Self::Forbidden(m) | Self::NotFound(m) => vec![m.clone()],
            Self::MethodNotAllowed(allow) => vec![format!("method not allowed on this route (allowed: {allow})")],
            Self::NotAcceptable => vec!["Accept must allow application/json".to_owned()],
            Self::PayloadTooLarge(max) => vec![format!("body larger than {max} bytes")],
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
            .header(INTERACTION_ID, interaction_id);
        if let Self::MethodNotAllowed(allow) = &self {
            builder = builder.header(header::ALLOW, *allow);
        }
        builder.body(Body::from(body)).unwrap_or_else(|_| fallback())
    }
}

fn fallback() -> Response<Body> {
    let mut r = Response::new(Body::from(r#"{"errors":["internal error"]}"#));
    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    r
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(e.to_string())
    }
}

/// A JSON response with the interaction id header.
pub fn json_response(status: StatusCode, body: String, interaction_id: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(INTERACTION_ID, interaction_id)
        .body(Body::from(body))
        .unwrap_or_else(|_| fallback())
}
