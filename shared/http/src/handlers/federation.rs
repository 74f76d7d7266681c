//! The Trust Anchor's endpoints (OpenID Federation 1.0; openapi.yaml: the
//! `federation` tag): entity configuration, fetch, list, resolve, trust mark, trust
//! mark status, trust mark list, historical keys and the hosted entities'
//! configurations. Public, as the specification requires; errors are the
//! specification's `{"error", "error_description"}` (§8.9), not this API's `errors`
//! list, because federation clients read them.

use crate::fapi;
use crate::handlers::subscriptions::transmitter_for;
use directory_domain::events::endpoint::Reach;
use directory_domain::federation::{self as fed};
use directory_domain::routes::percent_decode;
use directory_domain::signature::Signer;
use directory_usecases::clock::now;
use directory_usecases::federation::{Anchor, AnchorStore, EntityFetch, FedError, ListFilter};
use lambda_http::http::{Method, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde_json::json;

/// The longest trust mark the status endpoint reads (openapi.yaml: TrustMarkStatusRequest).
pub const MAX_TRUST_MARK_BYTES: usize = 8192;

/// What a request asks.
#[derive(Debug, PartialEq, Eq)]
pub enum FederationCall {
    Configuration,
    Fetch(String),
    List(ListFilter),
    Resolve {
        sub: String,
        trust_anchor: String,
        entity_types: Vec<String>,
    },
    TrustMark {
        mark_type: String,
        sub: String,
    },
    TrustMarkStatus(String),
    TrustMarkList {
        mark_type: String,
        sub: Option<String>,
    },
    HistoricalKeys,
    Hosted {
        organisation_id: String,
        server_id: String,
    },
}

fn invalid(msg: impl Into<String>) -> FedError {
    FedError::InvalidRequest(msg.into())
}

/// The values of query parameter `name`.
fn all<'a>(req: &'a Request, name: &str) -> Vec<&'a str> {
    req.query_string_parameters_ref()
        .and_then(|q| q.all(name))
        .unwrap_or_default()
}

fn one(req: &Request, name: &str, required: bool) -> Result<Option<String>, FedError> {
    match all(req, name).as_slice() {
        [] if required => Err(invalid(format!("{name}: required"))),
        [] => Ok(None),
        [v] if v.is_empty() || v.chars().count() > 2048 => Err(invalid(format!("{name}: 1 to 2048 characters"))),
        [v] => Ok(Some((*v).to_owned())),
        _ => Err(invalid(format!("{name}: given more than once"))),
    }
}

fn boolean(req: &Request, name: &str) -> Result<Option<bool>, FedError> {
    match one(req, name, false)?.as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(invalid(format!("{name}: true or false"))),
    }
}

fn entity_types(req: &Request) -> Result<Vec<String>, FedError> {
    let types: Vec<String> = all(req, "entity_type").into_iter().map(str::to_owned).collect();
    if types.len() > 10 || types.iter().any(|t| t.is_empty() || t.chars().count() > 64) {
        return Err(invalid(
            "entity_type: up to 10 entity type identifiers of 1 to 64 characters",
        ));
    }
    Ok(types)
}

/// `application/x-www-form-urlencoded` field `name` of the body.
fn form_field(req: &Request, name: &str) -> Result<String, FedError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"))
    {
        return Err(invalid("Content-Type: must be application/x-www-form-urlencoded"));
    }
    let body = std::str::from_utf8(req.body().as_ref()).map_err(|_| invalid("body: not UTF-8"))?;
    let mut found = None;
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| percent_decode(&s.replace('+', " "));
        if decode(k).as_deref() == Some(name) {
            if found.is_some() {
                return Err(invalid(format!("{name}: given more than once")));
            }
            found = Some(decode(v).ok_or_else(|| invalid(format!("{name}: bad percent-encoding")))?);
        }
    }
    let value = found
        .filter(|v| !v.is_empty())
        .ok_or_else(|| invalid(format!("{name}: required")))?;
    if value.len() > MAX_TRUST_MARK_BYTES {
        return Err(invalid(format!("{name}: at most {MAX_TRUST_MARK_BYTES} characters")));
    }
    Ok(value)
}

