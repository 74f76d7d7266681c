//! `GET /organisations/{OrganisationId}/snapshot` (openapi.yaml: getOrganisationSnapshot).

use crate::error::ApiError;
use crate::input::{Admitted, RouteInput, path, serve};
use directory_domain::auth;
use directory_domain::ids::OrganisationId;
use directory_domain::model::Shown;
use directory_domain::routes::{ORGANISATION_SNAPSHOT, Route};
use directory_usecases::ports::OrganisationReads;
use lambda_http::{Body, Request, Response};

/// The route's input: the organisation.
pub struct SnapshotInput {
    pub org: OrganisationId,
}

impl RouteInput for SnapshotInput {
    const ROUTE: Route = ORGANISATION_SNAPSHOT;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        let org = path(req, OrganisationId::PARAM).map_err(|e| e.messages())?;
        Ok(Self {
            org: OrganisationId::parse(org)?,
        })
    }
}

/// Everything about one organisation the caller may see: one store read (one Query
/// on DynamoDB).
pub async fn handle<S: OrganisationReads>(store: &S, req: Request) -> Response<Body> {
    serve(req, |a: Admitted<SnapshotInput>| async move {
        let org = &a.input.org;
        let snapshot = store
            .snapshot(org)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("organisation {org} not found")))?;
        // Flags above the caller's level and secrets are not shown (docs/design.md, "Visibility").
        a.call.ok(&Shown::to(auth::audience(&a.caller), snapshot))
    })
    .await
}
