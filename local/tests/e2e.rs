//! End-to-end over HTTP: the real binary, a temporary data dir, real tokens.

mod common;

use common::{Server, cli, get, request};
use directory::jwt::{AUDIENCE, ISSUER, Keys};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn demo_orgs() -> Vec<Value> {
    let demo: Value =
        serde_json::from_slice(&std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/demo.json")).unwrap())
            .unwrap();
    demo["Organisations"].as_array().unwrap().clone()
}

fn org_id(name: &str) -> String {
    demo_orgs()
        .iter()
        .find(|o| o["OrganisationDetails"]["OrganisationName"] == name)
        .map(|o| o["OrganisationDetails"]["OrganisationId"].as_str().unwrap().to_owned())
        .unwrap()
}

fn token(dir: &std::path::Path, org: &str, scope: &str) -> String {
    let (ok, out, err) = cli(dir, &["token", "--org", org, "--scope", scope]);
    assert!(ok, "{err}");
    out.trim().to_owned()
}

#[test]
fn the_printed_curl_works_and_tokens_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    // The printed curl line answers 200 with the snapshot.
    let printed = server.printed_url();
    let path = printed.trim_start_matches(&server.base);
    let ok = get(&server.base, path, &server.printed_token());
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-type"), Some("application/json"));
    assert!(ok.json()["OrganisationDetails"]["OrganisationId"].is_string());

    let aurora = org_id("Banco Aurora");
    let north = org_id("Northwind Bank");
    let snapshot = format!("/organisations/{aurora}/snapshot");
    let keys = Keys::load_or_create(dir.path()).unwrap();
    let claims = |exp: u64, aud: &str| json!({"sub": "t", "organisation_id": aurora, "scope": "directory:read", "iss": ISSUER, "aud": aud, "exp": exp});
    // token works while the server holds the database
    let read = token(dir.path(), &aurora, "directory:read");
    assert_eq!(get(&server.base, &snapshot, &read).status, 200);

    let expired = keys.sign(&claims(now() - 3600, AUDIENCE));
    let wrong_aud = keys.sign(&claims(now() + 600, "someone-else"));
    let mut bad_sig = read.clone();
    let last = bad_sig.pop().unwrap();
    bad_sig.push(if last == 'A' { 'B' } else { 'A' });
    for (what, t) in [
        ("expired", expired),
        ("wrong audience", wrong_aud),
        ("bad signature", bad_sig),
        ("garbage", "abc".into()),
    ] {
        let r = get(&server.base, &snapshot, &t);
        assert_eq!(r.status, 401, "{what}");
        assert!(r.json()["errors"][0].is_string());
        assert!(r.header("x-fapi-interaction-id").is_some());
    }
    let none = request(&server.base, "GET", &snapshot, &[], b"");
    assert_eq!(none.status, 401);

    // other organisation, missing scope, admin
    assert_eq!(
        get(&server.base, &format!("/organisations/{north}/snapshot"), &read).status,
        403
    );
    let write_only = token(dir.path(), &aurora, "directory:write");
    assert_eq!(get(&server.base, &snapshot, &write_only).status, 403);
    let admin = token(dir.path(), &aurora, "directory:admin");
    assert_eq!(
        get(&server.base, &format!("/organisations/{north}/snapshot"), &admin).status,
        200
    );
    assert_eq!(
        get(
            &server.base,
            "/organisations/00000000-0000-4000-8000-000000000000/snapshot",
            &admin
        )
        .status,
        404
    );

    // interaction id: echoed when valid, replaced when not
    let r = request(
        &server.base,
        "GET",
        &snapshot,
        &[
            ("Authorization", &format!("Bearer {read}")),
            ("x-fapi-interaction-id", "abc-123"),
        ],
        b"",
    );
    assert_eq!(r.header("x-fapi-interaction-id"), Some("abc-123"));
    // routing
    assert_eq!(get(&server.base, "/nowhere", &read).status, 404);
    let wrong_method = request(
        &server.base,
        "DELETE",
        &snapshot,
        &[("Authorization", &format!("Bearer {read}"))],
        b"",
    );
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("GET"));
    assert!(server.stop(), "clean exit on SIGTERM");
}

/// The claim with `claim_id` as the list endpoint shows it.
fn listed_claim(base: &str, org: &str, claim_id: &str, token: &str) -> Value {
    let list = get(base, &format!("/organisations/{org}/authorityclaims?size=1000"), token).json();
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["OrganisationAuthorityClaimId"] == claim_id)
        .cloned()
        .expect("claim listed")
}

