//! HTTP GETs for the reference consumers (`sync`): https, or http to a loopback host
//! (the authorizer's rule for key URLs), bodies bounded, one pooled client.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::future::Future;
use std::time::Duration;

/// One GET (connect, TLS, whole body) gives up after this long.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// A response as the consumer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: u16,
    /// Header names lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Fetched {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the consumer fetches through (the tests put a tampering one in between).
pub trait Fetch: Send + Sync {
    /// GETs `url` with these request headers, reading at most `max` bytes of body.
    fn get(
        &self,
        url: &str,
        headers: &[(&str, &str)],
        max: usize,
    ) -> impl Future<Output = Result<Fetched, String>> + Send;
}

/// The real client.
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl Http {
    /// A client with the web PKI's roots (rustls, ring).
    pub fn new() -> Result<Self, String> {
        let connector = directory_authz::fetch::https_connector()?;
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }
}

impl Fetch for Http {
    async fn get(&self, url: &str, headers: &[(&str, &str)], max: usize) -> Result<Fetched, String> {
        if !directory_authz::fetch::allowed_url(url) {
            return Err(format!("{url}: only https, or http to a loopback host"));
        }
        let mut request = hyper::Request::get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Empty::new()).map_err(|e| format!("{url}: {e}"))?;
        let fetch = async {
            let response = self.client.request(request).await.map_err(|e| format!("{url}: {e}"))?;
            let status = response.status().as_u16();
            let headers = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect();
            let body = Limited::new(response.into_body(), max)
                .collect()
                .await
                .map_err(|e| format!("{url}: {e}"))?
                .to_bytes()
                .to_vec();
            Ok(Fetched { status, headers, body })
        };
        tokio::time::timeout(FETCH_TIMEOUT, fetch)
            .await
            .map_err(|_| format!("{url}: timed out"))?
    }
}
