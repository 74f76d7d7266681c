//! The local server under load: startup time to the first answered request (empty
//! data dir with demo import, then a restart), and requests per second with p50/p99
//! for a snapshot GET at 16 concurrent keep-alive clients, over plain HTTP and over
//! mutual TLS (`serve --tls`, bound token), side by side, and the same response from a
//! minimal hyper server (`hyper-floor`, the reference the local server is held to).
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

/// Requests per second and the latency summary of `CLIENTS` keep-alive clients.
fn load(target: &Arc<Target>, seconds: u64) -> (f64, String) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let target = target.clone();
            std::thread::spawn(move || {
                let mut c = Client::open(&target);
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    assert_eq!(c.get(&target.path, &target.token), 200);
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
    let (plain_rps, plain) = load(&Arc::new(target), seconds);
    println!("snapshot GET, {CLIENTS} clients, {seconds} s, HTTP: {plain_rps:.0} requests/s, {plain}");
    stop(child);
    // The floor: a minimal hyper server answering the same bytes, same client.
    let (floor, floor_target) = floor(&bin, &reply.body, dir.path());
    let (floor_rps, floor_summary) = load(&Arc::new(floor_target), seconds);
    println!(
        "same response from a minimal hyper server ({} bytes): {floor_rps:.0} requests/s, {floor_summary}",
        reply.body.len()
    );
    println!("local server / minimal hyper throughput: {:.2}", plain_rps / floor_rps);
    stop(floor);
    let (child, target, _) = start(&bin, dir.path(), true);
    let (tls_rps, tls) = load(&Arc::new(target), seconds);
    println!("snapshot GET, {CLIENTS} clients, {seconds} s, mutual TLS + bound token: {tls_rps:.0} requests/s, {tls}");
    println!("mutual TLS / HTTP throughput: {:.2}", tls_rps / plain_rps);
    stop(child);
}
