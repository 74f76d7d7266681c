//! The outbound client that pushes SETs (RFC 8935): POST with `Content-Type:
//! application/secevent+jwt`, no redirects followed (hyper follows none), and a
//! resolver that hands the connector only the addresses the deployment may reach
//! (docs/security.md, "Outbound requests"): a name that resolves to a private,
//! loopback or link-local address is refused at connect time, every time, so DNS
//! changed after the subscription was made cannot reach inside the network.

use bytes::Bytes;
use directory_domain::events::endpoint::{self, Reach};
use directory_domain::events::set::SET_CONTENT_TYPE;
use directory_domain::signature::BoxFuture;
use directory_usecases::events::{Answer, Transport};
use directory_usecases::federation::{EntityFetch, MAX_CONFIGURATION_BYTES};

/// What a GET of an entity configuration accepts.
const ENTITY_STATEMENT_MEDIA_TYPE: &str = "application/entity-statement+jwt";
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::dns::Name;
use hyper_util::rt::TokioExecutor;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

/// The largest part of a receiver's answer read (an RFC 8935 error is small).
const MAX_ANSWER_BYTES: usize = 4096;

/// A DNS resolver that drops addresses outside the reach (and fails when none is left).
#[derive(Clone, Copy)]
pub struct ReachResolver(pub Reach);

impl tower_service::Service<Name> for ReachResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = std::io::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let reach = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let allowed: Vec<SocketAddr> = found.iter().copied().filter(|a| reach.allows(a.ip())).collect();
            if allowed.is_empty() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::PermissionDenied,
                    format!("{host} resolves to no public address"),
                ));
            }
            Ok(allowed.into_iter())
        })
    }
}

/// Pushes SETs over HTTPS (and HTTP to loopback where the reach allows it).
pub struct PushClient {
    client: Client<HttpsConnector<HttpConnector<ReachResolver>>, Full<Bytes>>,
    reach: Reach,
}

impl PushClient {
    /// A client for `reach`.
    pub fn new(reach: Reach) -> Result<Self, String> {
        let mut http = HttpConnector::new_with_resolver(ReachResolver(reach));
        http.enforce_http(false);
        http.set_connect_timeout(Some(std::time::Duration::from_secs(3)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
            .map_err(|e| format!("TLS setup: {e}"))?
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(std::time::Duration::from_secs(30))
            .build(https);
        Ok(Self { client, reach })
    }
}

impl PushClient {
    /// Sends `request`; the status and up to `limit` bytes of the body.
    async fn send(&self, request: hyper::Request<Full<Bytes>>, limit: usize) -> Result<(u16, Vec<u8>), String> {
        let response = self.client.request(request).await.map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        })?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map(|c| c.to_bytes().to_vec())
            .unwrap_or_default();
        Ok((status, body))
    }
}

/// How long fetching a self-managed entity's configuration may take.
const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl EntityFetch for PushClient {
    fn get<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            // The same address rules as a push: https to public addresses (loopback
            // locally), checked literally here and at resolution by the resolver.
            let checked = endpoint::parse(url, self.reach)?;
            if let Ok(ip) = checked.host.trim_matches(['[', ']']).parse::<std::net::IpAddr>()
                && !self.reach.allows(ip)
            {
                return Err(format!("{ip} is not a public address"));
            }
            let request = hyper::Request::get(url)
                .header(hyper::header::ACCEPT, ENTITY_STATEMENT_MEDIA_TYPE)
                .body(Full::new(Bytes::new()))
                .map_err(|e| e.to_string())?;
            let (status, body) = tokio::time::timeout(FETCH_TIMEOUT, self.send(request, MAX_CONFIGURATION_BYTES))
                .await
                .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))??;
            if status != 200 {
                return Err(format!("answered {status}"));
            }
            String::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_owned())
        })
    }
}

impl Transport for PushClient {
    fn post<'a>(&'a self, url: &'a str, set: &'a str) -> BoxFuture<'a, Result<Answer, String>> {
        Box::pin(async move {
            // The URL was checked when the subscription was made; checked again here
            // (a literal address is not resolved, so the resolver would not see it).
            let checked = endpoint::parse(url, self.reach)?;
            if let Ok(ip) = checked.host.parse::<std::net::IpAddr>()
                && !self.reach.allows(ip)
            {
                return Err(format!("{ip} is not a public address"));
            }
            let request = hyper::Request::post(url)
                .header(hyper::header::CONTENT_TYPE, SET_CONTENT_TYPE)
                .header(hyper::header::ACCEPT, "application/json")
                .body(Full::new(Bytes::from(set.to_owned())))
                .map_err(|e| e.to_string())?;
            let (status, body) = self.send(request, MAX_ANSWER_BYTES).await?;
            Ok(Answer { status, body })
        })
    }
}
