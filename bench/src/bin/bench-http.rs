//! The local server under load: startup time to the first answered request (empty
//! data dir with demo import, then a restart), and requests per second with p50/p99
//! for a snapshot GET at 16 concurrent keep-alive clients, over plain HTTP and over
//! mutual TLS (`serve --tls`, bound token), side by side, and the same response from a
//! minimal hyper server (`hyper-floor`, the reference the local server is held to).
//! Then the same pipeline for an unknown organisation against the floor with its
//! bytes, which bounds what any store or serialisation speed-up could give.
//! Usage: bench-http <path to the directory binary> [seconds]

use directory_bench::{Connection, summary};
use directory_tests::http::tls_client_config;
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;

/// What the printed curl line names: where, which path, which token, and under
/// `--tls` the CA, client certificate and key files.
struct Target {
    base: String,
    path: String,
    token: String,
    tls: Option<Arc<rustls::ClientConfig>>,
}

fn start(bin: &str, dir: &std::path::Path, tls: bool) -> (Child, Target, Duration) {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--port", "0"])
        .args(if tls { &["--tls"][..] } else { &[][..] })
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let curl = loop {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "server ended before its curl line"
        );
        if line.contains("Bearer ") {
            break line.trim().to_owned();
        }
    };
    let arg = |flag: &str| {
        curl.split(flag)
            .nth(1)
            .map(|r| r.split_whitespace().next().unwrap().to_owned())
    };
    let token = curl
        .split("Bearer ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    let url = curl.rsplit(' ').next().unwrap();
    let (scheme, rest) = url.split_once("://").unwrap();
    let (base, path) = rest.split_at(rest.find('/').unwrap());
    let config = (scheme == "https").then(|| {
        let (ca, cert, key) = (
            arg("--cacert ").unwrap(),
            arg("--cert ").unwrap(),
            arg("--key ").unwrap(),
        );
        tls_client_config(Path::new(&ca), Some((Path::new(&cert), Path::new(&key))))
    });
    let target = Target {
        base: base.to_owned(),
        path: path.to_owned(),
        token,
        tls: config,
    };
    assert_eq!(get_once(&target), 200);
    let elapsed = t.elapsed();
    std::thread::spawn(move || for _ in out.lines() {});
    (child, target, elapsed)
}

/// A keep-alive client of the target: plain TCP or TLS with the client certificate.
enum Client {
    Plain(Connection),
    Tls(Box<Connection<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>>),
}

impl Client {
    fn open(target: &Target) -> Self {
        match &target.tls {
            None => Self::Plain(Connection::open(&target.base).unwrap()),
            Some(config) => {
                let tcp = TcpStream::connect(&target.base).unwrap();
                tcp.set_nodelay(true).unwrap();
                let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
                let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
                Self::Tls(Box::new(Connection::over(
                    rustls::StreamOwned::new(conn, tcp),
                    "localhost",
                )))
            }
        }
    }

    fn get(&mut self, path: &str, token: &str) -> u16 {
        match self {
            Self::Plain(c) => c.get(path, token).unwrap(),
            Self::Tls(c) => c.get(path, token).unwrap(),
        }
    }
}

fn get_once(target: &Target) -> u16 {
    Client::open(target).get(&target.path, &target.token)
}

/// Requests per second and the latency summary of `CLIENTS` keep-alive clients, each
/// answer expected to have `status`.
fn load(target: &Arc<Target>, seconds: u64, status: u16) -> (f64, String) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || {
                let mut c = Client::open(&target);
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    assert_eq!(c.get(&target.path, &target.token), status);
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let samples: Vec<Duration> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    (samples.len() as f64 / seconds as f64, summary(samples))
}

/// Starts `hyper-floor` (beside the directory binary) answering `body`.
fn floor(bin: &str, body: &[u8], dir: &Path) -> (Child, Target) {
    let file = dir.join("floor-body.json");
    std::fs::write(&file, body).unwrap();
    let exe = Path::new(bin).with_file_name("hyper-floor");
    let mut child = Command::new(exe)
        .arg(&file)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start hyper-floor");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("hyper-floor address")
        .to_owned();
    let target = Target {
        base,
        path: "/".into(),
        token: "-".into(),
        tls: None,
    };
    (child, target)
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    let _ = child.wait();
}

fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: bench-http <directory binary> [seconds]");
    let seconds: u64 = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let (child, _, first) = start(&bin, dir.path(), false);
    println!(
        "startup to first answer, empty data dir (imports the demo): {:.0} ms",
        first.as_secs_f64() * 1e3
    );
    stop(child);
    let (child, target, again) = start(&bin, dir.path(), false);
    println!(
        "startup to first answer, existing data: {:.0} ms",
        again.as_secs_f64() * 1e3
    );
    let reply = directory_tests::http::get(&target.base, &target.path, &target.token);
    // The same request for an organisation id no one has: the whole pipeline (routing,
    // authorizer decision, Lambda event built and parsed, handler admission, error
    // body with the FAPI headers, logging) without the read or the snapshot. The
    // bench token's organisation is another, so the handler answers 403 before the
    // store; a token that may read any organisation would add one store miss (404).
    let missing = Arc::new(Target {
        path: missing_path(&target.path),
        base: target.base.clone(),
        token: target.token.clone(),
        tls: None,
    });
    let miss = directory_tests::http::get(&missing.base, &missing.path, &missing.token);
    let target = Arc::new(target);
    let (plain_rps, plain) = load(&target, seconds, 200);
    println!("snapshot GET, {CLIENTS} clients, {seconds} s, HTTP: {plain_rps:.0} requests/s, {plain}");
    let (miss_rps, miss_summary) = load(&missing, seconds, miss.status);
    println!(
        "unknown organisation id ({}, {} bytes), the same pipeline without the read or the snapshot: {miss_rps:.0} requests/s, {miss_summary}",
        miss.status,
        miss.body.len()
    );
    stop(child);
    // The floor: a minimal hyper server answering the same bytes, same client.
    let (server, floor_target) = floor(&bin, &reply.body, dir.path());
    let (floor_rps, floor_summary) = load(&Arc::new(floor_target), seconds, 200);
    println!(
        "same response from a minimal hyper server ({} bytes): {floor_rps:.0} requests/s, {floor_summary}",
        reply.body.len()
    );
    println!("local server / minimal hyper throughput: {:.2}", plain_rps / floor_rps);
    stop(server);
    let (server, floor_target) = floor(&bin, &miss.body, dir.path());
    let (miss_floor_rps, _) = load(&Arc::new(floor_target), seconds, 200);
    stop(server);
    // What the pipeline alone costs per request over the floor, on these cores; the
    // snapshot route pays at least that on top of serving its bytes, so even a free
    // read and free serialisation could reach no more than this.
    let pipeline = 1.0 / miss_rps - 1.0 / miss_floor_rps;
    let bound = 1.0 / (1.0 / floor_rps + pipeline);
    println!(
        "minimal hyper with the unknown organisation's bytes: {miss_floor_rps:.0} requests/s; pipeline cost over the floor: {:.0} us of the machine per request",
        pipeline * 1e6
    );
    println!(
        "snapshot route with a free store read and free serialisation, at most: {bound:.0} requests/s ({:.2} of minimal hyper)",
        bound / floor_rps
    );
    let (child, target, _) = start(&bin, dir.path(), true);
    let (tls_rps, tls) = load(&Arc::new(target), seconds, 200);
    println!("snapshot GET, {CLIENTS} clients, {seconds} s, mutual TLS + bound token: {tls_rps:.0} requests/s, {tls}");
    println!("mutual TLS / HTTP throughput: {:.2}", tls_rps / plain_rps);
    stop(child);
}

/// The snapshot path with its organisation id replaced by one no organisation has.
fn missing_path(path: &str) -> String {
    let mut parts: Vec<&str> = path.split('/').collect();
    let id = parts
        .iter()
        .position(|p| *p == "organisations")
        .expect("an organisations path")
        + 1;
    parts[id] = "00000000-0000-4000-8000-00000000dead";
    parts.join("/")
}
