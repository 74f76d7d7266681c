//! The steps every handler shares, in one order: FAPI headers, auth (401/403),
//! `Accept` (406), then input rules (400, or 404 where the endpoint lists no 400).

use crate::audit::Actor;
use crate::auth::{self, Caller};
use crate::error::{ApiError, json_response};
use crate::http::{accept, fapi};
use crate::model::{ApiResourceResponse, AuthorityClaim, Shown};
use crate::routes::Route;
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

/// What a handler may answer with. Organisation data that carries flags or secrets
/// (snapshots, details, servers, software statements) is not one: it must first be
/// [`Shown`] to its reader, so no handler can send a flag or a secret past the
/// visibility rule by forgetting it.
pub trait ResponseBody: Serialize {}

impl<T: Serialize + crate::model::Visible> ResponseBody for Shown<T> {}
impl ResponseBody for AuthorityClaim {}
impl ResponseBody for Box<AuthorityClaim> {}
impl ResponseBody for Vec<AuthorityClaim> {}
impl ResponseBody for ApiResourceResponse {}

/// The state of one request as it passes the shared steps.
#[derive(Debug)]
pub struct Call {
    route: Route,
    /// The interaction id every response of this request carries.
    pub interaction_id: String,
    header_violations: Vec<String>,
}

impl Call {
    /// Reads the FAPI headers.
    pub fn start(req: &Request, route: Route) -> Self {
        let f = fapi::read(req.headers());
        Self {
            route,
            interaction_id: f.interaction_id,
            header_violations: f.violations,
        }
    }

    /// A path parameter (API Gateway always sends the route's parameters).
    pub fn path<'r>(&self, req: &'r Request, name: &str) -> Result<&'r str, ApiError> {
        req.path_parameters_ref()
            .and_then(|p| p.first(name))
            .ok_or_else(|| ApiError::NotFound(format!("{name}: missing path parameter")))
    }

    /// The path parameters of the request, for logs and audit targets.
    pub fn path_params<'r>(&self, req: &'r Request) -> Vec<(&'static str, &'r str)> {
        let params = req.path_parameters_ref();
        crate::routes::param_names(self.route.path())
            .filter_map(|name| Some((name, params?.first(name)?)))
            .collect()
    }

    /// The audit actor of a verified caller on this route.
    pub fn actor_of(&self, caller: &Caller) -> Actor {
        Actor {
            sub: caller.sub.clone(),
            organisation_id: caller.organisation_id.clone(),
            action: self.route.name.to_owned(),
            interaction_id: Some(self.interaction_id.clone()),
        }
    }

    /// The audit actor of a request, as far as its (possibly missing or invalid)
    /// credentials tell, for logging refusals.
    pub fn actor(&self, req: &Request) -> Actor {
        self.actor_of(&crate::caller::caller(req).unwrap_or_default())
    }

    /// Authenticates and authorises the caller for `target_org`, then applies the
    /// endpoint's `Accept` rule.
    pub fn admit(&self, req: &Request, target_org: Option<&str>) -> Result<Caller, ApiError> {
        let caller = crate::caller::caller(req)?;
        auth::authorize(&caller, self.route.access, target_org)?;
        if self.route.lists_406 {
            let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
            if !accept::accepts_json(accept) {
                return Err(ApiError::NotAcceptable);
            }
        }
        Ok(caller)
    }

    /// Ends path checking: where the endpoint lists 400 the id problems are a 400
    /// (with any header violations); elsewhere an id that breaks its rule cannot
    /// exist, so it is a 404 with the reason.
    pub fn check_path(&self, problems: Vec<String>) -> Result<(), ApiError> {
        if problems.is_empty() {
            Ok(())
        } else if self.route.lists_400 {
            self.reject_if_any(problems)
        } else {
            Err(ApiError::NotFound(problems.join("; ")))
        }
    }

    /// A checked id: `parsed` once [`Self::check_path`] has passed (an `Err` left
    /// here is a bug, reported as 500).
    pub fn id<T>(parsed: Option<T>) -> Result<T, ApiError> {
        parsed.ok_or_else(|| ApiError::Internal("unchecked path id".to_owned()))
    }

    /// Ends input checking: `problems` plus the header violations make a 400 on
    /// endpoints that list 400; elsewhere header problems are ignored.
    pub fn reject_if_any(&self, problems: Vec<String>) -> Result<(), ApiError> {
        let mut all = Vec::new();
        if self.route.lists_400 {
            all.extend(self.header_violations.iter().cloned());
        }
        all.extend(problems);
        if all.is_empty() {
            Ok(())
        } else {
            Err(ApiError::BadRequest(all))
        }
    }

    /// A 200 JSON response of `body` (a [`ResponseBody`]: data with flags or secrets
    /// only once restricted for the caller).
    pub fn ok<T: ResponseBody>(&self, body: &T) -> Result<Response<Body>, ApiError> {
        let text = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(json_response(StatusCode::OK, text, &self.interaction_id))
    }

    /// The response for the handler's outcome.
    pub fn finish(&self, outcome: Result<Response<Body>, ApiError>) -> Response<Body> {
        outcome.unwrap_or_else(|e| e.into_response(&self.interaction_id))
    }
}
