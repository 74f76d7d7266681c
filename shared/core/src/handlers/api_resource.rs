//! `GET /organisations/{OrganisationId}/authorisationservers/{AuthorisationServerId}/apiresources/{ApiResourceId}`
//! (openapi.yaml: getApiResource).

use super::Call;
use crate::error::ApiError;
use crate::ids::{self, OrganisationId, ResourceId, ServerId};
use crate::model::ApiResourceResponse;
use crate::routes::API_RESOURCE;
use crate::store::Store;
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
    let mut problems = Vec::new();
    let org = ids::collect(OrganisationId::parse(org), &mut problems);
    let server = ids::collect(ServerId::parse(server), &mut problems);
    let resource = ids::collect(ResourceId::parse(resource), &mut problems);
    call.check_path(problems)?;
    call.reject_if_any(Vec::new())?;
    let (org, server, resource) = (Call::id(org)?, Call::id(server)?, Call::id(resource)?);
    let found = store.api_resource(&org, &server, &resource).await?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "API resource {resource} of authorisation server {server} of organisation {org} not found"
        ))
    })?;
    call.ok(&ApiResourceResponse::from(found))
}
