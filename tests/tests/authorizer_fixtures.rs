//! The Lambda authorizer's fixtures (tests/events/authorizer, made by
//! tests/fixtures/authorizer/make-events.py) through its decision in-process: the
//! file name's prefix is the expected answer. scripts/lambda-runtime-test.sh sends
//! the same events to the real binary, which fetches the key set over HTTP.

use directory_authz::lambda::{decide, response};
use directory_authz::{Authorizer, Policy, StaticKeys};
use directory_tests::repo_root;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;

fn authorizer() -> Authorizer<StaticKeys> {
    let jwks = std::fs::read_to_string(repo_root().join("tests/fixtures/authorizer/jwks.json")).unwrap();
    Authorizer::new(
        Policy {
            issuer: "https://auth.directory.example.com".into(),
            audience: "directory-api".into(),
            algorithms: Policy::algorithms(false),
            require_binding: true,
        },
        StaticKeys(serde_json::from_str(&jwks).unwrap()),
    )
}

#[tokio::test]
async fn every_fixture_gets_the_decision_its_name_says() {
    let authorizer = authorizer();
    let dir = repo_root().join("tests/events/authorizer");
    let mut seen = (0, 0);
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let event: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_str(&text).unwrap();
        let decision = decide(&authorizer, &event).await;
        let answer = response(event.route_key.as_deref(), &decision);
        let allowed = answer["isAuthorized"].as_bool().unwrap();
        match name.split('-').next().unwrap() {
            "allow" => {
                assert!(allowed, "{name}: {decision:?}");
                seen.0 += 1;
                let id = decision.unwrap();
                // The context carries who the caller is and the checked binding.
                assert_eq!(answer["context"]["organisation_id"], id.organisation_id.unwrap());
                assert!(
                    answer["context"]["x5t#S256"].as_str().is_some_and(|t| t.len() == 43),
                    "{name}"
                );
                // And it never carries the token.
                let bearer = event.headers["authorization"]
                    .to_str()
                    .unwrap()
                    .trim_start_matches("Bearer ");
                assert!(!answer.to_string().contains(bearer), "{name}: token in the context");
            }
            "deny" => {
                assert!(!allowed, "{name}: allowed");
                assert_eq!(answer["context"], serde_json::json!({}), "{name}");
                seen.1 += 1;
            }
            other => panic!("{name}: prefix {other} is neither allow nor deny"),
        }
    }
    assert!(seen.0 >= 3 && seen.1 >= 10, "{seen:?}");
}