impl FederationCall {
    /// What `req` asks, or why it cannot be answered.
    pub fn read(req: &Request) -> Result<Self, FedError> {
        let path = req.uri().path();
        let get = req.method() == Method::GET;
        Ok(match (get, path) {
            (true, fed::WELL_KNOWN) => Self::Configuration,
            (true, fed::FETCH_PATH) => Self::Fetch(one(req, "sub", true)?.unwrap_or_default()),
            (true, fed::LIST_PATH) => Self::List(ListFilter {
                entity_types: entity_types(req)?,
                trust_marked: boolean(req, "trust_marked")?,
                trust_mark_type: one(req, "trust_mark_type", false)?,
                intermediate: boolean(req, "intermediate")?,
            }),
            (true, fed::RESOLVE_PATH) => Self::Resolve {
                sub: one(req, "sub", true)?.unwrap_or_default(),
                trust_anchor: one(req, "trust_anchor", true)?.unwrap_or_default(),
                entity_types: entity_types(req)?,
            },
            (true, fed::TRUST_MARK_PATH) => Self::TrustMark {
                mark_type: one(req, "trust_mark_type", true)?.unwrap_or_default(),
                sub: one(req, "sub", true)?.unwrap_or_default(),
            },
            (false, fed::TRUST_MARK_STATUS_PATH) => Self::TrustMarkStatus(form_field(req, "trust_mark")?),
            (true, fed::TRUST_MARK_LIST_PATH) => Self::TrustMarkList {
                mark_type: one(req, "trust_mark_type", true)?.unwrap_or_default(),
                sub: one(req, "sub", false)?,
            },
            (true, fed::HISTORICAL_KEYS_PATH) => Self::HistoricalKeys,
            (true, p) if p.starts_with(fed::HOSTED_PREFIX) && p.ends_with(fed::WELL_KNOWN) => {
                let params = req.path_parameters_ref();
                let id = |n: &str| params.and_then(|p| p.first(n)).map(str::to_owned);
                match (id("OrganisationId"), id("AuthorisationServerId")) {
                    (Some(organisation_id), Some(server_id)) => Self::Hosted {
                        organisation_id,
                        server_id,
                    },
                    _ => return Err(FedError::NotFound("no such entity".into())),
                }
            }
            _ => {
                return Err(FedError::NotFound(format!(
                    "{} {path}: not a federation endpoint",
                    req.method()
                )));
            }
        })
    }
}

/// A signed answer (its `typ`) or a JSON one.
enum Answer {
    Signed(&'static str, String),
    Json(String),
}

async fn answer<S: AnchorStore>(anchor: &Anchor<'_, S>, call: FederationCall) -> Result<Answer, FedError> {
    let signed = |typ: &'static str| move |t: String| Answer::Signed(typ, t);
    let list = |ids: Vec<String>| Answer::Json(json!(ids).to_string());
    Ok(match call {
        FederationCall::Configuration => signed(fed::ENTITY_STATEMENT_TYP)(anchor.configuration().await?),
        FederationCall::Fetch(sub) => signed(fed::ENTITY_STATEMENT_TYP)(anchor.fetch(&sub).await?),
        FederationCall::List(filter) => list(anchor.list(&filter).await?),
        FederationCall::Resolve {
            sub,
            trust_anchor,
            entity_types,
        } => signed(fed::RESOLVE_TYP)(anchor.resolve(&sub, &trust_anchor, &entity_types).await?),
        FederationCall::TrustMark { mark_type, sub } => {
            signed(fed::TRUST_MARK_TYP)(anchor.trust_mark(&mark_type, &sub).await?)
        }
        FederationCall::TrustMarkStatus(mark) => {
            signed(fed::TRUST_MARK_STATUS_TYP)(anchor.trust_mark_status(&mark).await?)
        }
        FederationCall::TrustMarkList { mark_type, sub } => {
            list(anchor.trust_mark_list(&mark_type, sub.as_deref()).await?)
        }
        FederationCall::HistoricalKeys => signed(fed::JWK_SET_TYP)(anchor.historical_keys().await?),
        FederationCall::Hosted {
            organisation_id,
            server_id,
        } => signed(fed::ENTITY_STATEMENT_TYP)(anchor.hosted_configuration(&organisation_id, &server_id).await?),
    })
}

/// The specification's error answer.
pub fn error_response(e: &FedError, interaction_id: &str) -> Response<Body> {
    if e.status() >= 500 {
        tracing::error!(error = %e, "federation request failed");
    }
    let description = match e.status() {
        500 => "internal error".to_owned(),
        _ => directory_domain::messages::clip(&e.to_string(), 300).to_owned(),
    };
    respond(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        "application/json",
        "no-store",
        json!({"error": e.code(), "error_description": description}).to_string(),
        interaction_id,
    )
}

fn respond(status: StatusCode, content_type: &str, cache: &str, body: String, interaction_id: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CACHE_CONTROL, cache)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(fapi::INTERACTION_ID, interaction_id)
        .body(Body::Text(body))
        .unwrap_or_else(|_| Response::new(Body::Empty))
}

/// Serves one federation request.
pub async fn handle<S: AnchorStore>(
    store: &S,
    signer: &dyn Signer,
    fetch: &dyn EntityFetch,
    req: Request,
) -> Response<Body> {
    let interaction_id = fapi::read(req.headers()).interaction_id;
    let t = transmitter_for(&req);
    let call = match FederationCall::read(&req) {
        Ok(call) => call,
        Err(e) => return error_response(&e, &interaction_id),
    };
    let anchor = Anchor {
        store,
        signer,
        fetch,
        entity_id: &t.issuer,
        loopback: t.reach == Reach::Loopback,
        now: now(),
    };
    match answer(&anchor, call).await {
        // Statements change with their subjects: a relying party may keep one for a
        // minute (status answers: never, they are about now).
        Ok(Answer::Signed(typ, token)) => {
            let cache = match typ {
                fed::TRUST_MARK_STATUS_TYP => "no-store",
                // About a role's claim now: revalidated on every use.
                fed::RESOLVE_TYP | fed::TRUST_MARK_TYP => "no-cache",
                _ => "public, max-age=60",
            };
            respond(StatusCode::OK, &fed::media_type(typ), cache, token, &interaction_id)
        }
        Ok(Answer::Json(text)) => respond(
            StatusCode::OK,
            "application/json",
            "public, max-age=60",
            text,
            &interaction_id,
        ),
        Err(e) => error_response(&e, &interaction_id),
    }
}
