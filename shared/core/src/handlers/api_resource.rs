//! `GET /organisations/{OrganisationId}/authorisationservers/{AuthorisationServerId}/apiresources/{ApiResourceId}`
//! (get-api-resource.txt).

use super::Call;
use crate::error::ApiError;
use crate::model::ApiResourceResponse;
use crate::routes::API_RESOURCE;
use crate::store::Store;
use crate::validate::rules::{ID40, TEXT40};
use lambda_http::{Body, Request, Response};

/// One API resource: one store read (one GetItem on DynamoDB). A resource of
/// another server, like an unknown organisation or server, is not found.
pub async fn handle<S: Store>(store: &S, req: Request) -> Response<Body> {
    let call = Call::start(&req, API_RESOURCE);
    let outcome = run(store, &req, &call).await;
    call.finish(outcome)
}

async fn run<S: Store>(store: &S, req: &Request, call: &Call) -> Result<Response<Body>, ApiError> {
    let org = call.path(req, "OrganisationId")?;
    let server = call.path(req, "AuthorisationServerId")?;
    let resource = call.path(req, "ApiResourceId")?;
    call.admit(req, Some(org))?;
    call.check_path(&[
        ("OrganisationId", org, ID40),
        ("AuthorisationServerId", server, TEXT40),
        ("ApiResourceId", resource, TEXT40),
    ])?;
    call.reject_if_any(Vec::new())?;
    let found = store.api_resource(org, server, resource).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "API resource {resource} of authorisation server {server} of organisation {org} not found"
        ))
    })?;
    call.ok(&ApiResourceResponse::from(found))
}
