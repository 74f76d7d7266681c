//! The local server under load: startup time to the first answered request (empty
//! data dir with demo import, then a restart), and requests per second with p50/p99
//! for a snapshot GET at 16 concurrent keep-alive clients.
//! Usage: bench-http <path to the directory binary> [seconds]

use directory_bench::{Connection, summary};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENTS: usize = 16;

fn start(bin: &str, dir: &std::path::Path) -> (Child, String, String, Duration) {
    let t = Instant::now();
    let mut child = Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut base, mut url, mut token) = (String::new(), String::new(), String::new());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 {
        if let Some(b) = line.trim().strip_prefix("directory API listening on http://") {
            base = b.to_owned();
        }
        if let Some(rest) = line.split("Bearer ").nth(1) {
            token = rest.split('\'').next().unwrap().to_owned();
            url = line.trim().rsplit(' ').next().unwrap().to_owned();
            break;
        }
        line.clear();
    }
    let path = url.trim_start_matches(&format!("http://{base}")).to_owned();
    let status = Connection::open(&base).unwrap().get(&path, &token).unwrap();
    assert_eq!(status, 200);
    let elapsed = t.elapsed();
    std::thread::spawn(move || for _ in out.lines() {});
    (child, base, format!("{path}\n{token}"), elapsed)
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
    let (child, _, _, first) = start(&bin, dir.path());
    println!(
        "startup to first answer, empty data dir (imports the demo): {:.0} ms",
        first.as_secs_f64() * 1e3
    );
    stop(child);
    let (child, base, target, again) = start(&bin, dir.path());
    println!(
        "startup to first answer, existing data: {:.0} ms",
        again.as_secs_f64() * 1e3
    );
    let (path, token) = target.split_once('\n').unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (base, path, token) = (base.clone(), path.to_owned(), token.to_owned());
            std::thread::spawn(move || {
                let mut c = Connection::open(&base).unwrap();
                let mut samples = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    assert_eq!(c.get(&path, &token).unwrap(), 200);
                    samples.push(t.elapsed());
                }
                samples
            })
        })
        .collect();
    let samples: Vec<Duration> = workers.into_iter().flat_map(|w| w.join().unwrap()).collect();
    println!(
        "snapshot GET, {CLIENTS} clients, {seconds} s: {:.0} requests/s, {}",
        samples.len() as f64 / seconds as f64,
        summary(samples)
    );
    stop(child);
}
