//! `PUT /organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}`
//! (openapi.yaml: putAuthorityClaim): a full replace of the claim's writable fields, checked
//! against reference data and the exclusive-role rule under the store's guard. On
//! DynamoDB that is two sequential round trips: the reference data and the claims
//! (with their version) read concurrently, then one transaction.

use super::Call;
use crate::audit;
use crate::claims;
use crate::error::ApiError;
use crate::ids::{self, ClaimId, OrganisationId};
use crate::model::{AuthorityClaim, AuthorityClaimUpdate, ReferenceData};
use crate::routes::PUT_AUTHORITY_CLAIM;
use crate::store::{ClaimWrite, DirectoryWrites, Store};
use crate::validate;
use lambda_http::http::header;
use lambda_http::{Body, Request, Response};

/// Largest accepted body, in bytes (the route's limit, which the local server also
/// applies before reading).
pub const MAX_BODY_BYTES: usize = PUT_AUTHORITY_CLAIM.max_body;

/// Updates one claim and answers with it, derived fields filled. A refused write
/// is logged with its reason (accepted ones leave an audit record in the store).
pub async fn handle<S: Store>(store: &S, req: Request) -> Response<Body> {
    let call = Call::start(&req, PUT_AUTHORITY_CLAIM);
    let outcome = run(store, &req, &call).await;
    if let Err(e) = &outcome
        && e.status().is_client_error()
    {
        let target = audit::target(&call.path_params(&req));
        audit::log_rejected(
            &call.actor(&req),
            &target,
            e.status().as_u16(),
            &e.messages().join("; "),
        );
    }
    call.finish(outcome)
}

fn is_json(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        let media = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
    })
}

/// Parses and validates the body, reporting every problem found.
fn read_body(req: &Request) -> Result<AuthorityClaimUpdate, Vec<String>> {
    let bytes: &[u8] = req.body().as_ref();
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if !is_json(content_type) {
        return Err(vec!["Content-Type: must be application/json".to_owned()]);
    }
    if bytes.len() > MAX_BODY_BYTES {
        return Err(vec![format!("body: larger than {MAX_BODY_BYTES} bytes")]);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(vec!["body: required (a JSON object)".to_owned()]);
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| vec![format!("body: not valid JSON: {e}")])?;
    validate::claim_update(&value)
}

async fn run<S: Store>(store: &S, req: &Request, call: &Call) -> Result<Response<Body>, ApiError> {
    let org = call.path(req, "OrganisationId")?;
    let claim_id = call.path(req, "OrganisationAuthorityClaimId")?;
    let caller = call.admit(req, Some(org))?;
    let actor = call.actor_of(&caller);
    let mut problems = Vec::new();
    let org = ids::collect(OrganisationId::parse(org), &mut problems);
    let claim_id = ids::collect(ClaimId::parse(claim_id), &mut problems);
    let update = ids::collect(read_body(req), &mut problems);
    call.reject_if_any(problems)?;
    let (org, claim_id, update) = (Call::id(org)?, Call::id(claim_id)?, Call::id(update)?);

    // The store reads the reference data with the claims (one round trip), so the
    // body is checked against it inside the decision: a refusal there writes nothing.
    let decision = move |reference: &ReferenceData, all: &[AuthorityClaim], current: &AuthorityClaim| {
        let role = claims::resolve_update(&update, reference).map_err(directory_domain::Refusal::Invalid)?;
        claims::decide(&caller, all, current, &update, role.as_ref(), reference)
    };
    match store
        .update_authority_claim_as(&org, &claim_id, &actor, decision)
        .await?
    {
        ClaimWrite::Updated(claim) => call.ok(&claim),
        ClaimWrite::NotFound => Err(ApiError::NotFound(format!(
            "authority claim {claim_id} of organisation {org} not found"
        ))),
        ClaimWrite::Rejected(e) => Err(e.into()),
        ClaimWrite::Importing => Err(ApiError::Busy(format!(
            "organisation {org} is being imported; retry in a moment"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_content_types() {
        assert!(is_json(Some("application/json")));
        assert!(is_json(Some("application/json; charset=utf-8")));
        assert!(is_json(Some("application/merge-patch+json")));
        assert!(!is_json(Some("text/plain")));
        assert!(!is_json(None));
    }
}
