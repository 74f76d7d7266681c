//! The local HTTP server: API Gateway stand-in. Routes like the HTTP API, optionally
//! terminates mutual TLS like a custom domain with a truststore, runs the Lambda
//! authorizer's own decision (`directory_authz`), converts each request to the
//! Lambda event and calls the same handler function the Lambda binary calls.

use crate::apigw::{self, Incoming};
use bytes::Bytes;
use directory_authz::{Authorizer, Deny, StaticKeys};
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

/// A client that has not finished the TLS handshake by then is disconnected.
pub const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the server needs per request.
pub struct App<S, T> {
    pub services: Services<S, T>,
    /// The authorizer's decision over the local key set.
    pub authorizer: Authorizer<StaticKeys>,
    /// The key set published at `/.well-known/jwks.json`.
    pub jwks: serde_json::Value,
    /// Mutual TLS: present when serving with `--tls`.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
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

async fn handle<S: Store, T: ObjectTarget>(
    app: Arc<App<S, T>>,
    req: hyper::Request<HyperBody>,
    peer: SocketAddr,
    client_cert: Option<Arc<str>>,
) -> Reply {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let interaction_id = fapi::read(req.headers()).interaction_id;
    // Handlers are guarded already; this also covers the event conversion, so no
    // request can end the server.
    let reply = match AssertUnwindSafe(route(app, req, peer, client_cert))
        .catch_unwind()
        .await
    {
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
    client_cert: Option<Arc<str>>,
) -> Reply {
    let (parts, body) = req.into_parts();
    if parts.method == hyper::Method::GET {
        match parts.uri.path() {
            "/openapi.yaml" => return openapi(),
            "/.well-known/jwks.json" => return json_reply(app.jwks.to_string()),
            "/.well-known/participants-jwks.json" => {
                return participants_jwks(&app.services.store, &app.services.exports, &parts.headers).await;
            }
            "/.well-known/openid-configuration" => {
                return json_reply(discovery(&parts.headers, app.tls.is_some()).to_string());
            }
            // Public like the bucket a static site serves them from.
            "/participants" | "/participants.jws" | "/participants.jwks" => {
                return published(&app.services.exports, parts.uri.path(), &parts.headers).await;
            }
            path => {
                if let Some(asset) = directory_core::explorer::asset(path) {
                    return page_asset(asset);
                }
            }
        }
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
    let token = directory_authz::lambda::bearer(&parts.headers);
    let identity = match app
        .authorizer
        .decide_for(token, client_cert.as_deref(), route.access)
        .await
    {
        Ok(identity) => identity,
        Err(Deny::Scope(scopes)) => {
            return error_reply(ApiError::Forbidden(format!("scope {scopes} required")), &parts.headers);
        }
        Err(reason) => return error_reply(ApiError::Unauthorized(reason.to_string()), &parts.headers),
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
        authorizer: Some(identity.context()),
        client_cert_pem: client_cert.as_deref(),
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

/// The keys that verify the participants file (public, like the file's own JWKS).
async fn participants_jwks<S: Store, T: ObjectTarget>(store: &S, target: &T, headers: &hyper::HeaderMap) -> Reply {
    match directory_core::export::participants_jwks(store, target).await {
        Ok(jwks) => match serde_json::to_string(&jwks) {
            Ok(body) => json_reply(body),
            Err(e) => error_reply(ApiError::Internal(e.to_string()), headers),
        },
        Err(e) => error_reply(ApiError::Internal(e.to_string()), headers),
    }
}

/// One of the explorer page's files, under its content security policy.
fn page_asset(asset: &directory_core::explorer::Asset) -> Reply {
    let mut reply = hyper::Response::new(Full::new(Bytes::from_static(asset.body.as_bytes())));
    let headers = reply.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        hyper::header::CONTENT_SECURITY_POLICY,
        hyper::header::HeaderValue::from_static(directory_core::explorer::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        hyper::header::X_CONTENT_TYPE_OPTIONS,
        hyper::header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        hyper::header::REFERRER_POLICY,
        hyper::header::HeaderValue::from_static("no-referrer"),
    );
    reply
}

/// The published file, its signature or its keys: public, as a static site serves them.
async fn published<T: ObjectTarget>(target: &T, path: &str, headers: &hyper::HeaderMap) -> Reply {
    use directory_core::signature::{JWKS_CONTENT_TYPE, JWKS_KEY, SIGNATURE_CONTENT_TYPE, SIGNATURE_KEY};
    let (read, content_type) = match path {
        "/participants.jws" => (target.get_beside(SIGNATURE_KEY).await, SIGNATURE_CONTENT_TYPE),
        "/participants.jwks" => (target.get_beside(JWKS_KEY).await, JWKS_CONTENT_TYPE),
        _ => {
            let mut bytes = Vec::new();
            let read = target.read_published(&mut |chunk| bytes.extend_from_slice(chunk)).await;
            (read.map(|()| Some(bytes)), "application/json")
        }
    };
    match read {
        Ok(Some(bytes)) => {
            let mut reply = hyper::Response::new(Full::new(Bytes::from(bytes)));
            reply.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(content_type),
            );
            reply
        }
        Ok(None) => error_reply(ApiError::NotFound(format!("{path} is not published yet")), headers),
        Err(e) => {
            tracing::warn!(error = %e, path, "reading a published object");
            error_reply(ApiError::NotFound(format!("{path} is not published yet")), headers)
        }
    }
}

/// The API description, served without a token.
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

fn json_reply(body: String) -> Reply {
    let mut reply = hyper::Response::new(Full::new(Bytes::from(body)));
    reply.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    reply
}

/// The discovery document of the local issuer: where its keys are, and that its
/// tokens are certificate-bound under `--tls`.
fn discovery(headers: &hyper::HeaderMap, tls: bool) -> serde_json::Value {
    let host = apigw::safe_host(headers.get(hyper::header::HOST).and_then(|h| h.to_str().ok()));
    let scheme = if tls { "https" } else { "http" };
    serde_json::json!({
        "issuer": crate::jwt::ISSUER,
        "jwks_uri": format!("{scheme}://{host}/.well-known/jwks.json"),
        "id_token_signing_alg_values_supported": ["ES256"],
        "tls_client_certificate_bound_access_tokens": tls,
    })
}

fn openapi() -> Reply {
    let mut reply = hyper::Response::new(Full::new(Bytes::from_static(OPENAPI.as_bytes())));
    reply.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/yaml"),
    );
    reply
}

/// Serves one connection's requests until it closes or the server stops.
async fn serve_connection<S, T, I>(
    app: Arc<App<S, T>>,
    io: TokioIo<I>,
    peer: SocketAddr,
    client_cert: Option<Arc<str>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    S: Store,
    T: ObjectTarget + 'static,
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| {
        let app = app.clone();
        let cert = client_cert.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(app, req, peer, cert).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => {}
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
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
                // Answers are one write each: no reason to wait for an ACK (Nagle).
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let stop = stop_rx.clone();
                connections.spawn(async move {
                    match app.tls.clone() {
                        None => serve_connection(app, TokioIo::new(stream), peer, None, stop).await,
                        Some(acceptor) => {
                            // A client without a certificate the local CA issued fails here,
                            // in the handshake, before any HTTP.
                            let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await else {
                                return;
                            };
                            let cert: Option<Arc<str>> = tls
                                .get_ref()
                                .1
                                .peer_certificates()
                                .and_then(|chain| chain.first())
                                .map(|der| Arc::from(crate::tls::to_pem(der.as_ref())));
                            serve_connection(app, TokioIo::new(tls), peer, cert, stop).await;
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
