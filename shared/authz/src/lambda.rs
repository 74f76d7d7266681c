//! The Lambda authorizer's event and response (HTTP API, payload 2.0, simple
//! responses): the token from `Authorization`, the client certificate from
//! `requestContext.authentication.clientCert`, the route from `routeKey`.

use crate::decision::{Authorizer, Deny, Identity};
use crate::keys::KeySource;
use directory_domain::routes;
use lambda_http::aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use lambda_http::http::HeaderMap;
use serde_json::{Value, json};

/// The bearer token of an `Authorization` header (scheme case-insensitive).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The decision for one authorizer event: the token verified and bound, and its
/// scopes enough for the route. An unknown route is refused (fail closed).
pub async fn decide<S: KeySource>(
    authorizer: &Authorizer<S>,
    event: &ApiGatewayV2CustomAuthorizerV2Request,
) -> Result<Identity, Deny> {
    let cert = event
        .request_context
        .authentication
        .as_ref()
        .and_then(|a| a.client_cert.as_ref())
        .and_then(|c| c.client_cert_pem.as_deref());
    let route = event
        .route_key
        .as_deref()
        .and_then(routes::by_route_key)
        .ok_or_else(|| Deny::Scope("a known route".to_owned()))?;
    authorizer.decide_for(bearer(&event.headers), cert, route.access).await
}

/// The simple response: allowed with the identity as context, or refused. Every
/// decision is logged with who and why, never the token.
pub fn response(route_key: Option<&str>, decision: &Result<Identity, Deny>) -> Value {
    let route = route_key.unwrap_or("");
    match decision {
        Ok(identity) => {
            tracing::info!(
                event = "authorized",
                route,
                sub = identity.sub.as_deref().unwrap_or(""),
                organisation_id = identity.organisation_id.as_deref().unwrap_or(""),
                bound = identity.thumbprint.is_some(),
            );
            json!({ "isAuthorized": true, "context": identity.context() })
        }
        Err(reason) => {
            tracing::info!(event = "denied", route, reason = %reason);
            json!({ "isAuthorized": false, "context": {} })
        }
    }
}

/// The variables the authorizer function reads (the template sets exactly these).
pub const ENV_VARS: [&str; 5] = ["ISSUER", "AUDIENCE", "JWKS_URL", "MTLS_REQUIRED", "ALLOW_RS256"];

/// The deployed authorizer's configuration, from its environment (template.yaml):
/// `ISSUER`, `AUDIENCE`, optional `JWKS_URL` (else the issuer's discovery document),
/// `MTLS_REQUIRED` and `ALLOW_RS256` (`true` or `false`, default false).
#[cfg(feature = "fetch")]
pub fn from_env() -> Result<Authorizer<crate::fetch::HttpsJwks>, String> {
    use crate::decision::Policy;
    use crate::fetch::{HttpsJwks, Location};
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let required = |name: &str| var(name).ok_or_else(|| format!("{name} is not set"));
    let flag = |name: &str| match var(name).as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(format!("{name}: {other:?} is not true or false")),
    };
    let issuer = required("ISSUER")?;
    let policy = Policy {
        audience: required("AUDIENCE")?,
        algorithms: Policy::algorithms(flag("ALLOW_RS256")?),
        require_binding: flag("MTLS_REQUIRED")?,
        issuer: issuer.clone(),
    };
    let source = HttpsJwks::new(Location::from_config(&issuer, var("JWKS_URL").as_deref()))?;
    Ok(Authorizer::new(policy, source))
}
