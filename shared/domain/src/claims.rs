//! Claim rules in one place: resolving a role from reference data and applying it
//! to a claim (import and PUT), the PUT decision (who may change what, the new
//! claim, cleared grants) and the exclusive-role rule over an organisation's claims.

use crate::Refusal;
use crate::auth::{self, Caller};
use crate::model::{AuthorityClaim, AuthorityClaimUpdate, DomainRole, ReferenceData, ReferenceLookup};

/// Resolves a claim's role from reference data: by `AuthorisationDomainRoleIdentifier`
/// or, deprecated, by the `AuthorisationDomain` + `Role` names. Both given must agree.
pub fn resolve_role<'r, R: ReferenceLookup + ?Sized>(
    reference: &'r R,
    role_id: Option<&str>,
    domain_name: Option<&str>,
    role_name: Option<&str>,
) -> Result<Option<&'r DomainRole>, String> {
    let by_id = match role_id {
        Some(id) => Some(
            reference
                .role(id)
                .ok_or_else(|| format!("AuthorisationDomainRoleIdentifier: {id:?} is not a known role"))?,
        ),
        None => None,
    };
    let by_names = match (domain_name, role_name) {
        (Some(d), Some(r)) => Some(
            reference
                .role_by_names(d, r)
                .ok_or_else(|| format!("AuthorisationDomain/Role: no role {r:?} in the authorisation domain {d:?}"))?,
        ),
        (None, None) => None,
        _ if by_id.is_some() => None,
        _ => return Err("AuthorisationDomain and Role must be given together".to_owned()),
    };
    match (by_id, by_names) {
        (Some(a), Some(b)) if a.authorisation_domain_role_identifier != b.authorisation_domain_role_identifier => {
            Err("AuthorisationDomainRoleIdentifier disagrees with AuthorisationDomain/Role".to_owned())
        }
        (Some(a), _) => Ok(Some(a)),
        (None, b) => Ok(b),
    }
}

/// Fills a claim's derived fields from its role (the one place this is done).
pub fn apply_role(claim: &mut AuthorityClaim, reference: &(impl ReferenceLookup + ?Sized), role: &DomainRole) {
    claim.authorisation_domain_role_identifier = Some(role.authorisation_domain_role_identifier.clone());
    claim.authorisation_domain_id = Some(role.authorisation_domain_id.clone());
    claim.authorisation_domain = reference
        .domain(&role.authorisation_domain_id)
        .map(|d| d.authorisation_domain_name.clone());
    claim.role = Some(role.role.clone());
    claim.role_type = role.role_type.clone();
    claim.exclusive = Some(role.exclusive);
    claim.metadata = role.metadata.clone();
}

/// The exclusive-role rule: an organisation holding an Active claim on an exclusive
/// role may hold no other Active role claim. Returns the message when broken.
pub fn exclusive_rule_violation<'a>(claims: impl IntoIterator<Item = &'a AuthorityClaim>) -> Option<String> {
    let active: Vec<&AuthorityClaim> = claims.into_iter().filter(|c| c.is_active()).collect();
    let exclusive = active.iter().find(|c| c.exclusive == Some(true))?;
    (active.len() > 1).then(|| {
        format!(
            "exclusive role rule: the Active claim {} holds the exclusive role {}, so the organisation may hold no other Active role claim",
            exclusive.organisation_authority_claim_id,
            exclusive.role.as_deref().unwrap_or("(unnamed)")
        )
    })
}

/// The exclusive-role rule over an organisation's claims once `next` has replaced
/// the claim with its id (the check every claim update makes).
pub fn exclusive_rule_after(claims: &[AuthorityClaim], next: &AuthorityClaim) -> Option<String> {
    exclusive_rule_violation(claims.iter().map(|c| {
        if c.organisation_authority_claim_id == next.organisation_authority_claim_id {
            next
        } else {
            c
        }
    }))
}

/// Resolves a PUT body against reference data: a known authority and, when the body
/// names a role, a known role whose domain agrees with `AuthorisationDomainID`.
pub fn resolve_update(
    update: &AuthorityClaimUpdate,
    reference: &ReferenceData,
) -> Result<Option<DomainRole>, Vec<String>> {
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
) -> Result<AuthorityClaim, Refusal> {
    let denied = auth::claim_change_needs_admin(caller, current, update, role);
    if !denied.is_empty() {
        return Err(Refusal::ForbiddenFields(denied));
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
    match exclusive_rule_after(claims, &next) {
        Some(rule) => Err(Refusal::Invalid(vec![rule])),
        None => Ok(next),
    }
}
