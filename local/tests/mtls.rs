//! Mutual TLS end to end (issue 15): the real binary with `serve --tls`, a rustls
//! client with and without the organisation's certificate, bound and unbound
//! tokens; and the authorizer's JWKS fetch against the server's published keys.

mod common;

use common::{Server, cli};
use directory::jwt::{AUDIENCE, ISSUER};
use directory_authz::fetch::{HttpsJwks, Location};
use directory_authz::{Authorizer, Deny, Policy};
use rustls::pki_types::ServerName;
use std::path::Path;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn run(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = cli(dir, args);
    assert!(ok, "{args:?}: {err}");
    out
}

/// The path after `label:` in `certs client` output.
fn field(out: &str, label: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(label))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("{label} in {out}"))
}

/// One HTTPS GET; `Err` when the TLS layer refuses (no HTTP answer).
async fn get(
    base: &str,
    ca: &Path,
    client: Option<(&str, &str)>,
    path: &str,
    token: &str,
) -> Result<(u16, String), String> {
    let config = common::tls_client_config(ca, client.map(|(c, k)| (Path::new(c), Path::new(k))));
    let addr = base.trim_start_matches("https://");
    let tcp = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let mut tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .map_err(|e| e.to_string())?;
    let req =
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out).await.map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no HTTP answer: {text:?}"))?;
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    Ok((status, body))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_and_bound_tokens_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_serving(dir.path(), &[], &["--tls"]);
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let ca = dir.path().join("tls/ca.pem");
    // The printed curl line's certificate, key and bound token work.
    let line = server
        .stdout_lines
        .iter()
        .find(|l| l.contains("curl "))
        .unwrap()
        .clone();
    let arg = |flag: &str| {
        line.split(flag)
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let (cert_a, key_a) = (arg("--cert "), arg("--key "));
    let token_a = server.printed_token();
    let path_a = server.printed_url().trim_start_matches(&server.base).to_owned();
    let org_a = path_a.split('/').nth(2).unwrap().to_owned();
    let (status, body) = get(&server.base, &ca, Some((&cert_a, &key_a)), &path_a, &token_a)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&org_a));

    // No client certificate: the TLS layer refuses, no HTTP answer at all.
    assert!(get(&server.base, &ca, None, &path_a, &token_a).await.is_err());

    // Another organisation's certificate with this organisation's token: 401.
    let out = run(dir.path(), &["certs", "client", "--org", "org-b"]);
    let (cert_b, key_b) = (field(&out, "certificate:"), field(&out, "key:"));
    let (status, body) = get(&server.base, &ca, Some((&cert_b, &key_b)), &path_a, &token_a)
        .await
        .unwrap();
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("token bound to another certificate"), "{body}");

    // An unbound token, even with the right certificate: 401.
    let unbound = run(dir.path(), &["token", "--org", &org_a]).trim().to_owned();
    let (status, body) = get(&server.base, &ca, Some((&cert_a, &key_a)), &path_a, &unbound)
        .await
        .unwrap();
    assert_eq!(status, 401);
    assert!(body.contains("cnf.x5t#S256 required"), "{body}");

    // `token --cnf` binds to the given certificate: B's token with B's cert reaches
    // the handler, which refuses A's data (403) and serves B's own route rules.
    let token_b = run(dir.path(), &["token", "--org", "org-b", "--cnf", &cert_b])
        .trim()
        .to_owned();
    let (status, _) = get(&server.base, &ca, Some((&cert_b, &key_b)), &path_a, &token_b)
        .await
        .unwrap();
    assert_eq!(status, 403);
    let (status, _) = get(
        &server.base,
        &ca,
        Some((&cert_b, &key_b)),
        "/organisations/org-b/snapshot",
        &token_b,
    )
    .await
    .unwrap();
    assert_eq!(status, 404, "authorized, and org-b has no data");

    // The published keys, over TLS.
    let (status, jwks) = get(&server.base, &ca, Some((&cert_a, &key_a)), "/.well-known/jwks.json", "")
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(jwks.contains("\"kty\":\"EC\""), "{jwks}");
    assert!(server.stop());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_authorizer_fetches_the_local_issuers_keys_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let discovery = format!("{}/.well-known/openid-configuration", server.base);
    let source = HttpsJwks::new(Location::Discovery(discovery)).unwrap();
    let policy = Policy {
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        algorithms: Policy::algorithms(false),
        require_binding: false,
    };
    let authorizer = Authorizer::new(policy, source);
    let token = run(dir.path(), &["token", "--org", "org-1"]).trim().to_owned();
    let id = authorizer.decide(Some(&token), None).await.unwrap();
    assert_eq!(id.organisation_id.as_deref(), Some("org-1"));
    // A token from another data dir's key: unknown kid, refused after a refresh.
    let other = tempfile::tempdir().unwrap();
    let foreign = run(other.path(), &["token", "--org", "org-1"]).trim().to_owned();
    assert_eq!(authorizer.decide(Some(&foreign), None).await, Err(Deny::UnknownKey));
    let jwks_url = format!("{}/.well-known/jwks.json", server.base);
    assert!(server.stop());
    // The issuer is gone: an authorizer with nothing cached fails closed.
    let gone = Authorizer::new(
        authorizer.policy().clone(),
        HttpsJwks::new(Location::Jwks(jwks_url)).unwrap(),
    );
    assert_eq!(gone.decide(Some(&token), None).await, Err(Deny::KeysUnavailable));
}
