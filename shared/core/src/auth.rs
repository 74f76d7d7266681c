//! Who the caller is (claims from the API Gateway JWT authorizer context) and the
//! single decision table (docs/design.md, "Auth").

use crate::error::ApiError;
use crate::model::{AuthorityClaim, AuthorityClaimUpdate, DomainRole, Flag, ResourceStatus};
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
    /// No HTTP caller: invoked by the platform (the schedule); every token is refused.
    Internal,
}

impl Access {
    /// The scopes that can satisfy this rule (the API Gateway route scopes).
    pub fn scopes(self) -> &'static [&'static str] {
        match self {
            Self::Admin => &[SCOPE_ADMIN],
            Self::OwnOrganisationRead | Self::AnyRead => &[SCOPE_READ, SCOPE_ADMIN],
            Self::OwnOrganisationWrite => &[SCOPE_WRITE, SCOPE_ADMIN],
            Self::Internal => &[],
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

/// The caller from the authorizer context, in either shape API Gateway hands over:
/// the JWT authorizer's `jwt.claims` or the Lambda authorizer's `lambda` context
/// (string values). A request with neither, both, or a non-string context value is
/// refused with 401: a route wired without an authorizer fails closed.
pub fn caller(req: &Request) -> Result<Caller, ApiError> {
    let missing = || ApiError::Unauthorized("missing or invalid bearer token".to_owned());
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return Err(missing());
    };
    let authorizer = ctx.authorizer.as_ref().ok_or_else(missing)?;
    let jwt = authorizer.jwt.as_ref().map(|jwt| &jwt.claims).filter(|c| !c.is_empty());
    let lambda = (!authorizer.fields.is_empty()).then_some(&authorizer.fields);
    let context = match (jwt, lambda) {
        (Some(claims), None) => Context::Jwt(claims),
        (None, Some(fields)) => Context::Lambda(fields),
        _ => return Err(missing()),
    };
    let get = |k: &str| context.get(k);
    let scopes = match get("scope")? {
        Some(text) => parse_scope(text).ok_or_else(|| ApiError::Unauthorized("invalid scope claim".to_owned()))?,
        None => Vec::new(),
    };
    Ok(Caller {
        sub: get("sub")?.map(str::to_owned),
        organisation_id: get("organisation_id")?.map(str::to_owned),
        scopes,
    })
}

/// The identity values of one authorizer shape.
enum Context<'a> {
    Jwt(&'a std::collections::HashMap<String, String>),
    Lambda(&'a std::collections::HashMap<String, serde_json::Value>),
}

impl<'a> Context<'a> {
    fn get(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self {
            Self::Jwt(claims) => Ok(claims.get(key).map(String::as_str)),
            Self::Lambda(fields) => match fields.get(key) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(v)) => Ok(Some(v.as_str())),
                Some(_) => Err(ApiError::Unauthorized(format!("invalid {key} in authorizer context"))),
            },
        }
    }
}

/// RFC 6749 §3.3 scope-token characters: `%x21 / %x23-5B / %x5D-7E`.
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// Parses a `scope` claim as API Gateway hands it over: a string of scope tokens
/// separated by single spaces (RFC 6749 §3.3), or a JSON array of tokens, which
/// API Gateway renders as `[a b]`. Any other whitespace, an empty token or a
/// character outside the scope-token set makes the whole claim invalid (`None`).
pub fn parse_scope(text: &str) -> Option<Vec<String>> {
    let inner = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
    if inner.is_empty() {
        return Some(Vec::new());
    }
    inner
        .split(' ')
        .map(|token| (!token.is_empty() && token.chars().all(is_scope_char)).then(|| token.to_owned()))
        .collect()
}

