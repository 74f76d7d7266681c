//! `GET /organisations/{OrganisationId}/authorisationservers/{AuthorisationServerId}/apiresources/{ApiResourceId}`
//! (openapi.yaml: getApiResource).

use crate::error::ApiError;
use crate::input::{Admitted, RouteInput, both, path, serve};
use directory_domain::ids::{OrganisationId, ResourceId, ServerId};
use directory_domain::model::ApiResourceResponse;
use directory_domain::routes::{API_RESOURCE, Route};
use directory_usecases::ports::OrganisationReads;
use lambda_http::{Body, Request, Response};

/// The route's input: the organisation, its server and the resource.
pub struct ResourceInput {
    pub org: OrganisationId,
    pub server: ServerId,
    pub resource: ResourceId,
}

impl RouteInput for ResourceInput {
    const ROUTE: Route = API_RESOURCE;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        let param = |name| path(req, name).map_err(|e| e.messages());
        let org = param(OrganisationId::PARAM).and_then(OrganisationId::parse);
        let server = param(ServerId::PARAM).and_then(ServerId::parse);
        let resource = param(ResourceId::PARAM).and_then(ResourceId::parse);
        let ((org, server), resource) = both(both(org, server), resource)?;
        Ok(Self { org, server, resource })
    }
}

/// One API resource: one store read (one GetItem on DynamoDB). A resource of
/// another server, like an unknown organisation or server, is not found.
pub async fn handle<S: OrganisationReads>(store: &S, req: Request) -> Response<Body> {
    serve(req, |a: Admitted<ResourceInput>| async move {
        let ResourceInput { org, server, resource } = &a.input;
        let found = store.api_resource(org, server, resource).await?.ok_or_else(|| {
            ApiError::NotFound(format!(
                "API resource {resource} of authorisation server {server} of organisation {org} not found"
            ))
        })?;
        a.call.ok(&ApiResourceResponse::from(found))
    })
    .await
}
