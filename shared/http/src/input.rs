//! Typed inputs per route, parsed once, and the one order of refusals every route
//! follows: a path parameter missing (404), no or bad credentials (401), not allowed
//! (403), an `Accept` without JSON where the route refuses it (406), then the input
//! rules (400, or 404 for a path id that breaks its rule where the route lists no
//! 400). A handler receives [`Admitted`] input or never runs, so none can skip a step
//! or take them in another order.

use crate::error::{ApiError, json_response};
use crate::{accept, caller, fapi};
use directory_domain::audit::{self, Actor};
use directory_domain::auth::{self, Caller};
use directory_domain::model::{ApiResourceResponse, AuthorityClaim, Shown, Visible};
use directory_domain::routes::{self, AcceptRule, Malformed, Route};
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use std::future::Future;

/// What a handler may answer with. Organisation data that carries flags or secrets
/// (snapshots, details, servers, software statements) is not one: it must first be
/// [`Shown`] to its reader, so no handler can send a flag or a secret past the
/// visibility rule by forgetting it.
pub trait ResponseBody: Serialize {}

impl<T: Serialize + Visible> ResponseBody for Shown<T> {}
impl ResponseBody for AuthorityClaim {}
impl ResponseBody for Box<AuthorityClaim> {}
impl ResponseBody for Vec<AuthorityClaim> {}
impl ResponseBody for ApiResourceResponse {}

/// A route's input: what it reads from a request beyond the caller, checked.
pub trait RouteInput: Sized + Send {
    /// The route's row.
    const ROUTE: Route;

    /// Reads the path ids, query and body; every problem found.
    fn read(req: &Request) -> Result<Self, Vec<String>>;
}

/// One request as it passes the shared steps: the interaction id every response
/// carries, and the route it came in on.
#[derive(Debug, Clone)]
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

    /// The audit actor of a verified caller on this route.
    pub fn actor_of(&self, caller: &Caller) -> Actor {
        Actor {
            sub: caller.sub.clone(),
            organisation_id: caller.organisation_id.clone(),
            action: self.route.name.to_owned(),
            interaction_id: Some(self.interaction_id.clone()),
        }
    }

    /// A 200 JSON response of `body`.
    pub fn ok<T: ResponseBody>(&self, body: &T) -> Result<Response<Body>, ApiError> {
        let text = serde_json::to_string(body).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(json_response(StatusCode::OK, text, &self.interaction_id))
    }
}

/// A request that passed every shared step.
#[derive(Debug)]
pub struct Admitted<I> {
    pub call: Call,
    /// The verified caller, allowed on this route for its target.
    pub caller: Caller,
    /// The checked input.
    pub input: I,
}

impl<I> Admitted<I> {
    /// The audit actor of this request.
    pub fn actor(&self) -> Actor {
        self.call.actor_of(&self.caller)
    }
}

/// A path parameter (API Gateway always sends the route's; a request without one
/// was not routed here).
pub fn path<'r>(req: &'r Request, name: &str) -> Result<&'r str, ApiError> {
    req.path_parameters_ref()
        .and_then(|p| p.first(name))
        .ok_or_else(|| ApiError::NotFound(format!("{name}: missing path parameter")))
}

/// How much of a query value an error message echoes.
const ECHO_CHARS: usize = 64;

/// A query value as an error message quotes it: at most 64 characters, then `…`.
pub fn echo(value: &str) -> String {
    format!("{:?}", directory_domain::messages::clip(value, ECHO_CHARS))
}

/// The one value of a query parameter (`None` when absent); given twice is a problem.
pub fn single<'a>(values: Option<Vec<&'a str>>, name: &str, problems: &mut Vec<String>) -> Option<&'a str> {
    match values.as_deref() {
        None | Some([]) => None,
        Some([one]) => Some(one),
        Some(_) => {
            problems.push(format!("{name}: given more than once"));
            None
        }
    }
}

/// Two checked parts, or every problem of both.
pub fn both<A, B>(a: Result<A, Vec<String>>, b: Result<B, Vec<String>>) -> Result<(A, B), Vec<String>> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => Err(a.err().into_iter().chain(b.err()).flatten().collect()),
    }
}

/// The shared steps, in their one order; the caller and the input, or the refusal.
fn admit<I: RouteInput>(call: &Call, req: &Request) -> Result<(Caller, I), ApiError> {
    let route = I::ROUTE;
    let target = match routes::param_names(route.path()).any(|p| p == "OrganisationId") {
        true => Some(path(req, "OrganisationId")?),
        false => None,
    };
    // A public route reads no token: anyone may call it, as anyone may download the file.
    let caller = match route.access {
        auth::Access::Public => Caller::default(),
        _ => caller::caller(req)?,
    };
    auth::authorize(&caller, route.access, target)?;
    if route.accept == AcceptRule::Json {
        let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
        if !accept::accepts_json(accept) {
            return Err(ApiError::NotAcceptable);
        }
    }
    let input = I::read(req);
    match route.malformed {
        Malformed::BadRequest => {
            let problems: Vec<String> = call
                .header_violations
                .iter()
                .cloned()
                .chain(input.as_ref().err().cloned().unwrap_or_default())
                .collect();
            match input {
                Ok(input) if problems.is_empty() => Ok((caller, input)),
                _ => Err(ApiError::BadRequest(problems)),
            }
        }
        // Headers are ignored here; an id that breaks its rule cannot exist.
        Malformed::NotFound => input.map(|i| (caller, i)).map_err(|p| ApiError::NotFound(p.join("; "))),
    }
}

/// Runs `handle` for an admitted request and turns its outcome into the response; a
/// refused write is logged with who asked and why (accepted ones leave an audit
/// record in the store).
pub async fn serve<I, F, Fut>(req: Request, handle: F) -> Response<Body>
where
    I: RouteInput,
    F: FnOnce(Admitted<I>) -> Fut,
    Fut: Future<Output = Result<Response<Body>, ApiError>>,
{
    let call = Call::start(&req, I::ROUTE);
    let outcome = match admit::<I>(&call, &req) {
        Ok((caller, input)) => {
            handle(Admitted {
                call: call.clone(),
                caller,
                input,
            })
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(response) => response,
        Err(e) => {
            if I::ROUTE.access.writes() && e.status().is_client_error() {
                let params = req.path_parameters_ref();
                let ids: Vec<(&str, &str)> = routes::param_names(I::ROUTE.path())
                    .filter_map(|name| Some((name, params?.first(name)?)))
                    .collect();
                let who = caller::caller(&req).unwrap_or_default();
                audit::log_rejected(
                    &call.actor_of(&who),
                    &audit::target(&ids),
                    e.status().as_u16(),
                    &e.messages().join("; "),
                );
            }
            e.into_response(&call.interaction_id)
        }
    }
}