#[test]
fn every_route_answers_through_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let aurora = org_id("Banco Aurora");
    let north = org_id("Northwind Bank");
    let read = token(dir.path(), &aurora, "directory:read");
    let write = token(dir.path(), &aurora, "directory:write");
    let orgs = demo_orgs();
    let n = orgs
        .iter()
        .find(|o| o["OrganisationDetails"]["OrganisationId"] == north.as_str())
        .unwrap();
    let server_id = n["AuthorisationServers"][0]["AuthorisationServerId"].as_str().unwrap();
    let resource_id = n["AuthorisationServers"][0]["ApiResources"][0]["ApiResourceId"]
        .as_str()
        .unwrap();
    let r = get(
        &server.base,
        &format!("/organisations/{north}/authorisationservers/{server_id}/apiresources/{resource_id}"),
        &read,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["ApiResourceId"], resource_id);

    let list = get(
        &server.base,
        &format!("/organisations/{aurora}/authorityclaims?size=2&sort=Role,desc"),
        &read,
    );
    assert_eq!(list.status, 200);
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    let bad = get(
        &server.base,
        &format!("/organisations/{aurora}/authorityclaims?size=0"),
        &read,
    );
    assert_eq!(bad.status, 400);
    assert!(bad.json()["errors"][0].as_str().unwrap().starts_with("size:"));

    let a = orgs
        .iter()
        .find(|o| o["OrganisationDetails"]["OrganisationId"] == aurora.as_str())
        .unwrap();
    let claim = &a["OrgDomainRoleClaims"][0];
    let claim_id = claim["OrganisationAuthorityClaimId"].as_str().unwrap();
    let body =
        json!({"AuthorityId": claim["AuthorityId"], "Status": "Inactive", "RegistrationId": "E2E-1"}).to_string();
    let put = request(
        &server.base,
        "PUT",
        &format!("/organisations/{aurora}/authorityclaims/{claim_id}"),
        &[
            ("Authorization", &format!("Bearer {write}")),
            ("Content-Type", "application/json"),
        ],
        body.as_bytes(),
    );
    assert_eq!(put.status, 200, "{}", String::from_utf8_lossy(&put.body));
    assert_eq!(put.json()["RegistrationId"], "E2E-1");
    assert_eq!(listed_claim(&server.base, &aurora, claim_id, &read), put.json());

    // restart keeps the data and does not re-import the demo
    assert!(server.stop());
    let again = Server::start(dir.path(), &[]);
    assert_eq!(
        listed_claim(&again.base, &aurora, claim_id, &read)["RegistrationId"],
        "E2E-1"
    );
    assert!(again.stop());
}

#[test]
fn a_second_process_is_refused_clearly_and_bad_imports_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/../data/demo.json");
    let (ok, _, err) = cli(dir.path(), &["import", demo]);
    assert!(!ok);
    assert!(err.contains("in use by another process"), "{err}");
    assert!(server.stop());

    let mut file: Value = serde_json::from_slice(&std::fs::read(demo).unwrap()).unwrap();
    file["Organisations"][2]["OrganisationDetails"]["OrganisationName"] = json!("x".repeat(256));
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&file).unwrap()).unwrap();
    let (ok, _, err) = cli(dir.path(), &["import", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("record 2 (") && err.contains("OrganisationName: longer than 255 characters"),
        "{err}"
    );
    assert!(err.contains("1 problem in 1 record; nothing written"), "{err}");
    let (ok, _, err) = cli(dir.path(), &["import", "/no/such/file.json"]);
    assert!(!ok && err.contains("/no/such/file.json"), "{err}");
    let (ok, _, err) = cli(dir.path(), &["token", "--org", "x", "--ttl", "forever"]);
    assert!(!ok && err.contains("--ttl"), "{err}");
}

