//! The signed participants file end to end: the route's `x-jws-signature`, the keys at
//! `/.well-known/participants-jwks.json`, the `verify` command and each failure it
//! names, a key rotation, and the README's relying-party snippet run by Python.

mod common;

use common::{Server, cli, get};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn admin_token(dir: &Path) -> String {
    let demo: Value = serde_json::from_slice(&std::fs::read(repo().join("data/demo.json")).unwrap()).unwrap();
    let org = demo["Organisations"][0]["OrganisationDetails"]["OrganisationId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (ok, out, err) = cli(dir, &["token", "--org", &org, "--scope", "directory:admin"]);
    assert!(ok, "{err}");
    out.trim().to_owned()
}

fn verify(dir: &Path, file: &Path, jws: &Path, jwks: &Path) -> (bool, String, String) {
    cli(
        dir,
        &[
            "verify",
            file.to_str().unwrap(),
            jws.to_str().unwrap(),
            "--jwks",
            jwks.to_str().unwrap(),
        ],
    )
}

/// The relying-party Python snippet of docs/signing.md, between its markers.
fn readme_snippet() -> String {
    let readme = std::fs::read_to_string(repo().join("docs/signing.md")).unwrap();
    let start = readme
        .find("<!-- relying-party-snippet -->")
        .expect("snippet start marker");
    let end = readme
        .find("<!-- /relying-party-snippet -->")
        .expect("snippet end marker");
    let block = &readme[start..end];
    let code = block.split("```python\n").nth(1).expect("python block");
    code.split("```").next().unwrap().to_owned()
}

#[test]
fn the_published_file_verifies_and_each_failure_names_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let exports = dir.path().join("exports");
    let (file, jws, jwks) = (
        exports.join("participants"),
        exports.join("participants.jws"),
        exports.join("participants.jwks"),
    );
    let server = Server::start(dir.path(), &[]);
    let admin = admin_token(dir.path());
    let r = get(&server.base, "/organisations/export/open-data", &admin);
    assert_eq!(r.status, 200);
    let header = r.header("x-jws-signature").expect("x-jws-signature").to_owned();
    assert_eq!(r.body, std::fs::read(&file).unwrap());
    assert_eq!(
        header,
        std::fs::read_to_string(&jws).unwrap(),
        "the header is the published signature"
    );
    let keys = get(&server.base, "/.well-known/participants-jwks.json", "");
    assert_eq!(keys.status, 200);
    let published: Value = serde_json::from_slice(&std::fs::read(&jwks).unwrap()).unwrap();
    assert_eq!(keys.json(), published);
    assert_eq!(published["keys"].as_array().unwrap().len(), 1);
    assert!(
        !String::from_utf8_lossy(&keys.body).contains("\"d\""),
        "no private key material"
    );

    // Same data: the file and its signature are left as they were.
    let signed_at = std::fs::metadata(&jws).unwrap().modified().unwrap();
    let again = get(&server.base, "/organisations/export/open-data", &admin);
    assert_eq!(again.header("x-jws-signature"), Some(header.as_str()));
    assert_eq!(
        std::fs::metadata(&jws).unwrap().modified().unwrap(),
        signed_at,
        "not re-signed"
    );
    assert!(server.stop());

    let (ok, out, err) = verify(dir.path(), &file, &jws, &jwks);
    assert!(ok, "{err}");
    let kid = published["keys"][0]["kid"].as_str().unwrap();
    assert!(out.starts_with(&format!("OK kid={kid} signed=")), "{out}");

    // One byte changed.
    let mut tampered = std::fs::read(&file).unwrap();
    let at = tampered.iter().position(|b| *b == b'A').unwrap();
    tampered[at] = b'B';
    let tampered_path = dir.path().join("tampered");
    std::fs::write(&tampered_path, &tampered).unwrap();
    let (ok, _, err) = verify(dir.path(), &tampered_path, &jws, &jwks);
    assert!(!ok && err.contains("hash mismatch"), "{err}");

    // Keys that do not hold the signing key.
    let stranger = dir.path().join("stranger.jwks");
    std::fs::write(&stranger, r#"{"keys":[]}"#).unwrap();
    let (ok, _, err) = verify(dir.path(), &file, &jws, &stranger);
    assert!(!ok && err.contains("unknown key"), "{err}");

    // The README's snippet, as a relying party runs it.
    let python = repo().join(".services/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: scripts/test-services.sh install puts jwcrypto there",
        python.display()
    );
    let snippet = readme_snippet();
    let run_snippet = |file: &Path| {
        std::process::Command::new(&python)
            .arg("-c")
            .arg(&snippet)
            .args([file, &jws, &jwks])
            .output()
            .unwrap()
    };
    let run = run_snippet(&file);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    assert!(String::from_utf8_lossy(&run.stdout).starts_with(&format!("OK {kid} ")));
    let run = run_snippet(&tampered_path);
    assert!(!run.status.success(), "the snippet rejects a changed file");

    // Someone who can write the published keys once adds their own key: another
    // directory's, whose file and signature are then "forged" as far as this one goes.
    let stranger = tempfile::tempdir().unwrap();
    let (ok, _, err) = cli(
        stranger.path(),
        &["import", repo().join("data/demo.json").to_str().unwrap()],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = cli(stranger.path(), &["export"]);
    assert!(ok, "{err}");
    let stranger_exports = stranger.path().join("exports");
    let stranger_jwks: Value =
        serde_json::from_slice(&std::fs::read(stranger_exports.join("participants.jwks")).unwrap()).unwrap();
    let mut injected: Value = serde_json::from_slice(&std::fs::read(&jwks).unwrap()).unwrap();
    injected["keys"]
        .as_array_mut()
        .unwrap()
        .push(stranger_jwks["keys"][0].clone());
    std::fs::write(&jwks, serde_json::to_vec(&injected).unwrap()).unwrap();
    let forged = (
        stranger_exports.join("participants"),
        stranger_exports.join("participants.jws"),
    );

    // Rotation: the old signature keeps verifying against the new key set, and the
    // unchanged file is signed again by the new key.
    let old_jws = dir.path().join("old.jws");
    std::fs::copy(&jws, &old_jws).unwrap();
    let (ok, new_kid, err) = cli(dir.path(), &["rotate-signing-key"]);
    assert!(ok, "{err}");
    let new_kid = new_kid.trim();
    assert_ne!(new_kid, kid);
    let (ok, _, err) = cli(dir.path(), &["export"]);
    assert!(
        ok && err.contains("signed by this run"),
        "the new key signs the unchanged file: {err}"
    );
    let (ok, _, err) = cli(dir.path(), &["export"]);
    assert!(ok && err.contains("already covered this file"), "and only once: {err}");
    let rotated: Value = serde_json::from_slice(&std::fs::read(&jwks).unwrap()).unwrap();
    let kids: Vec<&str> = rotated["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, [new_kid, kid], "the new key first, the old one kept");
    assert!(
        rotated["keys"][1]["exp"].as_i64().is_some(),
        "the old key has its window"
    );
    let (ok, out, err) = verify(dir.path(), &file, &jws, &jwks);
    assert!(ok && out.contains(new_kid), "{out}{err}");
    let (ok, out, err) = verify(dir.path(), &file, &old_jws, &jwks);
    assert!(ok && out.contains(kid), "a file signed before the rotation: {out}{err}");
    // The injected key was never the directory's: gone, and what it signed fails.
    let (ok, out, err) = verify(dir.path(), &forged.0, &forged.1, &jwks);
    assert!(!ok && err.contains("unknown"), "a forged file verified: {out}{err}");
    let served = {
        let server = Server::start(dir.path(), &[]);
        let keys = get(&server.base, "/.well-known/participants-jwks.json", "").json();
        assert!(server.stop());
        keys
    };
    assert_eq!(served, rotated, "the route serves the store's history");
}

#[test]
fn the_explorer_page_and_the_published_file_are_served_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    // `serve` publishes a file at start when there is none, for the page to read.
    let file = get(&server.base, "/participants", "");
    assert_eq!(file.status, 200);
    assert_eq!(
        file.body,
        std::fs::read(dir.path().join("exports/participants")).unwrap()
    );
    assert_eq!(file.json().as_array().unwrap().len(), 13);
    for (path, content_type) in [
        ("/", "text/html; charset=utf-8"),
        ("/explorer.js", "text/javascript; charset=utf-8"),
        ("/explorer.css", "text/css; charset=utf-8"),
    ] {
        let r = get(&server.base, path, "");
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(content_type), "{path}");
        let policy = r.header("content-security-policy").unwrap_or_default();
        assert!(
            policy.contains("default-src 'none'") && policy.contains("script-src 'self'"),
            "{path}: {policy}"
        );
    }
    for path in ["/participants.jws", "/participants.jwks"] {
        assert_eq!(get(&server.base, path, "").status, 200, "{path}");
    }
    // Nothing else of the data dir is reachable this way.
    for path in [
        "/participants.sha256",
        "/directory.redb",
        "/participants-signing-key.pem",
        "/../exports/participants",
    ] {
        assert_eq!(get(&server.base, path, "").status, 404, "{path}");
    }
    assert!(server.stop());
}
