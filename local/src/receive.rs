//! The reference receiver of change events (`receive`): an RFC 8935 push endpoint that
//! finds the transmitter's keys through its SSF configuration, verifies every SET
//! (ES256 with a published key, `typ`, `iss`, and `aud` when given), answers 202 or
//! RFC 8935's 400 with the error code, de-duplicates by `jti`, prints one line per
//! event, and with `--into` brings a local copy of the participants file up to the
//! event's revision through the verified changes feed (`sync`).

use crate::fetch::Fetch;
use crate::sync::{Copy, Source, sync};
use bytes::Bytes;
use directory_domain::events::set::{self, SET_CONTENT_TYPE};
use directory_domain::events::wire::{Configuration, PushError};
use directory_domain::signature::Jwks;
use directory_usecases::clock::now;
use http_body_util::{BodyExt, Full, Limited};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The largest SET accepted.
const MAX_SET_BYTES: usize = 64 * 1024;
/// `jti`s remembered for de-duplication (the oldest are forgotten first).
const REMEMBERED: usize = 100_000;

/// What the receiver holds between requests.
pub struct Receiver<F> {
    fetch: F,
    config: Configuration,
    audience: Option<String>,
    jwks: Mutex<Jwks>,
    seen: Mutex<(HashSet<String>, std::collections::VecDeque<String>)>,
    copy: Option<(Source, Copy)>,
    /// Serialises the copy's updates.
    syncing: tokio::sync::Mutex<()>,
}

impl<F: Fetch> Receiver<F> {
    /// A receiver of the transmitter at `issuer` (its SSF configuration and keys read now).
    pub async fn new(
        fetch: F,
        issuer: &str,
        audience: Option<String>,
        copy: Option<(Source, Copy)>,
    ) -> Result<Self, String> {
        let url = format!("{}/.well-known/ssf-configuration", issuer.trim_end_matches('/'));
        let got = fetch.get(&url, &[], 64 * 1024).await?;
        if got.status != 200 {
            return Err(format!("{url}: HTTP {}", got.status));
        }
        let config: Configuration = serde_json::from_slice(&got.body).map_err(|e| format!("{url}: {e}"))?;
        let jwks = keys(&fetch, &config.jwks_uri).await?;
        Ok(Self {
            fetch,
            config,
            audience,
            jwks: Mutex::new(jwks),
            seen: Mutex::default(),
            copy,
            syncing: tokio::sync::Mutex::new(()),
        })
    }

    /// Handles one pushed SET: the status and body to answer with.
    pub async fn receive(&self, content_type: Option<&str>, token: &str) -> (u16, Option<PushError>) {
        let refuse = |err: &str, description: String| {
            (
                400,
                Some(PushError {
                    err: err.to_owned(),
                    description,
                }),
            )
        };
        if content_type != Some(SET_CONTENT_TYPE) {
            return refuse("invalid_request", format!("Content-Type must be {SET_CONTENT_TYPE}"));
        }
        let verify = |jwks: &Jwks| set::verify(token, jwks, &self.config.issuer, self.audience.as_deref(), now());
        let jwks = self.jwks.lock().map(|j| j.clone()).unwrap_or_default();
        let claims = match verify(&jwks) {
            Err(e) if e.err == "invalid_key" => {
                // A key rotated since the keys were read: read them once more.
                match keys(&self.fetch, &self.config.jwks_uri).await {
                    Ok(fresh) => {
                        let again = verify(&fresh);
                        if let Ok(mut j) = self.jwks.lock() {
                            *j = fresh;
                        }
                        again
                    }
                    Err(_) => Err(e),
                }
            }
            other => other,
        };
        let claims = match claims {
            Ok(c) => c,
            Err(e) => return refuse(e.err, e.description),
        };
        let jti = claims["jti"].as_str().unwrap_or_default().to_owned();
        let new = match self.seen.lock() {
            Ok(mut seen) => {
                let fresh = seen.0.insert(jti.clone());
                if fresh {
                    seen.1.push_back(jti.clone());
                    if seen.1.len() > REMEMBERED
                        && let Some(old) = seen.1.pop_front()
                    {
                        seen.0.remove(&old);
                    }
                }
                fresh
            }
            Err(_) => true,
        };
        if !new {
            return (202, None);
        }
        let mut revision = None;
        for (uri, payload) in claims["events"].as_object().into_iter().flatten() {
            let mut line = serde_json::Map::new();
            line.insert("jti".into(), jti.clone().into());
            line.insert("type".into(), uri.clone().into());
            if let Some(p) = payload.as_object() {
                line.extend(p.clone());
                revision = revision.or(p.get("revision").and_then(|r| r.as_u64()));
            }
            println!("{}", serde_json::Value::Object(line));
        }
        if let (Some((source, copy)), Some(revision)) = (&self.copy, revision) {
            let _one = self.syncing.lock().await;
            match sync(&self.fetch, source, copy).await {
                Ok(s) if s.revision >= revision => {
                    eprintln!("copy at revision {} ({} organisations)", s.revision, s.organisations)
                }
                Ok(s) => eprintln!(
                    "copy at revision {}; the event's revision {revision} is not in the feed yet",
                    s.revision
                ),
                Err(e) => eprintln!("copy not updated: {e}"),
            }
        }
        (202, None)
    }
}

async fn keys<F: Fetch>(fetch: &F, url: &str) -> Result<Jwks, String> {
    let got = fetch.get(url, &[], 256 * 1024).await?;
    if got.status != 200 {
        return Err(format!("{url}: HTTP {}", got.status));
    }
    serde_json::from_slice(&got.body).map_err(|e| format!("{url}: not a JWK set: {e}"))
}

/// Serves the receiver on `listener` until the process ends.
pub async fn serve<F: Fetch + 'static>(
    receiver: Arc<Receiver<F>>,
    listener: tokio::net::TcpListener,
) -> Result<(), String> {
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let receiver = receiver.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let receiver = receiver.clone();
                async move {
                    let content_type = req
                        .headers()
                        .get(hyper::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let (status, error) = if req.method() != hyper::Method::POST {
                        (405, None)
                    } else {
                        match Limited::new(req.into_body(), MAX_SET_BYTES).collect().await {
                            Ok(body) => {
                                let token = String::from_utf8_lossy(&body.to_bytes()).into_owned();
                                receiver.receive(content_type.as_deref(), token.trim()).await
                            }
                            Err(_) => (
                                400,
                                Some(PushError {
                                    err: "invalid_request".into(),
                                    description: format!("a SET is at most {MAX_SET_BYTES} bytes"),
                                }),
                            ),
                        }
                    };
                    let mut response = hyper::Response::builder().status(status);
                    let body = match error {
                        Some(e) => {
                            response = response.header(hyper::header::CONTENT_TYPE, "application/json");
                            serde_json::to_vec(&e).unwrap_or_default()
                        }
                        None => Vec::new(),
                    };
                    response.body(Full::new(Bytes::from(body)))
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}
