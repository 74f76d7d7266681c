//! One handler per endpoint: plain async fns from a `lambda_http::Request` to a
//! response, called by the Lambda binaries and the local server alike. Every client
//! error is a normal response; nothing here returns `Err` or panics on input.

pub mod api_resource;
pub mod authority_claims;
pub mod call;
pub mod open_data_export;
pub mod organisation_snapshot;
pub mod put_authority_claim;

pub use call::Call;

use crate::export::ObjectTarget;
use crate::routes::{self, Route};
use crate::store::Store;
use lambda_http::{Body, Request, Response};

/// What the handlers run against: the store and the export target.
pub struct Services<S, T> {
    pub store: S,
    pub exports: T,
}

/// Dispatches a request for `route` to its handler (the local server's router).
pub async fn dispatch<S: Store, T: ObjectTarget>(
    route: &Route,
    services: &Services<S, T>,
    req: Request,
) -> Response<Body> {
    let store = &services.store;
    match *route {
        routes::ORGANISATION_SNAPSHOT => organisation_snapshot::handle(store, req).await,
        routes::API_RESOURCE => api_resource::handle(store, req).await,
        routes::AUTHORITY_CLAIMS => authority_claims::handle(store, req).await,
        routes::PUT_AUTHORITY_CLAIM => put_authority_claim::handle(store, req).await,
        routes::OPEN_DATA_EXPORT => open_data_export::handle(store, &services.exports, req).await,
        _ => crate::error::ApiError::NotFound(format!("no handler for {}", route.name))
            .into_response(&crate::http::fapi::read(req.headers()).interaction_id),
    }
}
