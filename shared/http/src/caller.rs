//! Who the caller is, from the authorizer context API Gateway hands a function (or the
//! local server builds alike): the one place a request becomes a [`Caller`].

use crate::error::ApiError;
use directory_domain::auth::{Caller, is_scope_token, parse_scope};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};

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

#[cfg(test)]
mod tests {
    use super::*;
    use directory_domain::auth::SCOPE_ADMIN;

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
