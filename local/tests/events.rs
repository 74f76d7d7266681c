//! Change events end to end on the local server: docs/events.md's reference receiver
//! (Python, verifying with jwcrypto against the keys the SSF configuration names) is
//! subscribed over HTTP, accepts the verification, and prints the claim deactivated by
//! a PUT; a SET with one byte changed is refused by it with RFC 8935's 400.

mod common;

use common::{Server, cli, get, request};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// A Python block of docs/events.md after `<!-- name -->`.
fn snippet(name: &str) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/events.md")).unwrap();
    let start = doc.find(&format!("<!-- {name} -->")).expect("snippet marker");
    let code = doc[start..].split("```python\n").nth(1).expect("python block");
    code.split("```").next().unwrap().to_owned()
}

fn json(r: &common::Reply) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|_| panic!("{} {}", r.status, String::from_utf8_lossy(&r.body)))
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < Duration::from_secs(30), "waited 30 s for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A demo organisation's participant on a running server: its token (read and write)
/// and its first role claim.
struct Participant {
    org_id: String,
    claim_id: String,
    authority_id: Value,
    auth: String,
}

impl Participant {
    fn of(dir: &std::path::Path, n: usize) -> Participant {
        let demo: Value = serde_json::from_slice(&std::fs::read(repo().join("data/demo.json")).unwrap()).unwrap();
        let org = &demo["Organisations"][n];
        let org_id = org["OrganisationDetails"]["OrganisationId"]
            .as_str()
            .unwrap()
            .to_owned();
        let claim = &org["OrgDomainRoleClaims"][0];
        let (ok, token, err) = cli(
            dir,
            &["token", "--org", &org_id, "--scope", "directory:read directory:write"],
        );
        assert!(ok, "{err}");
        Participant {
            claim_id: claim["OrganisationAuthorityClaimId"].as_str().unwrap().to_owned(),
            authority_id: claim["AuthorityId"].clone(),
            auth: format!("Bearer {}", token.trim()),
            org_id,
        }
    }

    fn token(&self) -> &str {
        self.auth.trim_start_matches("Bearer ")
    }

    /// A JSON request with its token.
    fn send(&self, base: &str, method: &str, path: &str, body: &[u8]) -> common::Reply {
        let headers = [
            ("authorization", self.auth.as_str()),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ];
        request(base, method, path, &headers, body)
    }

