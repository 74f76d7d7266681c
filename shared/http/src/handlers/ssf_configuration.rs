//! `GET /.well-known/ssf-configuration` (openapi.yaml: getSsfConfiguration): the
//! transmitter's metadata (SSF 1.0 §7.1), public, so a receiver finds the keys that
//! sign the SETs and the subscription endpoint from the issuer alone.

use crate::error::ApiError;
use crate::handlers::subscriptions::transmitter_for;
use crate::input::{Admitted, RouteInput, serve};
use directory_domain::events::wire::Configuration;
use directory_domain::routes::{Route, SSF_CONFIGURATION};
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, Response};

/// The route's input: none.
pub struct ConfigurationInput;

impl RouteInput for ConfigurationInput {
    const ROUTE: Route = SSF_CONFIGURATION;

    fn read(_: &Request) -> Result<Self, Vec<String>> {
        Ok(Self)
    }
}

/// The configuration.
pub async fn handle(req: Request) -> Response<Body> {
    let t = transmitter_for(&req);
    serve(req, |a: Admitted<ConfigurationInput>| async move {
        if t.issuer == "https://" {
            return Err(ApiError::Internal("EVENTS_ISSUER is not set".into()));
        }
        let text = serde_json::to_string(&Configuration::new(&t.issuer, &t.jwks_uri))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::CACHE_CONTROL, "public, max-age=3600")
            .header(crate::fapi::INTERACTION_ID, &a.call.interaction_id)
            .body(Body::Text(text))
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
}
