//! The local HTTP server: API Gateway stand-in. Routes like the HTTP API, optionally
//! terminates mutual TLS like a custom domain with a truststore, runs the Lambda
//! authorizer's own decision (`directory_authz`), converts each request to the
//! Lambda event and calls the same handler function the Lambda binary calls.

use crate::apigw::{self, Incoming};
use bytes::Bytes;
use directory_authz::{Authorizer, Deny, StaticKeys};
use directory_domain::routes::{self, RouteMatch};
use directory_http::error::ApiError;
use directory_http::fapi;
use directory_http::handlers::{self, Services};
use directory_usecases::export::ObjectTarget;
use directory_usecases::ports::Store;
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
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// How long a client may take to send a request head, or a request body, or to finish
/// the TLS handshake, and how long an idle keep-alive connection stays open, unless
/// configured otherwise (`serve --request-timeout`): slow clients cannot hold a
/// connection, or the memory of a body, for longer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once unless configured otherwise (`serve --max-connections`);
/// further clients wait in the listen backlog until one closes. Keep it below the
/// process's open-files limit.
pub const MAX_CONNECTIONS: usize = 256;

/// What limits one server (docs/design.md, "Server limits").
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Request head, request body, TLS handshake and keep-alive idle time.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            request_timeout: REQUEST_TIMEOUT,
        }
    }
}

/// What the server needs per request.
pub struct App<S, T> {
    pub services: Services<S, T>,
    /// The authorizer's decision over the local key set.
    pub authorizer: Authorizer<StaticKeys>,
    /// The key set published at `/.well-known/jwks.json`.
    pub jwks: serde_json::Value,
    /// Mutual TLS: present when serving with `--tls`.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    /// Connection and time limits.
    pub limits: Limits,
    /// Wakes the worker (the sequencer and requested exports) after a write.
    pub wake: Arc<tokio::sync::Notify>,
    /// Pushes change events (the local stand-in of the `deliver-events` function).
    pub push: Arc<directory_authz::push::PushClient>,
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
            to_hyper(directory_http::error::panic_response(&interaction_id))
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
                if let Some(asset) = directory_usecases::explorer::asset(path) {
                    return page_asset(asset);
                }
            }
        }
    }
    let (route, http, params) = match routes::find(parts.method.as_str(), parts.uri.path()) {
        RouteMatch::Found(route, http, params) => (route, http, params),
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
    // A body the route cannot take is refused before a byte of it is read.
    if let Some(refusal) = declared_body_refusal(&parts.headers, route.max_body) {
        return error_reply(refusal, &parts.headers);
    }
    // The authorizer runs before the function: an unverified token never reaches it.
    // A public route has none (as in the template): no token is read.
    let identity = if route.access == directory_domain::auth::Access::Public {
        None
    } else {
        let token = directory_authz::lambda::bearer(&parts.headers);
        match app
            .authorizer
            .decide_for(token, client_cert.as_deref(), route.access)
            .await
        {
            Ok(identity) => Some(identity),
            Err(Deny::Scope(scopes)) => {
                return error_reply(ApiError::Forbidden(format!("scope {scopes} required")), &parts.headers);
            }
            Err(reason) => return error_reply(ApiError::Unauthorized(reason.to_string()), &parts.headers),
        }
    };
    let timeout = app.limits.request_timeout;
    let body = match tokio::time::timeout(timeout, Limited::new(body, route.max_body).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => return error_reply(ApiError::PayloadTooLarge(route.max_body), &parts.headers),
        Err(_) => {
            let mut reply = error_reply(ApiError::RequestTimeout(timeout.as_secs()), &parts.headers);
            reply.headers_mut().insert(
                hyper::header::CONNECTION,
                hyper::header::HeaderValue::from_static("close"),
            );
            return reply;
        }
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
        route_key: format!("{} {}", http.method, http.path),
        path_parameters: params,
        authorizer: identity.map(|i| i.context()),
        client_cert_pem: client_cert.as_deref(),
        source_ip: peer.ip().to_string(),
        request_id: uuid::Uuid::new_v4().to_string(),
    };
    let event = apigw::event(&incoming).to_string();
    match lambda_http::request::from_str(&event) {
        Ok(request) => {
            let reply = to_hyper(handlers::dispatch(&route, &app.services, request).await);
            if route.access.writes() || route.access == directory_domain::auth::Access::Subscriber {
                // The change is committed with its outbox item: the sequencer runs now
                // (and a new subscription gets its verification event).
                app.wake.notify_one();
            }
            reply
        }
        Err(e) => error_reply(
            ApiError::Internal(format!("event conversion failed: {e}")),
            &parts.headers,
        ),
    }
}