/// Who may change what in a claim PUT (docs/design.md, "Auth"): without
/// `directory:admin`, a caller may change `RegistrationId`,
/// `UniqueTechnicalIdentifiers` and set `Status` from Active to Inactive only. Returns
/// one message per field the body would change beyond that (empty: allowed). A
/// value sent back unchanged is not a change.
pub fn claim_change_needs_admin(
    caller: &Caller,
    current: &AuthorityClaim,
    update: &AuthorityClaimUpdate,
    role: Option<&DomainRole>,
) -> Vec<String> {
    if caller.has(SCOPE_ADMIN) {
        return Vec::new();
    }
    let needs = |field: &str| format!("{field}: changing it needs {SCOPE_ADMIN}");
    let differs = |given: &Option<String>, stored: &Option<String>| given.is_some() && given != stored;
    let mut fields = Vec::new();
    if update.authority_id != current.authority_id {
        fields.push(needs("AuthorityId"));
    }
    let role_changes = role.is_some_and(|r| {
        current.authorisation_domain_role_identifier.as_deref() != Some(r.authorisation_domain_role_identifier.as_str())
    });
    if role_changes {
        // Name the fields the body used to ask for the change.
        let named = [
            (
                "AuthorisationDomainRoleIdentifier",
                &update.authorisation_domain_role_identifier,
                &current.authorisation_domain_role_identifier,
            ),
            (
                "AuthorisationDomainID",
                &update.authorisation_domain_id,
                &current.authorisation_domain_id,
            ),
            (
                "AuthorisationDomain",
                &update.authorisation_domain,
                &current.authorisation_domain,
            ),
            ("Role", &update.role, &current.role),
        ];
        let mut any = false;
        for (field, given, stored) in named {
            if differs(given, stored) {
                fields.push(needs(field));
                any = true;
            }
        }
        if !any {
            fields.push(needs("AuthorisationDomainRoleIdentifier"));
        }
    }
    if update.status == ResourceStatus::Active && current.status != ResourceStatus::Active {
        fields.push(needs("Status"));
    }
    fields
}

/// Flag visibility by `AccessLevel`: 0 is public, 1 is also shown to the
/// organisation itself, 2 and above (and flags without a level) to
/// `directory:admin` only.
pub fn may_see_flag(caller: &Caller, flag: &Flag) -> bool {
    caller.has(SCOPE_ADMIN) || flag.access_level.is_some_and(|level| level <= 1)
}

