//! A push receiver on loopback for tests and benchmarks (RFC 8935's receiving side,
//! minimal): it answers each POST with the status it is set to, after a delay it is
//! set to, and keeps every SET it was sent with the time it arrived.

use bytes::Bytes;
use directory_domain::events::set;
use directory_domain::signature::Jwks;
use http_body_util::{BodyExt, Full};
use serde_json::{Map, Value};
use std::sync::atomic::{AtomicI64, AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The receiver: its URL and what it was sent.
#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    pub status: Arc<AtomicU16>,
    pub delay_ms: Arc<AtomicI64>,
    pub got: Arc<Mutex<Vec<String>>>,
    /// When each SET arrived.
    pub arrived: Arc<Mutex<Vec<Instant>>>,
}

impl Receiver {
    /// Starts one on a free loopback port (it runs until the runtime ends).
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let r = Receiver {
            url: format!("http://{addr}/events"),
            status: Arc::new(AtomicU16::new(202)),
            delay_ms: Arc::new(AtomicI64::new(0)),
            got: Arc::default(),
            arrived: Arc::default(),
        };
        let me = r.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let me = me.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let me = me.clone();
                        async move {
                            assert_eq!(req.headers()["content-type"], "application/secevent+jwt");
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            me.arrived.lock().unwrap().push(Instant::now());
                            me.got.lock().unwrap().push(String::from_utf8(body.to_vec()).unwrap());
                            tokio::time::sleep(Duration::from_millis(me.delay_ms.load(Ordering::SeqCst) as u64)).await;
                            let status = me.status.load(Ordering::SeqCst);
                            let body = if status == 400 {
                                r#"{"err":"invalid_request","description":"not for us"}"#
                            } else {
                                ""
                            };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        r
    }

    /// Answers with `status` from now on.
    pub fn set(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }

    /// The claims of every SET received, each verified against the test signer's key
    /// as issued by `issuer` to this receiver.
    pub async fn claims(&self, issuer: &str) -> Vec<Map<String, Value>> {
        let jwks = Jwks::of(crate::signer().public_jwk().await.unwrap());
        let sets = self.got.lock().unwrap().clone();
        sets.iter()
            .map(|s| set::verify(s, &jwks, issuer, Some(&self.url), 0).expect("a SET that verifies"))
            .collect()
    }
}