/// The refusal of a body the request declares (`Content-Length`, or chunked transfer
/// coding) beyond `max` bytes, before any of it is read.
fn declared_body_refusal(headers: &hyper::HeaderMap, max: usize) -> Option<ApiError> {
    let length = headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let chunked = headers.contains_key(hyper::header::TRANSFER_ENCODING);
    match length {
        Some(n) if n > max as u64 => Some(ApiError::PayloadTooLarge(max)),
        None if chunked && max == 0 => Some(ApiError::PayloadTooLarge(max)),
        _ => None,
    }
}

/// The keys that verify the participants file (public, like the file's own JWKS).
async fn participants_jwks<S: Store, T: ObjectTarget>(store: &S, target: &T, headers: &hyper::HeaderMap) -> Reply {
    match directory_usecases::export::participants_jwks(store, target).await {
        Ok(jwks) => match serde_json::to_string(&jwks) {
            Ok(body) => json_reply(body),
            Err(e) => error_reply(ApiError::Internal(e.to_string()), headers),
        },
        Err(e) => error_reply(ApiError::Internal(e.to_string()), headers),
    }
}

/// One of the explorer page's files, under its content security policy.
fn page_asset(asset: &directory_usecases::explorer::Asset) -> Reply {
    let mut reply = static_reply(Bytes::from_static(asset.body.as_bytes()), asset.content_type);
    let headers = reply.headers_mut();
    headers.insert(
        hyper::header::CONTENT_SECURITY_POLICY,
        hyper::header::HeaderValue::from_static(directory_usecases::explorer::CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        hyper::header::REFERRER_POLICY,
        hyper::header::HeaderValue::from_static("no-referrer"),
    );
    reply
}

/// A 200 of `body` as `content_type`, never sniffed into another type: every response
/// the server makes itself (not a handler's) is built here.
fn static_reply(body: Bytes, content_type: &'static str) -> Reply {
    let mut reply = hyper::Response::new(Full::new(body));
    let headers = reply.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    headers.insert(
        hyper::header::X_CONTENT_TYPE_OPTIONS,
        hyper::header::HeaderValue::from_static("nosniff"),
    );
    reply
}

/// The published file, its signature or its keys: public, as a static site serves them.
async fn published<T: ObjectTarget>(target: &T, path: &str, headers: &hyper::HeaderMap) -> Reply {
    use directory_domain::signature::{JWKS_CONTENT_TYPE, JWKS_KEY, SIGNATURE_CONTENT_TYPE, SIGNATURE_KEY};
    let revision = match target.get_beside(SIGNATURE_KEY).await {
        Ok(Some(jws)) => String::from_utf8(jws)
            .ok()
            .and_then(|j| directory_domain::signature::header_of(&j))
            .and_then(|h| h.revision),
        _ => None,
    };
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
            let mut reply = static_reply(Bytes::from(bytes), content_type);
            // The revision the published file reflects (as the S3 object's tag says).
            if let Some(r) = revision.filter(|_| path == "/participants") {
                reply.headers_mut().insert(
                    directory_domain::feed::REVISION_HEADER,
                    hyper::header::HeaderValue::from(r),
                );
            }
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
    static_reply(Bytes::from(body), "application/json")
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
    static_reply(Bytes::from_static(OPENAPI.as_bytes()), "application/yaml")
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
    let timeout = app.limits.request_timeout;
    let service = service_fn(move |req| {
        let app = app.clone();
        let cert = client_cert.clone();
        async move { Ok::<_, std::convert::Infallible>(handle(app, req, peer, cert).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
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

/// Waits between failed accepts: a failure such as EMFILE (no descriptor left) repeats
/// at once if retried at once, burning a core while the listener is unusable.
#[derive(Debug)]
pub struct AcceptBackoff {
    next: Duration,
}

impl AcceptBackoff {
    /// The first wait after a failure.
    pub const FIRST: Duration = Duration::from_millis(5);
    /// The longest wait.
    pub const MAX: Duration = Duration::from_secs(1);

    /// The wait after one more failure (doubling up to [`Self::MAX`]).
    pub fn failed(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(Self::MAX);
        wait
    }

    /// An accept succeeded: the next failure waits [`Self::FIRST`] again.
    pub fn succeeded(&mut self) {
        self.next = Self::FIRST;
    }
}

impl Default for AcceptBackoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// How often the worker looks for queued changes and export requests without being woken.
pub const WORKER_TICK: Duration = Duration::from_secs(1);

/// The local stand-in for the stream-triggered functions: gives queued changes their
/// revisions (woken by every write, and every [`WORKER_TICK`]) and runs the export
/// runs the export route requests, until `stop` says so.
pub async fn worker<S: Store, T: ObjectTarget + 'static>(
    app: Arc<App<S, T>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut handled: Option<i64> = app.services.store.export_requested().await.ok().flatten();
    let deliver = Arc::new(tokio::sync::Notify::new());
    let delivery = tokio::spawn(delivery_worker(app.clone(), deliver.clone(), stop.clone()));
    let _stop_delivery = AbortOnDrop(delivery);
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = app.wake.notified() => {}
            _ = tokio::time::sleep(WORKER_TICK) => {}
        }
        if let Err(e) = directory_usecases::feed::sequence(&app.services.store).await {
            tracing::error!(error = %e, "sequencing the change feed failed; retried on the next tick");
        }
        // Delivery runs beside: a slow receiver never holds up the sequencer.
        deliver.notify_one();
        let requested = app.services.store.export_requested().await.ok().flatten();
        if requested.is_some() && requested != handled {
            handled = requested;
            let actor = directory_domain::audit::Actor::system("local-worker", "requested-export");
            match directory_usecases::export::run_as(&app.services.store, &app.services.exports, &actor, &mut |_| {})
                .await
            {
                Ok(report) => tracing::info!(
                    revision = report.revision,
                    organisations = report.organisations,
                    "requested export published"
                ),
                Err(e) => tracing::error!(error = %e, "requested export failed"),
            }
        }
    }
}

/// Aborts a task when dropped (the worker's delivery task ends with it).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The local stand-in for the `deliver-events` function: delivers due change events
/// after every sequencer run and every [`WORKER_TICK`] (retries fall due by time).
async fn delivery_worker<S: Store, T: ObjectTarget + 'static>(
    app: Arc<App<S, T>>,
    wake: Arc<tokio::sync::Notify>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let config = directory_usecases::events::DeliveryConfig::default();
    let transmitter = directory_http::handlers::subscriptions::transmitter();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(WORKER_TICK) => {}
        }
        let signer = app.services.exports.signer();
        let clock = directory_usecases::clock::now;
        if let Err(e) = directory_usecases::events::deliver_due(
            &app.services.store,
            signer,
            app.push.as_ref(),
            transmitter,
            &config,
            &clock,
        )
        .await
        {
            tracing::error!(error = %e, "delivering change events failed; retried on the next tick");
        }
    }
}

