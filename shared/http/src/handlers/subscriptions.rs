//! The subscription API (openapi.yaml: createSubscription, listSubscriptions,
//! getSubscription, deleteSubscription, pollSubscription): one function serves the
//! resource, each request told apart by method and path. A participant sees and
//! changes its own subscriptions only (the same 403 for another's and for none).

use crate::error::{ApiError, json_response};
use crate::handlers::put_authority_claim::is_json;
use crate::input::{Admitted, RouteInput, echo, path, serve, single};
use directory_domain::events::subscription::{CreateRequest, View};
use directory_domain::events::wire::PollRequest;
use directory_domain::routes::{Route, SUBSCRIPTIONS};
use directory_domain::signature::Signer;
use directory_usecases::clock::now;
use directory_usecases::events::{self, EventsError, Transmitter};
use directory_usecases::ports::{AuditLog, ChangeFeed, Subscriptions};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;

/// The path parameter naming a subscription.
pub const SUBSCRIPTION_ID: &str = "SubscriptionId";

/// What a request to the resource asks.
#[derive(Debug)]
pub enum SubscriptionCall {
    Create(CreateRequest),
    List { owner: Option<String> },
    Read(String),
    Delete(String),
    Poll(String, PollRequest),
}

impl From<EventsError> for ApiError {
    fn from(e: EventsError) -> Self {
        match e {
            EventsError::Refused(r) => r.into(),
            EventsError::Store(e) => e.into(),
            EventsError::Sign(e) => Self::Internal(e.to_string()),
        }
    }
}

fn stream_id(req: &Request) -> Result<String, Vec<String>> {
    let id = path(req, SUBSCRIPTION_ID).map_err(|e| e.messages())?;
    match uuid::Uuid::parse_str(id) {
        Ok(u) if u.hyphenated().to_string() == id => Ok(id.to_owned()),
        _ => Err(vec![format!(
            "{SUBSCRIPTION_ID}: must be a stream id (a lowercase UUID), not {}",
            echo(id)
        )]),
    }
}

/// A JSON request body as `T`, or the problem (with the path where it is).
pub(crate) fn body<T: DeserializeOwned>(req: &Request) -> Result<T, Vec<String>> {
    let bytes: &[u8] = req.body().as_ref();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !is_json(content_type) {
        return Err(vec!["Content-Type: must be application/json".to_owned()]);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let at = e.path().to_string();
        let inner = e.into_inner().to_string();
        vec![
            directory_domain::messages::clip(
                &format!(
                    "body{}: {inner}",
                    if at == "." { String::new() } else { format!(" at {at}") }
                ),
                300,
            )
            .to_owned(),
        ]
    })
}

impl RouteInput for SubscriptionCall {
    const ROUTE: Route = SUBSCRIPTIONS;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        let has_id = req
            .path_parameters_ref()
            .and_then(|p| p.first(SUBSCRIPTION_ID))
            .is_some();
        let poll = req.uri().path().ends_with("/poll");
        match (req.method(), has_id, poll) {
            (&Method::POST, false, _) => Ok(Self::Create(body(req)?)),
            (&Method::GET, false, _) => {
                let params = req.query_string_parameters_ref();
                let mut problems = Vec::new();
                let owner = single(
                    params.and_then(|p| p.all("organisation_id")),
                    "organisation_id",
                    &mut problems,
                );
                match problems.is_empty() {
                    true => Ok(Self::List {
                        owner: owner.map(str::to_owned),
                    }),
                    false => Err(problems),
                }
            }
            (&Method::GET, true, false) => Ok(Self::Read(stream_id(req)?)),
            (&Method::DELETE, true, false) => Ok(Self::Delete(stream_id(req)?)),
            (&Method::POST, true, true) => {
                let id = stream_id(req);
                let request = body::<PollRequest>(req);
                let (id, request) = crate::input::both(id, request)?;
                Ok(Self::Poll(id, request))
            }
            _ => Err(vec![format!(
                "{} {}: not an operation of this resource",
                req.method(),
                req.uri().path()
            )]),
        }
    }
}

/// The transmitter this process speaks as (the environment's, or the local server's).
pub fn transmitter() -> &'static Transmitter {
    static INSTALLED: std::sync::OnceLock<Transmitter> = std::sync::OnceLock::new();
    crate::handlers::TRANSMITTER
        .get()
        .unwrap_or_else(|| INSTALLED.get_or_init(Transmitter::from_env))
}

/// The transmitter for a request: the configured one, or where none names its issuer,
/// the API's own domain as API Gateway reports it (never the client's `Host`).
pub fn transmitter_for(req: &Request) -> Transmitter {
    let t = transmitter().clone();
    if !t.issuer.is_empty() {
        return t;
    }
    let domain = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone().unwrap_or_default(),
        _ => String::new(),
    };
    let issuer = format!("https://{domain}");
    Transmitter {
        jwks_uri: if t.jwks_uri.starts_with("/") || t.jwks_uri.is_empty() {
            format!("{issuer}/.well-known/participants-jwks.json")
        } else {
            t.jwks_uri
        },
        issuer,
        reach: t.reach,
    }
}

fn created(view: &View, interaction_id: &str) -> Result<Response<Body>, ApiError> {
    let text = serde_json::to_string(view).map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut response = json_response(StatusCode::CREATED, text, interaction_id);
    let location = format!("/subscriptions/{}", view.stream_id);
    response.headers_mut().insert(
        header::LOCATION,
        location.parse().map_err(|_| ApiError::Internal("location".into()))?,
    );
    Ok(response)
}

/// Serves one request to the subscription resource.
pub async fn handle<S: Subscriptions + ChangeFeed + AuditLog>(
    store: &S,
    signer: &dyn Signer,
    req: Request,
) -> Response<Body> {
    let t = transmitter_for(&req);
    let t = &t;
    serve(req, |a: Admitted<SubscriptionCall>| async move {
        let id = &a.call.interaction_id;
        let actor = a.actor();
        match a.input {
            SubscriptionCall::Create(request) => {
                let view = events::create(store, t, &a.caller, &actor, request, now()).await?;
                created(&view, id)
            }
            SubscriptionCall::List { owner } => {
                let list = events::list(store, &a.caller, owner.as_deref()).await?;
                let views: Vec<View> = list.iter().map(|s| View::of(s, &t.issuer)).collect();
                let text = serde_json::to_string(&serde_json::json!({ "subscriptions": views }))
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok(json_response(StatusCode::OK, text, id))
            }
            SubscriptionCall::Read(stream) => {
                let found = events::read(store, &a.caller, &stream).await?;
                let text = serde_json::to_string(&View::of(&found.subscription, &t.issuer))
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok(json_response(StatusCode::OK, text, id))
            }
            SubscriptionCall::Delete(stream) => {
                events::delete(store, &a.caller, &actor, &stream).await?;
                Response::builder()
                    .status(StatusCode::NO_CONTENT)
                    .header(crate::fapi::INTERACTION_ID, id.as_str())
                    .body(Body::Empty)
                    .map_err(|e| ApiError::Internal(e.to_string()))
            }
            SubscriptionCall::Poll(stream, request) => {
                let answer = events::poll(store, signer, t, &a.caller, &stream, request, now).await?;
                let text = serde_json::to_string(&answer).map_err(|e| ApiError::Internal(e.to_string()))?;
                Ok(json_response(StatusCode::OK, text, id))
            }
        }
    })
    .await
}
