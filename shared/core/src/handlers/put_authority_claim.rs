//! `PUT /organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}`
//! (put-authority-claim.txt): a full replace of the claim's writable fields, checked
//! against reference data and the exclusive-role rule under the store's guard.

use super::Call;
use crate::audit;
use crate::auth::{self, Caller};
use crate::error::ApiError;
use crate::import::{apply_role, resolve_role};
use crate::model::{AuthorityClaim, AuthorityClaimUpdate, DomainRole, ReferenceData};
use crate::routes::PUT_AUTHORITY_CLAIM;
use crate::store::{ClaimWrite, Store};
use crate::validate::{
    self,
    rules::{ID40, UUID40},
};
use lambda_http::http::header;
use lambda_http::{Body, Request, Response};
use std::sync::Arc;

/// Largest accepted body, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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

/// Resolves the body against reference data: a known authority and, when the body
/// names a role, a known role whose domain agrees with `AuthorisationDomainID`.
fn resolve(update: &AuthorityClaimUpdate, reference: &ReferenceData) -> Result<Option<DomainRole>, Vec<String>> {
    let mut problems = Vec::new();
    if reference.authority(&update.authority_id).is_none() {
        problems.push(format!(
            "AuthorityId: {:?} is not a known authority",
            update.authority_id
        ));
    }
    let role = match resolve_role(
        reference,
        update.authorisation_domain_role_identifier.as_deref(),
        update.authorisation_domain.as_deref(),
        update.role.as_deref(),
    ) {
        Ok(r) => r.cloned(),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    if let Some(domain_id) = &update.authorisation_domain_id {
        match &role {
            Some(r) if &r.authorisation_domain_id != domain_id => problems.push(format!(
                "AuthorisationDomainID: {domain_id:?} is not the domain of the given role"
            )),
            None if reference.domain(domain_id).is_none() => problems.push(format!(
                "AuthorisationDomainID: {domain_id:?} is not a known authorisation domain"
            )),
            _ => {}
        }
    }
    if problems.is_empty() { Ok(role) } else { Err(problems) }
}

/// The new claim: writable fields replaced, role applied (or the current one kept and
/// refreshed from reference data), read-only data kept; refused with 403 if the
/// caller may not make the change, with 400 if the organisation would break the
/// exclusive-role rule. A new role or authority clears the old claim's
/// `Authorisations` (grants of the old claim do not carry over).
pub fn decide(
    caller: &Caller,
    claims: &[AuthorityClaim],
    current: &AuthorityClaim,
    update: &AuthorityClaimUpdate,
    role: Option<&DomainRole>,
    reference: &ReferenceData,
) -> Result<AuthorityClaim, ApiError> {
    let denied = auth::claim_change_needs_admin(caller, current, update, role);
    if !denied.is_empty() {
        return Err(ApiError::ForbiddenFields(denied));
    }
    let mut next = current.clone();
    next.authority_id = update.authority_id.clone();
    next.registration_id = update.registration_id.clone();
    next.unique_technical_identifiers = update.unique_technical_identifiers.clone();
    next.status = update.status;
    let role = role.or_else(|| {
        current
            .authorisation_domain_role_identifier
            .as_deref()
            .and_then(|id| reference.role(id))
    });
    if let Some(role) = role {
        apply_role(&mut next, reference, role);
    }
    if next.authorisation_domain_role_identifier != current.authorisation_domain_role_identifier
        || next.authority_id != current.authority_id
    {
        next.authorisations.clear();
    }
    match validate::exclusive_rule_after(claims, &next) {
        Some(rule) => Err(ApiError::BadRequest(vec![rule])),
        None => Ok(next),
    }
}

async fn run<S: Store>(store: &S, req: &Request, call: &Call) -> Result<Response<Body>, ApiError> {
    let org = call.path(req, "OrganisationId")?;
    let claim_id = call.path(req, "OrganisationAuthorityClaimId")?;
    let caller = call.admit(req, Some(org))?;
    let actor = call.actor_of(&caller);
    let mut problems = validate::path_param("OrganisationId", org, ID40);
    problems.extend(validate::path_param("OrganisationAuthorityClaimId", claim_id, UUID40));
    let update = read_body(req).map_err(|e| problems.extend(e)).ok();
    call.reject_if_any(problems)?;
    let update = update.ok_or_else(|| ApiError::Internal("validated body missing".into()))?;

    let reference = Arc::new(store.reference().await?);
    let role = resolve(&update, &reference).map_err(ApiError::BadRequest)?;
    let decision = {
        let reference = reference.clone();
        move |claims: &[AuthorityClaim], current: &AuthorityClaim| {
            decide(&caller, claims, current, &update, role.as_ref(), &reference)
        }
    };
    match store.update_authority_claim_as(org, claim_id, &actor, decision).await? {
        ClaimWrite::Updated(claim) => call.ok(&claim),
        ClaimWrite::NotFound => Err(ApiError::NotFound(format!(
            "authority claim {claim_id} of organisation {org} not found"
        ))),
        ClaimWrite::Rejected(e) => Err(e),
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