/// Serves until `shutdown` resolves; in-flight requests are finished first and idle
/// keep-alive connections are closed. At most `limits.max_connections` connections are
/// served at once (the next is accepted when one closes), and a failing accept is
/// retried after a growing wait.
pub async fn serve<S: Store, T: ObjectTarget + 'static>(
    listener: TcpListener,
    app: Arc<App<S, T>>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(worker(app.clone(), stop_rx.clone()));
    let mut connections = tokio::task::JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(app.limits.max_connections.max(1)));
    let mut backoff = AcceptBackoff::default();
    tokio::pin!(shutdown);
    loop {
        // A slot first: at the cap, clients wait in the kernel's backlog and cost this
        // process no descriptor.
        let slot = tokio::select! {
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        while let Some(_done) = connections.try_join_next() {}
        let (stream, peer) = match accepted {
            Ok(accepted) => {
                backoff.succeeded();
                accepted
            }
            Err(e) => {
                let wait = backoff.failed();
                tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "accept failed; backing off");
                drop(slot);
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(wait) => continue,
                }
            }
        };
        // Answers are one write each: no reason to wait for an ACK (Nagle).
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let stop = stop_rx.clone();
        connections.spawn(async move {
            let _slot = slot;
            match app.tls.clone() {
                None => serve_connection(app, TokioIo::new(stream), peer, None, stop).await,
                Some(acceptor) => {
                    // A client without a certificate the local CA issued fails here,
                    // in the handshake, before any HTTP.
                    let handshake = tokio::time::timeout(app.limits.request_timeout, acceptor.accept(stream));
                    let Ok(Ok(tls)) = handshake.await else {
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
    let _ = stop_tx.send(true);
    let drain = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(10), drain).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), worker).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_failures_wait_longer_each_time_up_to_a_second() {
        let mut b = AcceptBackoff::default();
        let waits: Vec<u64> = (0..10).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
        b.succeeded();
        assert_eq!(b.failed(), AcceptBackoff::FIRST);
    }

    #[test]
    fn a_declared_body_beyond_the_route_limit_is_refused_unread() {
        let mut h = hyper::HeaderMap::new();
        assert!(declared_body_refusal(&h, 0).is_none());
        h.insert(hyper::header::CONTENT_LENGTH, "10485760".parse().unwrap());
        assert_eq!(declared_body_refusal(&h, 0), Some(ApiError::PayloadTooLarge(0)));
        assert_eq!(
            declared_body_refusal(&h, 1 << 20),
            Some(ApiError::PayloadTooLarge(1 << 20))
        );
        h.insert(hyper::header::CONTENT_LENGTH, "0".parse().unwrap());
        assert!(declared_body_refusal(&h, 0).is_none());
        let mut chunked = hyper::HeaderMap::new();
        chunked.insert(hyper::header::TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert!(declared_body_refusal(&chunked, 0).is_some());
        assert!(
            declared_body_refusal(&chunked, 1 << 20).is_none(),
            "read within the limit"
        );
    }
}
