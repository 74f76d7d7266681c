//! The route table in code is the one `cargo lambda watch` and the function
//! packages use: every route has its function crate and its router entry.

use directory_core::routes::ROUTES;
use directory_tests::repo_root;

#[test]
fn cargo_lambda_watch_router_matches_the_route_table() {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    for route in ROUTES {
        let line = format!(
            "\"{}\" = [{{ method = \"{}\", function = \"{}\" }}]",
            route.path, route.method, route.name
        );
        assert!(manifest.contains(&line), "missing router entry: {line}");
    }
    let entries = manifest.lines().filter(|l| l.contains("function = ")).count();
    assert_eq!(entries, ROUTES.len());
}

#[test]
fn every_route_has_a_function_package_and_fixtures() {
    for route in ROUTES {
        let dir = repo_root().join("functions").join(route.name);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        assert!(
            manifest.contains(&format!("name = \"{}\"", route.name)),
            "functions/{} package",
            route.name
        );
        assert!(
            repo_root().join("tests/events").join(route.name).is_dir(),
            "tests/events/{}",
            route.name
        );
    }
}
