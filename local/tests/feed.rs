//! The changes feed end to end on the local server: the route (public, signed, 304 on
//! nothing new, 400 past the head), the file's `x-directory-revision`, the `sync`
//! consumer across writes, an import and a key rotation, a tampered page refused with
//! nothing applied, and the page verified by Python's jwcrypto (docs/signing.md).

mod common;

use common::{Server, cli, get, request};
use directory::fetch::{Fetch, Fetched, Http};
use directory::sync::{Copy, Source, SyncError, sync};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn demo_org(n: usize) -> (String, String) {
    let demo: Value = serde_json::from_slice(&std::fs::read(repo().join("data/demo.json")).unwrap()).unwrap();
    let org = &demo["Organisations"][n];
    let id = org["OrganisationDetails"]["OrganisationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let claim = org["OrgDomainRoleClaims"][0]["OrganisationAuthorityClaimId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (id, claim)
}

fn admin(dir: &Path) -> String {
    let (org, _) = demo_org(0);
    let (ok, out, err) = cli(dir, &["token", "--org", &org, "--scope", "directory:admin"]);
    assert!(ok, "{err}");
    out.trim().to_owned()
}

/// The authority of an organisation's claim in the demo data.
fn authority_of(org: &str, claim: &str) -> String {
    let demo: Value = serde_json::from_slice(&std::fs::read(repo().join("data/demo.json")).unwrap()).unwrap();
    let orgs = demo["Organisations"].as_array().unwrap();
    let o = orgs
        .iter()
        .find(|o| o["OrganisationDetails"]["OrganisationId"] == org)
        .unwrap();
    let c = o["OrgDomainRoleClaims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["OrganisationAuthorityClaimId"] == claim)
        .unwrap();
    c["AuthorityId"].as_str().unwrap().to_owned()
}

/// Sets a claim's status through the PUT route.
fn put_status(base: &str, token: &str, org: &str, claim: &str, status: &str) {
    let body = serde_json::json!({"AuthorityId": authority_of(org, claim), "Status": status}).to_string();
    let r = request(
        base,
        "PUT",
        &format!("/organisations/{org}/authorityclaims/{claim}"),
        &[
            ("authorization", &format!("Bearer {token}")),
            ("content-type", "application/json"),
            ("accept", "application/json"),
        ],
        body.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

/// The head, waiting until the worker has sequenced past `at_least`.
fn head_after(base: &str, at_least: u64) -> u64 {
    for _ in 0..400 {
        let head = changes_head(base);
        if head > at_least {
            return head;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("the feed did not move past {at_least}");
}

fn changes_head(base: &str) -> u64 {
    let mut since = 0;
    loop {
        let r = get(base, &format!("/participants/changes?since={since}"), "");
        assert_eq!(r.status, 200);
        let page = r.json();
        since = page["Revision"].as_u64().unwrap();
        if !page["More"].as_bool().unwrap() {
            return since;
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The real client, but the body of every change page it fetches has one byte changed.
struct Tamper {
    http: Http,
    on: AtomicBool,
}

impl Fetch for Tamper {
    async fn get(&self, url: &str, headers: &[(&str, &str)], max: usize) -> Result<Fetched, String> {
        let mut got = self.http.get(url, headers, max).await?;
        if self.on.load(Ordering::SeqCst)
            && url.contains("/participants/changes")
            && got.status == 200
            && let Some(i) = got.body.iter().position(|b| *b == b'1')
        {
            got.body[i] = b'2';
        }
        Ok(got)
    }
}

#[test]
fn the_feed_is_public_signed_and_cached() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let base = &server.base;
    // No token needed, and none read.
    let r = get(base, "/participants/changes?since=0", "");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let page = r.json();
    assert_eq!(page["Since"], 0);
    let head = page["Revision"].as_u64().unwrap();
    assert_eq!(head, 13, "one revision per demo organisation");
    assert_eq!(r.header("x-directory-revision"), Some("13"));
    let etag = r.header("etag").unwrap().to_owned();
    let jws = r.header("x-jws-signature").unwrap().to_owned();
    // The signature verifies with the published keys (the file's), and says what it covers.
    let keys: directory_domain::signature::Jwks =
        serde_json::from_slice(&get(base, "/participants.jwks", "").body).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let ok = directory_domain::signature::verify_typed(
        &mut &r.body[..],
        &jws,
        directory_domain::feed::CHANGES_TYP,
        &keys,
        now,
    )
    .unwrap();
    assert_eq!((ok.since, ok.revision), (Some(0), Some(13)));
    // The file says its revision too.
    let file = get(base, "/participants", "");
    assert_eq!(file.header("x-directory-revision"), Some("13"));
    // Nothing new: 304 on If-None-Match, no body.
    let again = request(
        base,
        "GET",
        "/participants/changes?since=13",
        &[("accept", "application/json")],
        b"",
    );
    let at_head = again.header("etag").unwrap().to_owned();
    let not_modified = request(
        base,
        "GET",
        "/participants/changes?since=13",
        &[("if-none-match", &at_head)],
        b"",
    );
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    let header_bytes: usize = not_modified.headers.iter().map(|(k, v)| k.len() + v.len() + 4).sum();
    assert!(
        not_modified.body.len() + header_bytes + 20 <= 1024,
        "a no-change poll is one small response: {header_bytes} bytes of headers"
    );
    assert_ne!(etag, at_head);
    // Past the head: 400 naming the field.
    let future = get(base, "/participants/changes?since=99", "");
    assert_eq!(future.status, 400);
    assert!(String::from_utf8_lossy(&future.body).contains("since: 99 is beyond the last revision (13)"));
    // A write: the next poll has it.
    let token = admin(dir.path());
    let (org, claim) = demo_org(0);
    put_status(base, &token, &org, &claim, "Inactive");
    let moved = head_after(base, 13);
    let p = get(base, "/participants/changes?since=13", "").json();
    assert_eq!(p["Revision"].as_u64(), Some(moved));
    assert_eq!(p["Changes"][0]["OrganisationId"], org.as_str());
    assert!(
        p["Changes"][0]["Organisation"]["OrgDomainRoleClaims"]
            .to_string()
            .contains("Inactive")
    );

    // The page as a relying party checks it: docs/signing.md's snippet under Python.
    let python = repo().join(".services/venv/bin/python");
    if python.exists() {
        let r = get(base, "/participants/changes?since=13", "");
        let work = tempfile::tempdir().unwrap();
        let (body, sig, jwks) = (
            work.path().join("page"),
            work.path().join("page.jws"),
            work.path().join("jwks"),
        );
        std::fs::write(&body, &r.body).unwrap();
        std::fs::write(&sig, r.header("x-jws-signature").unwrap()).unwrap();
        std::fs::write(&jwks, get(base, "/participants.jwks", "").body).unwrap();
        let snippet = snippet("changes-snippet");
        let run = |page: &Path| {
            std::process::Command::new(&python)
                .arg("-c")
                .arg(&snippet)
                .args([page, &sig, &jwks])
                .output()
                .unwrap()
        };
        let out = run(&body);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).starts_with(&format!("OK 13 {moved} ")));
        let mut changed = r.body.clone();
        let i = changed.iter().position(|b| *b == b'I').unwrap();
        changed[i] = b'J';
        std::fs::write(&body, &changed).unwrap();
        assert!(!run(&body).status.success(), "a changed byte fails");
    }
    assert!(server.stop());
}

/// A Python block of docs/signing.md between `<!-- name -->` markers.
fn snippet(name: &str) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/signing.md")).unwrap();
    let start = doc.find(&format!("<!-- {name} -->")).expect("snippet marker");
    let block = &doc[start..];
    let code = block.split("```python\n").nth(1).expect("python block");
    code.split("```").next().unwrap().to_owned()
}

#[test]
fn sync_keeps_a_copy_current_and_refuses_what_does_not_verify() {
    let dir = tempfile::tempdir().unwrap();
    let copy_dir = tempfile::tempdir().unwrap();
    let copy = Copy::new(copy_dir.path());
    let rt = runtime();
    let http = Http::new().unwrap();
    let server = Server::start(dir.path(), &[]);
    let source = |base: &str| Source {
        files: base.to_owned(),
        api: base.to_owned(),
    };
    // First run: the whole file, verified.
    let first = rt.block_on(sync(&http, &source(&server.base), &copy)).unwrap();
    assert!(
        first.downloaded_file && first.revision == 13 && first.organisations == 13,
        "{first:?}"
    );
    let file_bytes = |base: &str| get(base, "/participants", "").body;
    let token = admin(dir.path());
    let (org, claim) = demo_org(0);
    // Writes: a claim set Inactive, then Active again.
    put_status(&server.base, &token, &org, &claim, "Inactive");
    head_after(&server.base, 13);
    let second = rt.block_on(sync(&http, &source(&server.base), &copy)).unwrap();
    assert!(
        !second.downloaded_file && second.changes == 1 && second.revision == 14,
        "{second:?}"
    );
    assert!(second.bytes < first.bytes / 10, "{} vs {}", second.bytes, first.bytes);
    // A tampered page: refused, nothing applied.
    put_status(&server.base, &token, &org, &claim, "Active");
    head_after(&server.base, 14);
    let tamper = Tamper {
        http: Http::new().unwrap(),
        on: AtomicBool::new(true),
    };
    let before = std::fs::read(copy.file()).unwrap();
    let refused = rt.block_on(sync(&tamper, &source(&server.base), &copy));
    assert!(matches!(refused, Err(SyncError::Refused(_))), "{refused:?}");
    assert_eq!(std::fs::read(copy.file()).unwrap(), before, "nothing applied");
    tamper.on.store(false, Ordering::SeqCst);
    let third = rt.block_on(sync(&tamper, &source(&server.base), &copy)).unwrap();
    assert_eq!(third.revision, 15);
    // An import (another organisation's data changed) and a key rotation, with the
    // server stopped (the embedded database belongs to one process).
    assert!(server.stop());
    let mut changed: Value = serde_json::from_slice(&std::fs::read(repo().join("data/demo.json")).unwrap()).unwrap();
    changed["Organisations"][3]["OrganisationDetails"]["OrganisationName"] = "Renamed by an import".into();
    let file = dir.path().join("changed.json");
    std::fs::write(&file, serde_json::to_vec(&changed).unwrap()).unwrap();
    let (ok, _, err) = cli(dir.path(), &["import", file.to_str().unwrap()]);
    // Two: the renamed organisation, and the claim the PUTs replaced (without its
    // registration id) put back as the file says.
    assert!(ok && err.contains("2 new revision"), "{err}");
    let (ok, _, err) = cli(dir.path(), &["rotate-signing-key"]);
    assert!(ok, "{err}");
    let server = Server::start(dir.path(), &[]);
    // The copy's keys do not hold the new key: sync reads them again; the first page
    // signed by it asks for an export, which publishes it within a second or so.
    let fourth = (0..40)
        .find_map(|_| match rt.block_on(sync(&http, &source(&server.base), &copy)) {
            Err(SyncError::KeyNotPublished(_)) => {
                std::thread::sleep(std::time::Duration::from_millis(250));
                None
            }
            other => Some(other.unwrap()),
        })
        .expect("the new key is published");
    assert!(!fourth.downloaded_file && fourth.revision == 17, "{fourth:?}");
    // The copy is the file, byte for byte (exported at this revision by the route).
    let exported = get(&server.base, "/organisations/export/open-data", &admin(dir.path()));
    assert_eq!(exported.status, 200);
    assert_eq!(exported.header("x-directory-revision"), Some("17"));
    assert_eq!(std::fs::read(copy.file()).unwrap(), exported.body);
    assert_eq!(file_bytes(&server.base), exported.body);
    assert!(server.stop());
}

/// `sync --every` keeps following when a poll fails (here: nothing listens), saying
/// why each time; a single run fails with the reason.
#[test]
fn a_following_sync_survives_failed_polls() {
    let dir = tempfile::tempdir().unwrap();
    let into = dir.path().join("copy");
    let from = "http://127.0.0.1:9"; // the discard port: refused
    let (ok, _, err) = cli(dir.path(), &["sync", "--from", from, "--into", into.to_str().unwrap()]);
    assert!(!ok && err.contains("127.0.0.1:9"), "{err}");
    let mut child = std::process::Command::new(common::BIN)
        .args(["--data-dir", dir.path().to_str().unwrap()])
        .args(["sync", "--from", from, "--into", into.to_str().unwrap(), "--every", "1"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let still_running = child.try_wait().unwrap().is_none();
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(still_running, "it stopped at the first failed poll: {err}");
    assert!(err.matches("sync: ").count() >= 2, "{err}");
}
