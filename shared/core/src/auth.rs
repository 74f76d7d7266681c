//! Who the caller is (claims from the API Gateway JWT authorizer context) and the
//! single decision table of DESIGN.md.

use crate::error::ApiError;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

/// Read any organisation's data and everything else.
pub const SCOPE_ADMIN: &str = "directory:admin";
/// Read the caller's own organisation.
pub const SCOPE_READ: &str = "directory:read";
/// Change the caller's own organisation.
pub const SCOPE_WRITE: &str = "directory:write";

/// The access rule of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `directory:admin` only.
    Admin,
    /// `directory:read` on the caller's own organisation, or admin.
    OwnOrganisationRead,
    /// `directory:write` on the caller's own organisation, or admin.
    OwnOrganisationWrite,
    /// `directory:read` for any organisation (public data), or admin.
    AnyRead,
}

impl Access {
    /// The scopes that can satisfy this rule (the API Gateway route scopes).
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Admin => &[SCOPE_ADMIN],
            Self::OwnOrganisationRead | Self::AnyRead => &[SCOPE_READ, SCOPE_ADMIN],
            Self::OwnOrganisationWrite => &[SCOPE_WRITE, SCOPE_ADMIN],
        }
    }
}

/// The verified identity of the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    pub sub: Option<String>,
    pub organisation_id: Option<String>,
    pub scopes: Vec<String>,
}

impl Caller {
    /// Whether the caller holds `scope`.
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
}

/// The caller from the authorizer context. A request without JWT claims is refused
/// with 401: a route wired without the authorizer fails closed.
pub fn caller(req: &Request) -> Result<Caller, ApiError> {
    let missing = || ApiError::Unauthorized("missing or invalid bearer token".to_owned());
    let claims = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| &jwt.claims)
            .ok_or_else(missing)?,
        _ => return Err(missing()),
    };
    if claims.is_empty() {
        return Err(missing());
    }
    Ok(Caller {
        sub: claims.get("sub").cloned(),
        organisation_id: claims.get("organisation_id").cloned(),
        scopes: claims
            .get("scope")
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

/// The decision table. `target_org` is the organisation in the path, if any. A
/// non-admin gets 403 for another organisation whether or not it exists.
pub fn authorize(caller: &Caller, access: Access, target_org: Option<&str>) -> Result<(), ApiError> {
    if caller.has(SCOPE_ADMIN) {
        return Ok(());
    }
    let own = |scope: &str| {
        if !caller.has(scope) {
            return Err(ApiError::Forbidden(format!("scope {scope} required")));
        }
        match (caller.organisation_id.as_deref(), target_org) {
            (Some(mine), Some(target)) if mine == target => Ok(()),
            _ => Err(ApiError::Forbidden("not allowed for this organisation".to_owned())),
        }
    };
    match access {
        Access::Admin => Err(ApiError::Forbidden(format!("scope {SCOPE_ADMIN} required"))),
        Access::OwnOrganisationRead => own(SCOPE_READ),
        Access::OwnOrganisationWrite => own(SCOPE_WRITE),
        Access::AnyRead if caller.has(SCOPE_READ) => Ok(()),
        Access::AnyRead => Err(ApiError::Forbidden(format!("scope {SCOPE_READ} required"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(org: &str, scopes: &str) -> Caller {
        Caller {
            sub: Some("u".into()),
            organisation_id: Some(org.into()),
            scopes: scopes.split_whitespace().map(Into::into).collect(),
        }
    }

    #[test]
    fn decision_table() {
        use Access::*;
        let cases = [
            // (caller scopes, caller org, access, target, allowed)
            ("directory:admin", "a", Admin, None, true),
            ("directory:read directory:write", "a", Admin, None, false),
            ("directory:read", "a", OwnOrganisationRead, Some("a"), true),
            ("directory:read", "a", OwnOrganisationRead, Some("b"), false),
            ("directory:write", "a", OwnOrganisationRead, Some("a"), false),
            ("directory:admin", "a", OwnOrganisationRead, Some("b"), true),
            ("directory:write", "a", OwnOrganisationWrite, Some("a"), true),
            ("directory:read", "a", OwnOrganisationWrite, Some("a"), false),
            ("directory:write", "a", OwnOrganisationWrite, Some("b"), false),
            ("directory:admin", "a", OwnOrganisationWrite, Some("b"), true),
            ("directory:read", "a", AnyRead, Some("b"), true),
            ("directory:write", "a", AnyRead, Some("a"), false),
            ("directory:admin", "a", AnyRead, Some("b"), true),
            ("", "a", OwnOrganisationRead, Some("a"), false),
        ];
        for (scopes, org, access, target, allowed) in cases {
            let got = authorize(&who(org, scopes), access, target);
            assert_eq!(got.is_ok(), allowed, "{scopes} {org} {access:?} {target:?}: {got:?}");
            if let Err(e) = got {
                assert_eq!(e.status(), 403);
            }
        }
    }

    #[test]
    fn a_caller_without_organisation_gets_nothing_organisation_scoped() {
        let c = Caller {
            organisation_id: None,
            scopes: vec![SCOPE_READ.into()],
            ..Default::default()
        };
        assert!(authorize(&c, Access::OwnOrganisationRead, Some("a")).is_err());
        assert!(authorize(&c, Access::AnyRead, Some("a")).is_ok());
    }

    #[test]
    fn no_authorizer_context_is_401() {
        let req = Request::default();
        assert_eq!(caller(&req).unwrap_err().status(), 401);
    }
}