#[test]
fn the_export_route_and_command_write_the_same_public_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let aurora = org_id("Banco Aurora");
    let admin = token(dir.path(), &aurora, "directory:admin");
    let read = token(dir.path(), &aurora, "directory:read");
    assert_eq!(get(&server.base, "/organisations/export/open-data", &read).status, 403);
    let r = get(&server.base, "/organisations/export/open-data", &admin);
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_owned();
    let published = std::fs::read(dir.path().join("exports/participants")).unwrap();
    assert_eq!(r.body, published, "the route answers with the file it wrote");
    let file = r.json();
    assert_eq!(file.as_array().unwrap().len(), 13);
    assert!(!String::from_utf8_lossy(&r.body).contains("EmailAddress"));
    let cached = request(
        &server.base,
        "GET",
        "/organisations/export/open-data",
        &[("Authorization", &format!("Bearer {admin}")), ("If-None-Match", &etag)],
        b"",
    );
    assert_eq!(cached.status, 304);
    assert!(server.stop());
    let out = dir.path().join("cli-export");
    let (ok, stdout, err) = cli(dir.path(), &["export", "--out", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(stdout.trim().ends_with("participants"));
    assert_eq!(
        std::fs::read(out.join("participants")).unwrap(),
        published,
        "deterministic"
    );
    let (ok, _, err) = cli(dir.path(), &["export", "--out", out.to_str().unwrap()]);
    assert!(ok && err.contains("unchanged"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for file in ["participants", "participants.sha256"] {
            let mode = std::fs::metadata(out.join(file)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o644, "{file}: public data, world-readable");
        }
    }

    // A fresh directory bootstrapped from the published file exports it byte for byte,
    // and importing it again changes nothing.
    let mirror = dir.path().join("mirror");
    let file = out.join("participants");
    let (ok, _, err) = cli(&mirror, &["import", "--participants", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("created 4 authorities, 2 domains, 6 roles from their names; 26 flags from the public map form"),
        "{err}"
    );
    let again = mirror.join("again");
    let (ok, _, err) = cli(&mirror, &["export", "--out", again.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(std::fs::read(again.join("participants")).unwrap(), published);
    let (_, audit_before, _) = cli(&mirror, &["audit"]);
    let (ok, _, err) = cli(&mirror, &["import", "--participants", file.to_str().unwrap()]);
    assert!(ok && err.contains("created 0 authorities, 0 domains, 0 roles"), "{err}");
    let (_, audit_after, _) = cli(&mirror, &["audit"]);
    assert_eq!(audit_before, audit_after, "a re-import writes nothing");
}

/// Sends raw bytes and returns the status line (empty when the server closed
/// without answering).
fn raw(base: &str, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).lines().next().unwrap_or("").to_owned()
}

#[test]
fn hostile_headers_get_an_answer_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let token = server.printed_token();
    let path = server.printed_url().trim_start_matches(&server.base).to_owned();
    let auth = format!("Authorization: Bearer {token}");
    for (host, extra) in [
        ("a b", ""),
        ("localhost", "X-Forwarded-Proto: a b\r\n"),
        ("localhost", "X-Forwarded-Port: x y\r\n"),
        ("evil/../x", "X-Forwarded-For: <script>\r\n"),
    ] {
        let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n{extra}{auth}\r\nConnection: close\r\n\r\n");
        let status = raw(&server.base, req.as_bytes());
        assert!(status.starts_with("HTTP/1.1 "), "{host} {extra}: no answer");
        let code: u16 = status.split(' ').nth(1).unwrap().parse().unwrap();
        assert!((200..600).contains(&code), "{status}");
        // Still serving.
        assert_eq!(get(&server.base, &path, &token).status, 200, "after {host} {extra}");
    }
    // A token whose scope breaks RFC 6749 §3.3 is refused.
    let keys = Keys::load_or_create(dir.path()).unwrap();
    let org = org_id("Banco Aurora");
    for scope in [
        json!("directory:read\tdirectory:admin"),
        json!(["directory:read", 7]),
        json!(["directory:read directory:admin"]),
    ] {
        let t = keys.sign(&json!({"sub": "t", "organisation_id": org, "scope": scope, "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600}));
        let r = get(&server.base, &format!("/organisations/{org}/snapshot"), &t);
        assert_eq!(r.status, 401, "{scope}");
    }
    let array = keys.sign(&json!({"sub": "t", "organisation_id": org, "scope": ["directory:read"], "iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600}));
    let ok = get(&server.base, &format!("/organisations/{org}/snapshot"), &array);
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("cache-control"), Some("no-store"));
    assert_eq!(ok.header("x-content-type-options"), Some("nosniff"));
    assert!(server.stop());
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let mut stream = std::net::TcpStream::connect(server.base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(40)))
        .unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    // Closed by the server (hyper may answer 408 first), not by our read timeout.
    assert!(started.elapsed() < std::time::Duration::from_secs(35));
    assert!(out.is_empty() || String::from_utf8_lossy(&out).starts_with("HTTP/1.1 408"));
    assert!(server.stop());
}

#[cfg(unix)]
#[test]
fn the_data_dir_is_private_and_writes_are_audited() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("directory.redb")), 0o600);
    let vale = org_id("Cooperativa Vale Verde");
    let write = token(&data, &vale, "directory:write");
    let claim = "b55bd9a3-5b75-5205-b106-a82e8d437350";
    let put = |body: Value| {
        request(
            &server.base,
            "PUT",
            &format!("/organisations/{vale}/authorityclaims/{claim}"),
            &[
                ("Authorization", &format!("Bearer {write}")),
                ("Content-Type", "application/json"),
            ],
            body.to_string().as_bytes(),
        )
    };
    let grab = put(
        json!({"AuthorityId": "a2aa96ec-f48b-5767-b62c-f2e981e14f52", "Status": "Active", "AuthorisationDomain": "Open Finance", "Role": "PAGTO"}),
    );
    assert_eq!(grab.status, 403);
    let ok = put(
        json!({"AuthorityId": "a2aa96ec-f48b-5767-b62c-f2e981e14f52", "Status": "Inactive", "RegistrationId": "BR-1003-X"}),
    );
    assert_eq!(ok.status, 200);
    assert!(server.stop());
    let (done, out, err) = cli(&data, &["audit", "--org", &vale]);
    assert!(done, "{err}");
    let records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2, "the demo import and the PUT: {out}");
    assert_eq!(records[0]["action"], "put-authority-claim");
    assert_eq!(records[0]["changes"][0]["field"], "RegistrationId");
    assert_eq!(records[1]["action"], "import");
    let (done, out, _) = cli(&data, &["audit", "--org", &vale, "--since", "2999-01-01T00:00:00Z"]);
    assert!(done && out.is_empty());
    let (done, _, err) = cli(&data, &["audit", "--org", &vale, "--since", "yesterday"]);
    assert!(!done && err.contains("RFC 3339"), "{err}");
}
