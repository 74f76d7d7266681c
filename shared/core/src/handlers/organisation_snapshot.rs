//! `GET /organisations/{OrganisationId}/snapshot` (openapi.yaml: getOrganisationSnapshot).

use super::Call;
use crate::auth;
use crate::error::ApiError;
use crate::ids::{self, OrganisationId};
use crate::model::Shown;
use crate::routes::ORGANISATION_SNAPSHOT;
use crate::store::Store;
use lambda_http::{Body, Request, Response};

/// Everything about one organisation: one store read (one Query on DynamoDB).
pub async fn handle<S: Store>(store: &S, req: Request) -> Response<Body> {
    let call = Call::start(&req, ORGANISATION_SNAPSHOT);
    let outcome = run(store, &req, &call).await;
    call.finish(outcome)
}

async fn run<S: Store>(store: &S, req: &Request, call: &Call) -> Result<Response<Body>, ApiError> {
    let org = call.path(req, "OrganisationId")?;
    let caller = call.admit(req, Some(org))?;
    let mut problems = Vec::new();
    let org = ids::collect(OrganisationId::parse(org), &mut problems);
    call.check_path(problems)?;
    call.reject_if_any(Vec::new())?;
    let org = Call::id(org)?;
    let snapshot = store
        .snapshot(&org)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("organisation {org} not found")))?;
    // Flags above the caller's level and secrets are not shown (docs/design.md, "Visibility").
    call.ok(&Shown::to(auth::audience(&caller), snapshot))
}
