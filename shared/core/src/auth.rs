//! Who the caller is (claims from the API Gateway JWT authorizer context) and the
//! single decision table (docs/design.md, "Auth").

use crate::error::ApiError;
use crate::model::{Audience, AuthorityClaim, AuthorityClaimUpdate, DomainRole, ResourceStatus};
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
    /// Whether a call changes data (and so must name who makes it: the token's `sub`,
    /// which the audit record carries).
    pub fn writes(self) -> bool {
        matches!(self, Self::OwnOrganisationWrite)
    }

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
///
/// Scopes (docs/design.md, "Scope forms"): the Lambda authorizer's context carries
/// the tokens it verified, joined by single spaces. The JWT authorizer renders an
/// array claim as the string `[a b]`, which cannot be told from the single-token
/// string `"[a b]"`, so its scopes come from `jwt.scopes` (the list API Gateway matched
/// the route's scopes against); `jwt.claims.scope` must then agree with that list,
/// and without the list a `scope` claim is taken only when it cannot be an array
/// (no leading `[`). Anything else is 401.
pub fn caller(req: &Request) -> Result<Caller, ApiError> {
    let missing = || ApiError::Unauthorized("missing or invalid bearer token".to_owned());
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return Err(missing());
    };
    let authorizer = ctx.authorizer.as_ref().ok_or_else(missing)?;
    let jwt = authorizer.jwt.as_ref().filter(|jwt| !jwt.claims.is_empty());
    let lambda = (!authorizer.fields.is_empty()).then_some(&authorizer.fields);
    let context = match (jwt, lambda) {
        (Some(jwt), None) => Context::Jwt(&jwt.claims),
        (None, Some(fields)) => Context::Lambda(fields),
        _ => return Err(missing()),
    };
    let get = |k: &str| context.get(k);
    let invalid = || ApiError::Unauthorized("invalid scope claim".to_owned());
    let claim = get("scope")?;
    let scopes = match jwt.map(|j| j.scopes.as_deref()) {
        Some(listed) => jwt_scopes(claim, listed).ok_or_else(invalid)?,
        None => match claim {
            Some(text) => parse_scope(text).ok_or_else(invalid)?,
            None => Vec::new(),
        },
    };
    Ok(Caller {
        sub: get("sub")?.map(str::to_owned),
        organisation_id: get("organisation_id")?.map(str::to_owned),
        scopes,
    })
}

/// The scopes of a JWT authorizer context: `listed` (`jwt.scopes`) when it names any,
/// each element one scope token as it is, and the `scope` claim (if any) equal to the
/// list joined by spaces, with or without the brackets of an array claim; without a
/// list, a `scope` string that does not start with `[`. `None` when invalid or
/// ambiguous.
fn jwt_scopes(claim: Option<&str>, listed: Option<&[String]>) -> Option<Vec<String>> {
    match listed.filter(|l| !l.is_empty()) {
        Some(listed) => {
            let tokens: Vec<String> = listed
                .iter()
                .map(|t| is_scope_token(t).then(|| t.clone()))
                .collect::<Option<_>>()?;
            let joined = tokens.join(" ");
            let unbracketed = |c: &str| c.strip_prefix('[').and_then(|c| c.strip_suffix(']')) == Some(joined.as_str());
            let agrees = claim.is_none_or(|c| c == joined || unbracketed(c));
            agrees.then_some(tokens)
        }
        None => match claim {
            Some(text) if text.starts_with('[') => None,
            Some(text) => parse_scope(text),
            None => Some(Vec::new()),
        },
    }
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

/// Whether `token` is one RFC 6749 scope token (non-empty, scope-token characters only).
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty() && token.chars().all(is_scope_char)
}

/// Parses a `scope` string claim (RFC 6749 §3.3): scope tokens separated by single
/// spaces, each taken as it is (a `[` or `]` is part of its token, never stripped).
/// Any other whitespace, an empty token or a character outside the scope-token set
/// makes the whole claim invalid (`None`); the empty string is no scopes.
pub fn parse_scope(text: &str) -> Option<Vec<String>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(' ')
        .map(|token| is_scope_token(token).then(|| token.to_owned()))
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

/// What the caller may see of an organisation's data it is allowed to read
/// (docs/design.md, "Visibility"): everything an admin may, the organisation's own
/// view otherwise (only admins and the organisation itself read a snapshot).
pub fn audience(caller: &Caller) -> Audience {
    if caller.has(SCOPE_ADMIN) {
        Audience::Admin
    } else {
        Audience::Member
    }
}

