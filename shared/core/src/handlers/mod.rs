//! One handler per endpoint: plain async fns from a `lambda_http::Request` to a
//! response, called by the Lambda binaries and the local server alike. Every client
//! error is a normal response; nothing here returns `Err` or panics on input.

pub mod api_resource;
pub mod authority_claims;
pub mod call;
pub mod organisation_snapshot;
pub mod put_authority_claim;

pub use call::Call;

use crate::routes::Route;
use crate::store::Store;
use lambda_http::{Body, Request, Response};

/// Dispatches a request for `route` to its handler (the local server's router).
pub async fn dispatch<S: Store>(route: &Route, store: &S, req: Request) -> Response<Body> {
    match route.name {
        n if n == crate::routes::ORGANISATION_SNAPSHOT.name => {
            organisation_snapshot::handle(store, req).await
        }
        n if n == crate::routes::API_RESOURCE.name => api_resource::handle(store, req).await,
        n if n == crate::routes::AUTHORITY_CLAIMS.name => {
            authority_claims::handle(store, req).await
        }
        n if n == crate::routes::PUT_AUTHORITY_CLAIM.name => {
            put_authority_claim::handle(store, req).await
        }
        _ => not_implemented(&req),
    }
}

fn not_implemented(req: &Request) -> Response<Body> {
    let id = crate::http::fapi::read(req.headers()).interaction_id;
    crate::error::json_response(
        lambda_http::http::StatusCode::NOT_IMPLEMENTED,
        r#"{"errors":["this route is not implemented yet"]}"#.to_owned(),
        &id,
    )
}