    /// Sets its first claim Inactive through the PUT route.
    fn deactivate_claim(&self, base: &str) {
        let put = serde_json::json!({"AuthorityId": self.authority_id, "Status": "Inactive"}).to_string();
        let path = format!("/organisations/{}/authorityclaims/{}", self.org_id, self.claim_id);
        let r = self.send(base, "PUT", &path, put.as_bytes());
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
}

#[test]
fn the_reference_receiver_gets_a_revoked_claim_verified() {
    let python = repo().join(".services/venv/bin/python");
    assert!(
        python.exists(),
        "the test services' venv (scripts/test-services.sh start) has jwcrypto"
    );
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let base = server.base.clone();
    let p = Participant::of(dir.path(), 0);
    let (org_id, claim_id, token) = (p.org_id.as_str(), p.claim_id.as_str(), p.token());

    // The transmitter's metadata, public.
    let config = json(&get(&base, "/.well-known/ssf-configuration", ""));
    assert_eq!(config["issuer"], base.as_str());
    assert_eq!(
        config["delivery_methods_supported"],
        serde_json::json!(["urn:ietf:rfc:8935", "urn:ietf:rfc:8936"])
    );

    let lines = dir.path().join("received.jsonl");
    let mut receiver = Command::new(&python)
        .arg("-c")
        .arg(snippet("receiver"))
        .arg(&base)
        .arg(&lines)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(receiver.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let port = first
        .trim()
        .strip_prefix("listening ")
        .expect("the receiver's port")
        .to_owned();
    std::thread::spawn(move || for _ in out.lines() {});
    let endpoint = format!("http://127.0.0.1:{port}/events");

    let body = serde_json::json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": endpoint}}).to_string();
    let made = p.send(&base, "POST", "/subscriptions", body.as_bytes());
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    let stream = json(&made)["stream_id"].as_str().unwrap().to_owned();
    wait_for("Confirmed", || {
        json(&get(&base, &format!("/subscriptions/{stream}"), token))["status"] == "Confirmed"
    });

    p.deactivate_claim(&base);
    let received = || std::fs::read_to_string(&lines).unwrap_or_default();
    wait_for("the deactivation at the receiver", || {
        received().contains("authority-claim-deactivated")
    });
    let event: Value = received()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|e| e["type"] == "urn:participant-directory:event:authority-claim-deactivated")
        .unwrap();
    assert_eq!(event["authority_claim_id"], claim_id);
    assert_eq!(event["organisation_id"], org_id);
    assert_eq!(event["status"], "Inactive");

    // One byte changed: the receiver's own check refuses it (RFC 8935 400).
    let poll_body = serde_json::json!({"delivery": {"method": "urn:ietf:rfc:8936"}}).to_string();
    let poll = json(&p.send(&base, "POST", "/subscriptions", poll_body.as_bytes()));
    let polled = json(&p.send(
        &base,
        "POST",
        &format!("/subscriptions/{}/poll", poll["stream_id"].as_str().unwrap()),
        br#"{"returnImmediately": true}"#,
    ));
    let set = polled["sets"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let mut bytes = set.into_bytes();
    let i = bytes.iter().position(|b| *b == b'.').unwrap() + 5;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let refused = request(
        &format!("http://127.0.0.1:{port}"),
        "POST",
        "/events",
        &[("content-type", "application/secevent+jwt")],
        &bytes,
    );
    assert_eq!(refused.status, 400);
    assert_eq!(json(&refused)["err"], "invalid_key");
    let _ = receiver.kill();
    let _ = receiver.wait();
    assert!(server.stop());
}

#[test]
fn the_rust_receiver_verifies_deduplicates_and_keeps_a_copy_current() {
    let dir = tempfile::tempdir().unwrap();
    let copy = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let base = server.base.clone();
    let p = Participant::of(dir.path(), 1);
    let (org_id, claim_id) = (p.org_id.as_str(), p.claim_id.as_str());
    let mut receiver = Command::new(common::BIN)
        .args(["receive", "--from", &base, "--into"])
        .arg(copy.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(receiver.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let endpoint = first
        .trim()
        .strip_prefix("receiving change events on ")
        .expect("its address")
        .to_owned();
    let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let lines = printed.clone();
    std::thread::spawn(move || {
        for line in out.lines().map_while(Result::ok) {
            lines.lock().unwrap().push(line);
        }
    });
    let body = serde_json::json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": endpoint},
        "events_requested": ["urn:participant-directory:event:authority-claim-deactivated"]})
    .to_string();
    let made = p.send(&base, "POST", "/subscriptions", body.as_bytes());
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    p.deactivate_claim(&base);
    let seen = || printed.lock().unwrap().clone();
    wait_for("the deactivation printed", || {
        seen()
            .iter()
            .any(|l| l.contains("authority-claim-deactivated") && l.contains(claim_id))
    });
    // The copy reached the event's revision: the claim is Inactive in it.
    wait_for("the copy updated", || {
        std::fs::read_to_string(copy.path().join("participants"))
            .map(|f| {
                let file: Value = serde_json::from_str(&f).unwrap();
                file.as_array().unwrap().iter().any(|o| {
                    o["OrganisationId"] == org_id
                        && o["OrgDomainRoleClaims"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|c| c["OrganisationAuthorityClaimId"] == claim_id && c["Status"] == "Inactive")
                })
            })
            .unwrap_or(false)
    });
    // A forged SET is refused with RFC 8935's 400 and prints nothing.
    let events = seen().iter().filter(|l| l.contains("\"jti\"")).count();
    let forged = request(
        &endpoint.replace("/events", ""),
        "POST",
        "/events",
        &[("content-type", "application/secevent+jwt")],
        b"eyJhbGciOiJFUzI1NiJ9.e30.AAAA",
    );
    assert_eq!(forged.status, 400);
    assert!(json(&forged)["err"].is_string());
    assert_eq!(seen().iter().filter(|l| l.contains("\"jti\"")).count(), events);
    let _ = receiver.kill();
    let _ = receiver.wait();
    assert!(server.stop());
}
