//! `PUT /organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}`
//! (openapi.yaml: putAuthorityClaim): a full replace of the claim's writable fields,
//! checked against reference data and the exclusive-role rule under the store's
//! guard (the write use case). On DynamoDB that is two sequential round trips: the
//! reference data and the claims (with their version) read concurrently, then one
//! transaction.

use crate::error::ApiError;
use crate::input::{Admitted, RouteInput, both, path, serve};
use directory_domain::claims;
use directory_domain::ids::{ClaimId, OrganisationId};
use directory_domain::model::{AuthorityClaim, AuthorityClaimUpdate, ReferenceData};
use directory_domain::routes::{PUT_AUTHORITY_CLAIM, Route};
use directory_domain::{Refusal, validate};
use directory_usecases::writes::{ClaimWrite, DirectoryWrites};
use lambda_http::http::header;
use lambda_http::{Body, Request, Response};

/// Largest accepted body, in bytes (the route's limit, which the local server also
/// applies before reading).
pub const MAX_BODY_BYTES: usize = PUT_AUTHORITY_CLAIM.max_body;

/// The route's input: the claim and the body's writable fields.
pub struct ClaimPutInput {
    pub org: OrganisationId,
    pub claim: ClaimId,
    pub update: AuthorityClaimUpdate,
}

impl RouteInput for ClaimPutInput {
    const ROUTE: Route = PUT_AUTHORITY_CLAIM;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        let param = |name| path(req, name).map_err(|e| e.messages());
        let org = param(OrganisationId::PARAM).and_then(OrganisationId::parse);
        let claim = param(ClaimId::PARAM).and_then(ClaimId::parse);
        let ((org, claim), update) = both(both(org, claim), read_body(req))?;
        Ok(Self { org, claim, update })
    }
}

pub(crate) fn is_json(content_type: Option<&str>) -> bool {
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

/// Updates one claim and answers with it, derived fields filled.
pub async fn handle<S: DirectoryWrites>(store: &S, req: Request) -> Response<Body> {
    serve(req, |a: Admitted<ClaimPutInput>| async move {
        let actor = a.actor();
        let ClaimPutInput { org, claim, update } = a.input;
        let caller = a.caller;
        // The store reads the reference data with the claims (one round trip), so the
        // body is checked against it inside the decision: a refusal there writes nothing.
        let decision = move |reference: &ReferenceData, all: &[AuthorityClaim], current: &AuthorityClaim| {
            let role = claims::resolve_update(&update, reference).map_err(Refusal::Invalid)?;
            claims::decide(&caller, all, current, &update, role.as_ref(), reference)
        };
        match store.update_authority_claim_as(&org, &claim, &actor, decision).await? {
            ClaimWrite::Updated(updated) => a.call.ok(&updated),
            ClaimWrite::NotFound => Err(ApiError::NotFound(format!(
                "authority claim {claim} of organisation {org} not found"
            ))),
            ClaimWrite::Rejected(e) => Err(e.into()),
            ClaimWrite::Importing => Err(ApiError::Busy(format!(
                "organisation {org} is being imported; retry in a moment"
            ))),
        }
    })
    .await
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