/// The decision table. `target_org` is the organisation in the path, if any. A
/// non-admin gets 403 for another organisation whether or not it exists.
pub fn authorize(caller: &Caller, access: Access, target_org: Option<&str>) -> Result<(), ApiError> {
    // Admin may do everything callable over HTTP; an internal route refuses it too.
    if caller.has(SCOPE_ADMIN) && access != Access::Internal {
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
        Access::Internal => Err(ApiError::Forbidden("not callable over HTTP".to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(org: &str, scopes: &str) -> Caller {
        Caller {
            sub: Some("u".into()),
            organisation_id: Some(org.into()),
            scopes: parse_scope(scopes).unwrap(),
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
            ("directory:admin", "a", Internal, None, false),
            ("directory:read directory:write", "a", Internal, Some("a"), false),
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
    fn scope_claims_split_on_single_spaces_only() {
        let ok = |s: &str| parse_scope(s).unwrap_or_else(|| panic!("{s:?} should parse"));
        assert_eq!(
            ok("directory:read directory:write"),
            ["directory:read", "directory:write"]
        );
        assert_eq!(
            ok("[directory:read directory:admin]"),
            ["directory:read", "directory:admin"]
        );
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(ok("[]"), Vec::<String>::new());
        for bad in [
            "directory:read\tdirectory:admin",
            "directory:read\ndirectory:admin",
            "directory:read  directory:admin",
            " directory:read",
            "directory:read ",
            "directory:read\u{a0}directory:admin",
            "directory:\"admin",
            "directory:\\admin",
            "[directory:read\tdirectory:admin]",
            "[directory:read directory:é]",
        ] {
            assert_eq!(parse_scope(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn an_invalid_scope_claim_is_401() {
        let req = event_with(serde_json::json!(
            {"jwt": {"claims": {"sub": "s", "scope": "directory:read\tdirectory:admin"}, "scopes": []}}
        ));
        assert_eq!(caller(&req).unwrap_err().status(), 401);
    }

    #[test]
    fn who_may_change_what_in_a_claim() {
        let current = AuthorityClaim {
            organisation_authority_claim_id: "c".into(),
            authority_id: "auth-1".into(),
            status: ResourceStatus::Inactive,
            authorisation_domain_role_identifier: Some("role-dados".into()),
            authorisation_domain_id: Some("dom".into()),
            authorisation_domain: Some("Open Finance".into()),
            role: Some("DADOS".into()),
            ..Default::default()
        };
        let role = |id: &str, name: &str| DomainRole {
            authorisation_domain_role_identifier: id.into(),
            authorisation_domain_id: "dom".into(),
            role: name.into(),
            ..Default::default()
        };
        let same = AuthorityClaimUpdate {
            authority_id: "auth-1".into(),
            status: ResourceStatus::Inactive,
            registration_id: Some("new".into()),
            unique_technical_identifiers: vec!["x".into()],
            ..Default::default()
        };
        let writer = who("o", "directory:write");
        let admin = who("o", "directory:admin");
        // Writable fields and the current values sent back: allowed.
        assert!(claim_change_needs_admin(&writer, &current, &same, None).is_empty());
        let echoed = AuthorityClaimUpdate {
            authorisation_domain: Some("Open Finance".into()),
            role: Some("DADOS".into()),
            ..same.clone()
        };
        assert!(claim_change_needs_admin(&writer, &current, &echoed, Some(&role("role-dados", "DADOS"))).is_empty());
        // Role by names, authority and activation: one message each.
        let grab = AuthorityClaimUpdate {
            authority_id: "auth-2".into(),
            status: ResourceStatus::Active,
            authorisation_domain: Some("Open Finance".into()),
            role: Some("PAGTO".into()),
            ..same.clone()
        };
        let denied = claim_change_needs_admin(&writer, &current, &grab, Some(&role("role-pagto", "PAGTO")));
        assert_eq!(
            denied,
            [
                "AuthorityId: changing it needs directory:admin",
                "Role: changing it needs directory:admin",
                "Status: changing it needs directory:admin"
            ]
        );
        assert!(claim_change_needs_admin(&admin, &current, &grab, Some(&role("role-pagto", "PAGTO"))).is_empty());
        // Role by identifier.
        let by_id = AuthorityClaimUpdate {
            authorisation_domain_role_identifier: Some("role-pagto".into()),
            ..same.clone()
        };
        assert_eq!(
            claim_change_needs_admin(&writer, &current, &by_id, Some(&role("role-pagto", "PAGTO"))),
            ["AuthorisationDomainRoleIdentifier: changing it needs directory:admin"]
        );
        // Active -> Inactive is allowed; Active -> Active is not a change.
        let active = AuthorityClaim {
            status: ResourceStatus::Active,
            ..current.clone()
        };
        assert!(claim_change_needs_admin(&writer, &active, &same, None).is_empty());
        let keep_active = AuthorityClaimUpdate {
            status: ResourceStatus::Active,
            ..same
        };
        assert!(claim_change_needs_admin(&writer, &active, &keep_active, None).is_empty());
    }

    #[test]
    fn flags_by_access_level() {
        let flag = |level: Option<u32>| Flag {
            access_level: level,
            ..Default::default()
        };
        let member = who("o", "directory:read");
        let admin = who("o", "directory:admin");
        assert!(may_see_flag(&member, &flag(Some(0))));
        assert!(may_see_flag(&member, &flag(Some(1))));
        assert!(!may_see_flag(&member, &flag(Some(2))));
        assert!(!may_see_flag(&member, &flag(None)));
        assert!(may_see_flag(&admin, &flag(Some(3))));
    }

    fn event_with(authorizer: serde_json::Value) -> Request {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "GET /x", "rawPath": "/x", "rawQueryString": "",
            "headers": {}, "isBase64Encoded": false,
            "requestContext": {"accountId": "a", "apiId": "a", "domainName": "d", "domainPrefix": "d",
                "http": {"method": "GET", "path": "/x", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": ""},
                "requestId": "r", "routeKey": "GET /x", "stage": "$default", "time": "", "timeEpoch": 0,
                "authorizer": authorizer}
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn either_authorizer_shape_and_nothing_else() {
        let jwt = event_with(
            serde_json::json!({"jwt": {"claims": {"sub": "s", "organisation_id": "o", "scope": "directory:read"}, "scopes": []}}),
        );
        let lambda = event_with(
            serde_json::json!({"lambda": {"sub": "s", "organisation_id": "o", "scope": "directory:read", "x5t#S256": "t"}}),
        );
        assert_eq!(caller(&jwt).unwrap(), caller(&lambda).unwrap());
        assert_eq!(caller(&lambda).unwrap().scopes, ["directory:read"]);
        for refused in [
            serde_json::json!({}),
            serde_json::json!({"lambda": {"sub": "s", "organisation_id": 7, "scope": "directory:read"}}),
            serde_json::json!({"lambda": {"scope": "directory:read\tdirectory:admin"}}),
            serde_json::json!({"jwt": {"claims": {"scope": "directory:read"}, "scopes": []}, "lambda": {"scope": "directory:admin"}}),
        ] {
            assert_eq!(
                caller(&event_with(refused.clone())).unwrap_err().status(),
                401,
                "{refused}"
            );
        }
    }

    #[test]
    fn no_authorizer_context_is_401() {
        let req = Request::default();
        assert_eq!(caller(&req).unwrap_err().status(), 401);
    }
}
