//! The authorizer's decision in process: the keys fetched over HTTP from the local
//! server's discovery document on the first decision, then cached; the repeat
//! decision for the same certificate-bound ES256 token (remembered: no signature
//! check, the binding checked) against the bare signature and claims check
//! (jsonwebtoken::decode), which is what a token's first verification costs.
//! Usage: bench-authorizer <directory binary>

use directory_authz::fetch::{HttpsJwks, Location};
use directory_authz::{Authorizer, Policy};
use directory_bench::summary;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DECISIONS: usize = 20_000;

fn cli(bin: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let bin = std::env::args()
        .nth(1)
        .expect("usage: bench-authorizer <directory binary>");
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(&bin)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let base = line.trim().rsplit(' ').next().unwrap().to_owned();
    let certs = cli(&bin, dir.path(), &["certs", "client", "--org", "bench-org"]);
    let cert_path = certs
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("certificate:")
        .trim()
        .to_owned();
    let cert = std::fs::read_to_string(&cert_path).unwrap();
    let token = cli(&bin, dir.path(), &["token", "--org", "bench-org", "--cnf", &cert_path])
        .trim()
        .to_owned();
    let policy = Policy {
        issuer: "directory-local".into(),
        audience: "directory-api".into(),
        algorithms: Policy::algorithms(false),
        require_binding: true,
    };
    let source = HttpsJwks::new(Location::Discovery(format!("{base}/.well-known/openid-configuration"))).unwrap();
    let authorizer = Authorizer::new(policy, source);
    let t = Instant::now();
    authorizer.decide(Some(&token), Some(&cert)).await.unwrap();
    println!(
        "first decision (discovery + JWKS fetch over loopback HTTP): {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut samples = Vec::with_capacity(DECISIONS);
    for _ in 0..DECISIONS {
        let t = Instant::now();
        authorizer.decide(Some(&token), Some(&cert)).await.unwrap();
        samples.push(t.elapsed());
    }
    let total: Duration = samples.iter().sum();
    println!(
        "warm decision (cached keys, bound token + certificate), {DECISIONS}: {}",
        summary(samples)
    );
    // Baseline: only the library's signature and claims check, same token and key.
    let published = directory_tests::http::get(&base, "/.well-known/jwks.json", "").json();
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_value(published).unwrap();
    if let Some(jwk) = jwks.keys.first() {
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
        validation.set_audience(&["directory-api"]);
        let t = Instant::now();
        for _ in 0..DECISIONS {
            jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).unwrap();
        }
        let bare = t.elapsed();
        println!(
            "bare jsonwebtoken::decode (a token's first verification): {:.1} µs mean; a repeat decision costs {:.3}x that",
            bare.as_secs_f64() * 1e6 / DECISIONS as f64,
            total.as_secs_f64() / bare.as_secs_f64()
        );
    }
    let _ = server.kill();
    let _ = server.wait();
}
