//! The issuer's keys over HTTPS: the discovery document's `jwks_uri` (or a configured
//! JWKS URL), fetched with rustls and one pooled client reused across invocations.
//! Plain HTTP is accepted only for loopback addresses (a local issuer).

use crate::keys::KeySource;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;
use std::sync::Arc;

/// An HTTP/1 connector for https (and http, which callers allow on loopback only)
/// with the web PKI's roots (rustls, ring): the directory's one outbound client setup.
pub fn https_connector() -> Result<HttpsConnector<HttpConnector>, String> {
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(Arc::new(rustls::crypto::ring::default_provider()))
        .map_err(|e| format!("TLS setup: {e}"))?
        .https_or_http()
        .enable_http1()
        .build())
}
use std::time::Duration;

/// One fetch (connect, TLS, response) gives up after this long.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// Key sets and discovery documents larger than this are refused.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Where the keys are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An OpenID discovery document whose `jwks_uri` names the key set.
    Discovery(String),
    /// The key set itself.
    Jwks(String),
}

impl Location {
    /// `jwks_url` when configured, else the issuer's discovery document.
    pub fn from_config(issuer: &str, jwks_url: Option<&str>) -> Self {
        match jwks_url.filter(|u| !u.is_empty()) {
            Some(url) => Self::Jwks(url.to_owned()),
            None => Self::Discovery(format!(
                "{}/.well-known/openid-configuration",
                issuer.trim_end_matches('/')
            )),
        }
    }
}

/// The HTTPS key source.
pub struct HttpsJwks {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    location: Location,
}

/// Whether `url` may be fetched: `https://`, or `http://` to a loopback host.
pub fn allowed_url(url: &str) -> bool {
    let Ok(uri) = url.parse::<hyper::Uri>() else {
        return false;
    };
    match (uri.scheme_str(), uri.host()) {
        (Some("https"), Some(_)) => true,
        (Some("http"), Some(host)) => {
            host == "localhost"
                || host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        _ => false,
    }
}

impl HttpsJwks {
    /// A source for `location`; refuses URLs `allowed_url` refuses.
    pub fn new(location: Location) -> Result<Self, String> {
        let (Location::Discovery(url) | Location::Jwks(url)) = &location;
        if !allowed_url(url) {
            return Err(format!(
                "{url}: keys must be fetched over https (http only on loopback)"
            ));
        }
        let connector = https_connector()?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Ok(Self { client, location })
    }

    async fn get_json(&self, url: &str) -> Result<Value, String> {
        if !allowed_url(url) {
            return Err(format!("{url}: not an allowed key URL"));
        }
        let uri: hyper::Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        let fetch = async {
            let resp = self.client.get(uri).await.map_err(|e| format!("{url}: {e}"))?;
            if resp.status() != hyper::StatusCode::OK {
                return Err(format!("{url}: HTTP {}", resp.status().as_u16()));
            }
            let body = Limited::new(resp.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|e| format!("{url}: {e}"))?
                .to_bytes();
            serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON: {e}"))
        };
        tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| format!("{url}: timed out"))?
    }
}

impl KeySource for HttpsJwks {
    async fn fetch(&self) -> Result<JwkSet, String> {
        let jwks_url = match &self.location {
            Location::Jwks(url) => url.clone(),
            Location::Discovery(url) => self
                .get_json(url)
                .await?
                .get("jwks_uri")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{url}: no jwks_uri"))?,
        };
        let doc = self.get_json(&jwks_url).await?;
        serde_json::from_value(doc).map_err(|e| format!("{jwks_url}: not a JWK set: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(allowed_url("https://issuer.example/.well-known/jwks.json"));
        assert!(allowed_url("http://127.0.0.1:3000/.well-known/jwks.json"));
        assert!(allowed_url("http://localhost/x"));
        assert!(allowed_url("http://[::1]:8080/x"));
        assert!(!allowed_url("http://issuer.example/jwks"));
        assert!(!allowed_url("http://10.0.0.1/jwks"));
        assert!(!allowed_url("file:///etc/passwd"));
        assert!(!allowed_url("not a url"));
        assert_eq!(
            Location::from_config("https://iss.example/", None),
            Location::Discovery("https://iss.example/.well-known/openid-configuration".into())
        );
    }
}
