//! Init duration of each function binary: from process start until its runtime
//! client asks the Runtime API for the first invocation (what Lambda reports as
//! Init Duration), against a hello-world lambda_http binary built the same way.
//! A minimal Runtime API endpoint here records that first request.
//! Usage: bench-init <dir with the binaries> (env: TABLE_NAME, BUCKET_NAME and the
//! service endpoints, as bench/run.sh sets them)

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn init_once(bin: &str) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("ISSUER", "https://issuer.example")
        .env("AUDIENCE", "directory-api")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let (stream, _) = listener.accept().unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    let elapsed = started.elapsed();
    assert!(line.contains("/runtime/invocation/next"), "{bin}: {line}");
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

fn median(bin: &str) -> Duration {
    let mut runs: Vec<Duration> = (0..RUNS).map(|_| init_once(bin)).collect();
    runs.sort();
    runs[RUNS / 2]
}

fn main() {
    let dir = std::env::args().nth(1).expect("usage: bench-init <binary dir>");
    let hello = median(&format!("{dir}/hello-lambda"));
    println!(
        "hello-world lambda_http: init {:.1} ms (median of {RUNS})",
        hello.as_secs_f64() * 1e3
    );
    // One binary per row of the route table, and the authorizer (whose keys are
    // fetched on its first decision, not at init).
    for f in directory_domain::routes::function_names() {
        let d = median(&format!("{dir}/{f}"));
        println!(
            "{f}: init {:.1} ms, {:.1}x hello-world",
            d.as_secs_f64() * 1e3,
            d.as_secs_f64() / hello.as_secs_f64()
        );
    }
}
