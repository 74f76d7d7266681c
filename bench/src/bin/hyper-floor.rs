//! The reference of the local-server benchmark: the least an HTTP/1.1 server on hyper
//! can do per request (no routing, auth, store or logging), answering every request
//! with the bytes of a file. Same runtime flavour as `directory serve`.
//! Usage: hyper-floor <body file>; prints "listening on ADDR".

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

#[tokio::main]
async fn main() {
    let path = std::env::args().nth(1).expect("usage: hyper-floor <body file>");
    let body = Bytes::from(std::fs::read(path).expect("read the body file"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("listening on {}", listener.local_addr().unwrap());
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        stream.set_nodelay(true).unwrap();
        let body = body.clone();
        tokio::spawn(async move {
            let service = service_fn(move |_req| {
                let mut reply = hyper::Response::new(Full::new(body.clone()));
                reply.headers_mut().insert(
                    hyper::header::CONTENT_TYPE,
                    hyper::header::HeaderValue::from_static("application/json"),
                );
                async move { Ok::<_, std::convert::Infallible>(reply) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
