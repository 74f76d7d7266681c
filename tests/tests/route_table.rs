//! The route table is the spine: every row has its function package, its fixtures
//! and its template function (checked in template.rs), every HTTP row its OpenAPI
//! operation (openapi.rs) and its `cargo lambda watch` router entry — and nothing
//! exists without its row. Adding an endpoint without one of them fails here.

use directory_domain::routes::{AUTHORIZER_FUNCTION, ROUTES, function_names, http_routes};
use directory_tests::repo_root;
use std::collections::BTreeSet;

fn dir_names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(repo_root().join(dir))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// Every function: the rows and the authorizer.
fn rows() -> BTreeSet<String> {
    function_names().map(str::to_owned).collect()
}

#[test]
fn cargo_lambda_watch_router_matches_the_route_table() {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    // One line per path, its methods in the table's order.
    let mut paths: Vec<(&str, Vec<String>)> = Vec::new();
    for (route, http) in http_routes() {
        let entry = format!("{{ method = \"{}\", function = \"{}\" }}", http.method, route.name);
        match paths.iter_mut().find(|(p, _)| *p == http.path) {
            Some((_, entries)) => entries.push(entry),
            None => paths.push((http.path, vec![entry])),
        }
    }
    for (path, entries) in &paths {
        let line = format!("\"{path}\" = [{}]", entries.join(", "));
        assert!(manifest.contains(&line), "missing router entry: {line}");
    }
    let entries: usize = manifest.lines().map(|l| l.matches("function = ").count()).sum();
    assert_eq!(entries, http_routes().count());
}

#[test]
fn function_packages_are_the_route_table() {
    assert_eq!(
        dir_names("functions"),
        rows(),
        "functions/<name> for every row and the authorizer, and no other"
    );
    let authorizer = std::fs::read_to_string(repo_root().join("functions/authorizer/src/main.rs")).unwrap();
    assert!(
        authorizer.contains("directory_authz::lambda::{decide, from_env, response}")
            && authorizer.contains("directory_http::logging::init_lambda();")
            && authorizer.lines().count() <= 25,
        "functions/{AUTHORIZER_FUNCTION}: main.rs stays wiring over directory_authz::lambda"
    );
    for route in ROUTES {
        let dir = repo_root().join("functions").join(route.name);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap_or_default();
        assert!(
            manifest.contains(&format!("name = \"{}\"", route.name)),
            "functions/{} package",
            route.name
        );
        // The binary is wiring only: it names its own row and nothing else decides.
        let main = std::fs::read_to_string(dir.join("src/main.rs")).unwrap();
        assert!(
            main.contains(&format!("const ROUTE: Route = row(\"{}\");", route.name)),
            "functions/{}: main.rs takes its own row, by name",
            route.name
        );
        // What it builds is what its row needs: the store alone, the store and the
        // signing key, or the store and the S3 target, so the other binaries carry no
        // S3 or KMS code.
        let build = if route.needs.federation {
            "directory_aws::store_and_federation_key_for(&ROUTE)"
        } else if route.name == "pin-federation-keys" {
            "Pinning { store, fetch }"
        } else if route.needs.exports {
            "directory_aws::store_and_exports_for(&ROUTE)"
        } else if route.needs.signing {
            "directory_aws::store_and_signer_for(&ROUTE)"
        } else if route.http().is_some() {
            "StoreOnly(directory_aws::store_for(&ROUTE)"
        } else {
            "directory_aws::store_for(&ROUTE)"
        };
        assert!(main.contains(build), "functions/{}: builds {build}", route.name);
        // Every function logs through the one subscriber; an HTTP one hands its response
        // over as built (lambda_http's own conversion links every legacy charset).
        assert!(
            main.contains("directory_http::logging::init_lambda();"),
            "functions/{}: logs through directory_http::logging",
            route.name
        );
        if route.http().is_some() {
            assert!(
                main.contains("AsBuilt(dispatch(&ROUTE, &services, req).await)"),
                "functions/{}: answers with AsBuilt(dispatch(..))",
                route.name
            );
        }
        assert!(
            main.lines().count() <= 25,
            "functions/{}: main.rs stays wiring",
            route.name
        );
    }
}

#[test]
fn fixture_directories_are_the_route_table() {
    assert_eq!(
        dir_names("tests/events"),
        rows(),
        "tests/events/<name> for every function, and no other"
    );
    for name in function_names() {
        let count = std::fs::read_dir(repo_root().join("tests/events").join(name))
            .unwrap()
            .count();
        assert!(count > 0, "tests/events/{name} has fixtures");
    }
}
