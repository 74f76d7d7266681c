//! The local HTTP server: API Gateway stand-in. Routes like the HTTP API, verifies
//! JWTs like its authorizer, converts each request to the Lambda event and calls the
//! same handler function the Lambda binary calls.

use crate::apigw::{self, Incoming};
use crate::jwt::Keys;
use bytes::Bytes;
use directory_core::error::ApiError;
use directory_core::export::ObjectTarget;
use directory_core::handlers::{self, Services};
use directory_core::http::fapi;
use directory_core::routes::{self, RouteMatch};
use directory_core::store::Store;
use futures_util::FutureExt;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as HyperBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tokio::net::TcpListener;

/// API Gateway's payload limit: larger bodies never reach a function.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// A client that has not sent its whole request head by then is disconnected
/// (slow-header clients cannot hold connections open).
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the server needs per request.
pub struct App<S, T> {
    pub services: Services<S, T>,
    pub keys: Keys,
}

type Reply = hyper::Response<Full<Bytes>>;

fn to_hyper(resp: lambda_http::Response<lambda_http::Body>) -> Reply {
    let (parts, body) = resp.into_parts();
    let bytes = match body {
        lambda_http::Body::Text(t) => Bytes::from(t),
        lambda_http::Body::Binary(b) => Bytes::from(b),
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    hyper::Response::from_parts(parts, Full::new(bytes))
}

fn error_reply(e: ApiError, headers: &hyper::HeaderMap) -> Reply {
    to_hyper(e.into_response(&fapi::read(headers).interaction_id))
}

fn bearer(headers: &hyper::HeaderMap) -> Option<&str> {
    let value = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn handle<S: Store, T: ObjectTarget>(
    app: Arc<App<S, T>>,
    req: hyper::Request<HyperBody>,
    peer: SocketAddr,
) -> Reply {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let interaction_id = fapi::read(req.headers()).interaction_id;
    // Handlers are guarded already; this also covers the event conversion, so no
    // request can end the server.
    let reply = match AssertUnwindSafe(route(app, req, peer)).catch_unwind().await {
        Ok(reply) => reply,
        Err(_) => {
            tracing::error!(%method, %path, "request panicked");
            to_hyper(directory_core::error::panic_response(&interaction_id))
        }
    };
    tracing::info!(%method, %path, status = reply.status().as_u16(), ms = started.elapsed().as_secs_f64() * 1e3, "request");
    reply
}

async fn route<S: Store, T: ObjectTarget>(
    app: Arc<App<S, T>>,
    req: hyper::Request<HyperBody>,
    peer: SocketAddr,
) -> Reply {
    let (parts, body) = req.into_parts();
    if parts.uri.path() == "/openapi.yaml" && parts.method == hyper::Method::GET {
        return openapi();
    }
    let (route, params) = match routes::find(parts.method.as_str(), parts.uri.path()) {
        RouteMatch::Found(route, params) => (route, params),
        RouteMatch::WrongMethod(allow) => {
            return error_reply(ApiError::MethodNotAllowed(allow), &parts.headers);
        }
        RouteMatch::NotFound => {
            return error_reply(
                ApiError::NotFound(format!("no route for {}", parts.uri.path())),
                &parts.headers,
            );
        }
    };
    // The authorizer runs before the function: an unverified token never reaches it.
    let claims = match bearer(&parts.headers).map(|t| app.keys.verify(t)) {
        Some(Ok(claims)) => claims,
        Some(Err(reason)) => return error_reply(ApiError::Unauthorized(reason), &parts.headers),
        None => {
            return error_reply(ApiError::Unauthorized("missing bearer token".into()), &parts.headers);
        }
    };
    let body = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return error_reply(ApiError::PayloadTooLarge(MAX_REQUEST_BYTES), &parts.headers),
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let incoming = Incoming {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        raw_query: parts.uri.query().unwrap_or(""),
        headers,
        body: &body,
        route_key: format!("{} {}", route.method(), route.path()),
        path_parameters: params,
        claims: Some(claims),
        source_ip: peer.ip().to_string(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let event = apigw::event(&incoming).to_string();
    match lambda_http::request::from_str(&event) {
        Ok(request) => to_hyper(handlers::dispatch(&route, &app.services, request).await),
        Err(e) => error_reply(
            ApiError::Internal(format!("event conversion failed: {e}")),
            &parts.headers,
        ),
    }
}

/// The API description, served without a token.
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

fn openapi() -> Reply {
    let mut reply = hyper::Response::new(Full::new(Bytes::from_static(OPENAPI.as_bytes())));
    reply.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/yaml"),
    );
    reply
}

/// Serves until `shutdown` resolves; in-flight requests are finished first and idle
/// keep-alive connections are closed.
pub async fn serve<S: Store, T: ObjectTarget + 'static>(
    listener: TcpListener,
    app: Arc<App<S, T>>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, peer)) = accepted else { continue };
                let app = app.clone();
                let mut stop = stop_rx.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let app = app.clone();
                        async move { Ok::<_, std::convert::Infallible>(handle(app, req, peer).await) }
                    });
                    let conn = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = conn.await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    let _ = stop_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), drain).await;
}
