//! A server that cannot be starved: a cap on connections (idle clients wait in the
//! backlog and are dropped after the request timeout), a failing accept backs off
//! instead of spinning, a body that trickles is cut off, a body a route cannot take
//! is refused before it is read, and every static response says `nosniff`.

mod common;

use common::{BIN, Server, get, request};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn addr(server: &Server) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

#[test]
fn idle_connections_hold_no_more_than_the_cap_and_cannot_starve_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_serving(dir.path(), &[], &["--max-connections", "4", "--request-timeout", "1"]);
    let pid = server.child.id();
    assert_eq!(get(&server.base, "/openapi.yaml", "").status, 200);
    let baseline = open_descriptors(pid);
    // Twelve clients connect and send nothing.
    let idle: Vec<TcpStream> = (0..12).map(|_| TcpStream::connect(addr(&server)).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(300));
    let during = open_descriptors(pid);
    assert!(
        during <= baseline + 4,
        "the cap holds: {during} descriptors open against {baseline} before"
    );
    // A real request still gets its answer: each idle client is dropped after the
    // request timeout, so the backlog moves.
    let r = get(&server.base, "/openapi.yaml", "");
    assert_eq!(r.status, 200);
    // And the idle clients were closed by the server, not left open.
    for mut c in idle {
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buf = [0u8; 64];
        assert!(
            matches!(c.read(&mut buf), Ok(0) | Err(_)),
            "an idle connection stayed open"
        );
    }
    assert!(server.stop());
}

#[test]
fn a_failing_accept_backs_off_and_the_server_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    // 48 descriptors and a cap far above them: accepting fails with EMFILE.
    let script = format!(
        "ulimit -n 48 && exec {BIN} --data-dir {} serve --port 0 --max-connections 1000 --request-timeout 2",
        dir.path().display()
    );
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let base = {
        let mut seen = Vec::new();
        let mut byte = [0u8; 1];
        while !String::from_utf8_lossy(&seen).contains("participants explorer") {
            assert_eq!(
                out.read(&mut byte).unwrap(),
                1,
                "server exited: {}",
                std::fs::read_to_string(&log).unwrap()
            );
            seen.push(byte[0]);
        }
        let text = String::from_utf8_lossy(&seen).into_owned();
        text.lines()
            .find_map(|l| l.strip_prefix("directory API listening on "))
            .unwrap()
            .trim()
            .to_owned()
    };
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let authority = base.trim_start_matches("http://").to_owned();
    let flood: Vec<TcpStream> = (0..80).filter_map(|_| TcpStream::connect(&authority).ok()).collect();
    std::thread::sleep(Duration::from_secs(2));
    let failures = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| l.contains("accept failed"))
        .count();
    assert!(
        failures >= 1,
        "the limit was reached: {}",
        std::fs::read_to_string(&log).unwrap()
    );
    // A spinning loop logs thousands; a doubling wait capped at 1 s, about a dozen.
    assert!(failures <= 20, "{failures} accept failures logged in 2 s: no back-off");
    drop(flood);
    // Once the flood is gone (its connections time out), requests are answered again.
    let started = Instant::now();
    loop {
        let ok = std::panic::catch_unwind(|| get(&base, "/openapi.yaml", "").status == 200).unwrap_or(false);
        if ok {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server did not recover"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_body_that_trickles_is_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_serving(dir.path(), &[], &["--request-timeout", "1"]);
    let token = server.printed_token();
    let path = server.printed_url().replace("/snapshot", "/authorityclaims/c1");
    let path = path.trim_start_matches(&server.base);
    let mut stream = TcpStream::connect(addr(&server)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"Aut"
    );
    stream.write_all(head.as_bytes()).unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("did not arrive within 1 s"), "{reply}");
    assert!(started.elapsed() < Duration::from_secs(8), "cut off at the timeout");
    assert!(server.stop());
}

#[test]
fn a_body_the_route_cannot_take_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let token = server.printed_token();
    let snapshot = server.printed_url();
    let snapshot = snapshot.trim_start_matches(&server.base).to_owned();
    for (method, path, length, limit) in [
        ("GET", snapshot.clone(), "10485760", "this route takes no request body"),
        ("GET", snapshot.clone(), "1", "this route takes no request body"),
        (
            "PUT",
            snapshot.replace("/snapshot", "/authorityclaims/c1"),
            "2097152",
            "body larger than 1048576 bytes",
        ),
    ] {
        // The head only: a server that waited for the body would never answer.
        let mut stream = TcpStream::connect(addr(&server)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 413"), "{method} {length}: {reply}");
        assert!(reply.contains(limit), "{method} {length}: {reply}");
    }
    // Methods are case-sensitive: `get` is not GET.
    let lower = request(
        &server.base,
        "get",
        &snapshot,
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(lower.status, 405);
    assert_eq!(lower.header("allow"), Some("GET"));
    assert!(server.stop());
}

#[test]
fn every_static_response_says_nosniff() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    for path in [
        "/participants",
        "/participants.jws",
        "/participants.jwks",
        "/openapi.yaml",
        "/",
        "/explorer.js",
        "/explorer.css",
        "/favicon.svg",
        "/.well-known/jwks.json",
        "/.well-known/participants-jwks.json",
        "/.well-known/openid-configuration",
        "/no-such-thing",
    ] {
        let r = get(&server.base, path, "");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}: {}",
            r.status
        );
    }
    assert!(server.stop());
}

/// A hostile import file of a million empty records: every problem is counted, the
/// output stays at the cap, nothing is written, and the file is streamed (never read
/// whole: the import reads it in passes).
#[test]
fn an_import_of_a_million_bad_records_reports_a_bounded_page() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("million.json");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
        out.write_all(b"{\"Organisations\":[").unwrap();
        for i in 0..1_000_000 {
            out.write_all(if i == 0 { b"{}" } else { b",{}" }).unwrap();
        }
        out.write_all(b"]}").unwrap();
    }
    let (ok, out, err) = common::cli(dir.path(), &["import", file.to_str().unwrap()]);
    assert!(!ok, "{out}");
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines.len() <= directory_usecases::import::MAX_PROBLEM_LINES + 5,
        "{} lines",
        lines.len()
    );
    let last = lines.last().unwrap();
    assert!(
        last.contains("1000000 problems in 1000000 records (999000 more lines not shown); nothing written"),
        "{last}"
    );
    let (ok, _, err) = common::cli(dir.path(), &["audit", "--org", "x"]);
    assert!(ok && err.contains("0 audit record(s)"), "{err}");
}
