//! `POST /federation/pins` (openapi.yaml: pinFederationKeys): an admin pins the
//! federation keys of an authorisation server's self-managed entity, registered in
//! the body or fetched once from its entity configuration (docs/design.md, "OpenID
//! Federation": the directory never trusts a key because a URL served it today).

use crate::error::ApiError;
use crate::handlers::subscriptions::{body, transmitter_for};
use crate::input::{Admitted, RouteInput, serve};
use directory_domain::events::endpoint::Reach;
use directory_domain::routes::{PIN_FEDERATION_KEYS, Route};
use directory_usecases::clock::now;
use directory_usecases::federation::pin::{PinRequest, pin};
use directory_usecases::federation::{EntityFetch, FedError};
use directory_usecases::ports::{AuditLog, ChangeFeed, FederationStore};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// The route's input: the pin request.
pub struct PinInput(PinRequest);

impl RouteInput for PinInput {
    const ROUTE: Route = PIN_FEDERATION_KEYS;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        body(req).map(PinInput)
    }
}

impl From<FedError> for ApiError {
    fn from(e: FedError) -> Self {
        match e {
            FedError::InvalidRequest(m) | FedError::InvalidMetadata(m) => Self::BadRequest(vec![m]),
            FedError::NotFound(m) | FedError::InvalidTrustAnchor(m) => Self::NotFound(m),
            FedError::Upstream(m) => Self::BadRequest(vec![format!("entity configuration: {m}")]),
            FedError::Store(e) => e.into(),
            FedError::Sign(e) => Self::Internal(e.to_string()),
            FedError::Keys(e) => Self::Internal(e.to_string()),
        }
    }
}

/// Pins the keys; 200 with what was pinned.
pub async fn handle<S: FederationStore + ChangeFeed + AuditLog>(
    store: &S,
    fetch: &dyn EntityFetch,
    req: Request,
) -> Response<Body> {
    let loopback = transmitter_for(&req).reach == Reach::Loopback;
    serve(req, |a: Admitted<PinInput>| async move {
        let actor = a.actor();
        let pinned = pin(store, fetch, &actor, a.input.0, loopback, now()).await?;
        let view = json!({
            "EntityId": pinned.entity_id,
            "OrganisationId": pinned.organisation_id,
            "Kids": pinned.jwks.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>(),
            "PinnedAt": pinned.pinned_at,
            "Source": pinned.source,
            "Version": pinned.version,
        });
        Ok(crate::error::json_response(
            StatusCode::OK,
            view.to_string(),
            &a.call.interaction_id,
        ))
    })
    .await
}
