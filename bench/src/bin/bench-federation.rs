//! The Trust Anchor on the local server at 10,000 organisations (generated from the
//! demo data: about 1,500 hosted entities): p50/p99 of the entity configuration,
//! fetch, list and resolve, one keep-alive client, against the SSF configuration
//! (a public route that reads nothing) in the same run; the first list (the index
//! built from the feed) apart; then the signatures a claim change costs, counted
//! from the server's own log, and the signatures per hour at a stated rate.
//! Usage: bench-federation <directory binary> <gen-orgs binary>

use directory_bench::{Connection, summary};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const ORGS: usize = 10_000;
const ROUNDS: usize = 2_000;

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn timed(c: &mut Connection, paths: &[String], rounds: usize) -> String {
    let mut samples = Vec::with_capacity(rounds);
    for i in 0..rounds {
        let t = Instant::now();
        let status = c.get(&paths[i % paths.len()], "-").unwrap();
        samples.push(t.elapsed());
        assert_eq!(status, 200, "{}", paths[i % paths.len()]);
    }
    summary(samples)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (bin, generator) = (
        args.next().expect("directory binary"),
        args.next().expect("gen-orgs binary"),
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("orgs.json");
    let out = Command::new(&generator).arg(ORGS.to_string()).output().unwrap();
    std::fs::write(&file, out.stdout).unwrap();
    let data = dir.path().join("data");
    let import = Command::new(&bin)
        .arg("--data-dir")
        .arg(&data)
        .arg("import")
        .arg(&file)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(import.success());
    let mut child = Command::new(&bin)
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let base = loop {
        line.clear();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "server ended");
        if let Some(at) = line.find("http://127.0.0.1:") {
            break line[at + 7..].split(['/', ' ', '\n']).next().unwrap().to_owned();
        }
    };
    std::thread::spawn(move || for _ in stdout.lines() {});
    // Signatures, as the server logs them.
    let signed = Arc::new(AtomicUsize::new(0));
    {
        let (signed, stderr) = (signed.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for l in BufReader::new(stderr).lines().map_while(Result::ok) {
                if l.contains("federation statement signed") {
                    signed.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
    }
    let anchor = format!("http://{base}");
    let mut c = Connection::open(&base).unwrap();
    let t = Instant::now();
    let reply = directory_tests::http::get(&base, "/federation/list", "-");
    let first_list = t.elapsed();
    let hosted: Vec<String> = serde_json::from_slice::<Vec<String>>(&reply.body).unwrap();
    println!(
        "{ORGS} organisations, {} hosted entities listed; first list (index built from the feed): {:.0} ms",
        hosted.len(),
        first_list.as_secs_f64() * 1e3
    );
    let sample: Vec<String> = hosted.iter().take(100).cloned().collect();
    let fetch: Vec<String> = sample
        .iter()
        .map(|s| format!("/federation/fetch?sub={}", enc(s)))
        .collect();
    let resolve: Vec<String> = sample
        .iter()
        .map(|s| format!("/federation/resolve?sub={}&trust_anchor={}", enc(s), enc(&anchor)))
        .collect();
    // Warm: every statement of the sample signed once.
    for p in fetch.iter().chain(&resolve) {
        assert_eq!(c.get(p, "-").unwrap(), 200, "{p}");
    }
    let warm_signatures = signed.load(Ordering::SeqCst);
    println!(
        "baseline GET /.well-known/ssf-configuration: {}",
        timed(&mut c, &["/.well-known/ssf-configuration".into()], ROUNDS)
    );
    println!(
        "GET /.well-known/openid-federation:          {}",
        timed(&mut c, &["/.well-known/openid-federation".into()], ROUNDS)
    );
    println!(
        "GET /federation/fetch (100 subjects):        {}",
        timed(&mut c, &fetch, ROUNDS)
    );
    println!(
        "GET /federation/list (warm index):           {}",
        timed(&mut c, &["/federation/list".into()], ROUNDS / 10)
    );
    println!(
        "GET /federation/resolve (100 subjects):      {}",
        timed(&mut c, &resolve, ROUNDS)
    );
    let served = signed.load(Ordering::SeqCst) - warm_signatures;
    println!(
        "signatures while serving {} warm requests: {served}",
        ROUNDS * 3 + ROUNDS / 10 + ROUNDS
    );
    // What one claim change costs: set a role claim of the first sampled entity's
    // organisation Inactive, then ask for what a relying party would.
    let org = sample[0].split('/').rev().nth(1).unwrap().to_owned();
    let token = String::from_utf8(
        Command::new(&bin)
            .arg("--data-dir")
            .arg(&data)
            .args(["token", "--org", &org, "--scope", "directory:admin"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let claims = directory_tests::http::get(&base, &format!("/organisations/{org}/authorityclaims"), token.trim());
    let claims: serde_json::Value = serde_json::from_slice(&claims.body).unwrap();
    let claim = &claims[0];
    let before = signed.load(Ordering::SeqCst);
    let body = serde_json::json!({"AuthorityId": claim["AuthorityId"], "Status": "Inactive"}).to_string();
    let auth = format!("Bearer {}", token.trim());
    let put = directory_tests::http::request(
        &base,
        "PUT",
        &format!(
            "/organisations/{org}/authorityclaims/{}",
            claim["OrganisationAuthorityClaimId"].as_str().unwrap()
        ),
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        body.as_bytes(),
    );
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    for p in [&fetch[0], &resolve[0]] {
        assert_eq!(c.get(p, "-").unwrap(), 200);
    }
    std::thread::sleep(Duration::from_millis(300));
    let per_change = signed.load(Ordering::SeqCst) - before;
    println!("one claim change, then fetch and resolve of an entity of its organisation: {per_change} signatures");
    // Time alone: per entity a relying party follows, its subordinate statement and
    // hosted configuration every 18 h, its resolve answer when its chain's earliest exp
    // moves (at most as often as its trust marks), each trust mark every 45 min.
    let entities = hosted.len() as f64;
    let marks = 3.0;
    let per_hour_time = entities * (2.0 / 18.0 + (marks + 1.0) / 0.75);
    let changes_per_hour = 100.0;
    println!(
        "signatures per hour, {:.0} entities all followed, 3 roles each, {changes_per_hour:.0} claim changes an hour: \
         {per_hour_time:.0} from lifetimes + {:.0} from changes = {:.0} (KMS at $0.15 per 10,000: ${:.2}/hour), whatever the request rate",
        entities,
        changes_per_hour * per_change as f64,
        per_hour_time + changes_per_hour * per_change as f64,
        (per_hour_time + changes_per_hour * per_change as f64) * 0.15 / 10_000.0
    );
    let _ = Command::new("kill").arg("-INT").arg(child.id().to_string()).status();
    let _ = child.wait();
}