/// The decision table. `target_org` is the organisation in the path, if any. A
/// non-admin gets 403 for another organisation whether or not it exists.
pub fn authorize(caller: &Caller, access: Access, target_org: Option<&str>) -> Result<(), ApiError> {
    // A write is audited by who makes it: a token that names nobody writes nothing.
    if access.writes() && caller.sub.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::Unauthorized(
            "token without sub: a write must name who makes it".to_owned(),
        ));
    }
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
    fn a_write_needs_a_sub() {
        for sub in [None, Some(String::new())] {
            for scopes in ["directory:write", "directory:admin"] {
                let c = Caller {
                    sub: sub.clone(),
                    ..who("a", scopes)
                };
                let e = authorize(&c, Access::OwnOrganisationWrite, Some("a")).unwrap_err();
                assert_eq!(e.status(), 401, "{scopes} {sub:?}");
                assert!(e.messages()[0].contains("sub"));
                // Reads do not need one.
                assert!(authorize(&c, Access::AnyRead, Some("a")).is_ok() || scopes == "directory:write");
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
        // Brackets belong to their tokens: never a way to spell another scope.
        assert_eq!(
            ok("[directory:read directory:admin]"),
            ["[directory:read", "directory:admin]"]
        );
        assert_eq!(ok("[directory:admin]"), ["[directory:admin]"]);
        assert_eq!(ok(""), Vec::<String>::new());
        assert_eq!(ok("[]"), ["[]"]);
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

    /// The caller's scopes from one authorizer context, or the refusal's status.
    fn scopes_of(authorizer: serde_json::Value) -> Result<Vec<String>, u16> {
        caller(&event_with(authorizer))
            .map(|c| c.scopes)
            .map_err(|e| e.status().as_u16())
    }

    #[test]
    fn no_spelling_of_a_scope_grants_another() {
        let jwt = |scope: serde_json::Value, scopes: serde_json::Value| {
            let mut claims = serde_json::json!({"sub": "s", "organisation_id": "o"});
            if !scope.is_null() {
                claims["scope"] = scope;
            }
            serde_json::json!({"jwt": {"claims": claims, "scopes": scopes}})
        };
        let lambda = |scope: &str| serde_json::json!({"lambda": {"sub": "s", "scope": scope}});
        let admin = |r: &Result<Vec<String>, u16>| r.as_ref().is_ok_and(|s| s.iter().any(|t| t == SCOPE_ADMIN));
        // The JWT authorizer: a string claim as API Gateway lists it (split on spaces).
        let cases = [
            // (claims.scope, jwt.scopes, expected)
            (
                serde_json::json!("[directory:admin]"),
                serde_json::json!(["[directory:admin]"]),
                Ok(vec!["[directory:admin]"]),
            ),
            (
                serde_json::json!("[x directory:admin]"),
                serde_json::json!(["[x", "directory:admin]"]),
                Ok(vec!["[x", "directory:admin]"]),
            ),
            (
                serde_json::json!("[x directory:write directory:admin]"),
                serde_json::json!(["[x", "directory:write", "directory:admin]"]),
                Ok(vec!["[x", "directory:write", "directory:admin]"]),
            ),
            // An array claim: API Gateway renders it `[a b]` and lists its elements.
            (
                serde_json::json!("[directory:read directory:write]"),
                serde_json::json!(["directory:read", "directory:write"]),
                Ok(vec!["directory:read", "directory:write"]),
            ),
            (
                serde_json::json!("[[directory:admin]]"),
                serde_json::json!(["[directory:admin]"]),
                Ok(vec!["[directory:admin]"]),
            ),
            // Without the list a bracketed claim could be either: refused.
            (
                serde_json::json!("[directory:admin]"),
                serde_json::Value::Null,
                Err(401),
            ),
            (serde_json::json!("[directory:admin]"), serde_json::json!([]), Err(401)),
            (
                serde_json::json!("directory:read"),
                serde_json::Value::Null,
                Ok(vec!["directory:read"]),
            ),
            // A list that disagrees with the claim, or holds no single token: refused.
            (
                serde_json::json!("directory:read"),
                serde_json::json!(["directory:admin"]),
                Err(401),
            ),
            (serde_json::json!("a b"), serde_json::json!(["a b"]), Err(401)),
            (
                serde_json::Value::Null,
                serde_json::json!(["directory:read"]),
                Ok(vec!["directory:read"]),
            ),
        ];
        for (claim, listed, expected) in cases {
            let got = scopes_of(jwt(claim.clone(), listed.clone()));
            let expected = expected.map(|v: Vec<&str>| v.into_iter().map(String::from).collect::<Vec<_>>());
            assert_eq!(got, expected, "{claim} {listed}");
            assert!(!admin(&got), "{claim}: admin");
        }
        // The Lambda authorizer's context: the verified tokens joined by spaces.
        for spelled in [
            "[directory:admin]",
            "[x directory:admin]",
            "[x directory:write directory:admin]",
        ] {
            let got = scopes_of(lambda(spelled));
            assert!(got.is_ok() && !admin(&got), "{spelled}: {got:?}");
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
    fn admins_see_everything_members_their_own_view() {
        assert_eq!(audience(&who("o", "directory:read")), Audience::Member);
        assert_eq!(audience(&who("o", "directory:read directory:write")), Audience::Member);
        assert_eq!(audience(&who("o", "directory:admin")), Audience::Admin);
        assert_eq!(audience(&who("o", "[directory:admin]")), Audience::Member);
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
