//! The route table: the five endpoints with their paths, methods, access rule and
//! which client errors their api-docs list. The local server, the Lambda binaries,
//! the SAM template check and the OpenAPI drift test all read it from here.

use crate::auth::Access;

/// One endpoint of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The function (and package) name.
    pub name: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// The API Gateway path template, `{Param}` for path parameters.
    pub path: &'static str,
    /// Who may call it.
    pub access: Access,
    /// api-docs list 400 (so bad headers/params are rejected, not ignored).
    pub lists_400: bool,
    /// api-docs list 406 (so an `Accept` without JSON is refused).
    pub lists_406: bool,
}

/// `GET /organisations/export/open-data`
pub const OPEN_DATA_EXPORT: Route = Route {
    name: "get-open-data-export",
    method: "GET",
    path: "/organisations/export/open-data",
    access: Access::Admin,
    lists_400: false,
    lists_406: false,
};

/// `GET /organisations/{OrganisationId}/snapshot`
pub const ORGANISATION_SNAPSHOT: Route = Route {
    name: "get-organisation-snapshot",
    method: "GET",
    path: "/organisations/{OrganisationId}/snapshot",
    access: Access::OwnOrganisationRead,
    lists_400: false,
    lists_406: false,
};

/// `GET /organisations/{OrganisationId}/authorityclaims`
pub const AUTHORITY_CLAIMS: Route = Route {
    name: "get-authority-claims",
    method: "GET",
    path: "/organisations/{OrganisationId}/authorityclaims",
    access: Access::OwnOrganisationRead,
    lists_400: true,
    lists_406: true,
};

/// `PUT /organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}`
pub const PUT_AUTHORITY_CLAIM: Route = Route {
    name: "put-authority-claim",
    method: "PUT",
    path: "/organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}",
    access: Access::OwnOrganisationWrite,
    lists_400: true,
    lists_406: true,
};

/// `GET /organisations/{OrganisationId}/authorisationservers/{AuthorisationServerId}/apiresources/{ApiResourceId}`
pub const API_RESOURCE: Route = Route {
    name: "get-api-resource",
    method: "GET",
    path: "/organisations/{OrganisationId}/authorisationservers/{AuthorisationServerId}/apiresources/{ApiResourceId}",
    access: Access::AnyRead,
    lists_400: false,
    lists_406: false,
};

/// All routes.
pub const ROUTES: [Route; 5] = [
    OPEN_DATA_EXPORT,
    ORGANISATION_SNAPSHOT,
    AUTHORITY_CLAIMS,
    PUT_AUTHORITY_CLAIM,
    API_RESOURCE,
];

/// The `{Param}` names of a path template, in order.
pub fn param_names(template: &'static str) -> impl Iterator<Item = &'static str> {
    template
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|n| n.strip_suffix('}')))
}

/// The result of matching a request path against the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    /// A route with its path parameters (percent-decoded).
    Found(Route, Vec<(&'static str, String)>),
    /// The path exists with other methods.
    WrongMethod(&'static str),
    /// No route has this path.
    NotFound,
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn match_path(template: &'static str, path: &str) -> Option<Vec<(&'static str, String)>> {
    let t: Vec<&'static str> = template.trim_matches('/').split('/').collect();
    let p: Vec<&str> = path.trim_matches('/').split('/').collect();
    if t.len() != p.len() {
        return None;
    }
    let mut params = Vec::new();
    for (ts, ps) in t.iter().zip(p) {
        if let Some(name) = ts.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
            if ps.is_empty() {
                return None;
            }
            params.push((name, percent_decode(ps)?));
        } else if *ts != ps {
            return None;
        }
    }
    Some(params)
}

/// Finds the route for `method` and `path`, the way API Gateway routes them: a
/// literal segment wins over a parameter (so `/organisations/export/open-data`
/// is never read as an organisation id).
pub fn find(method: &str, path: &str) -> RouteMatch {
    let mut other_methods: Vec<&'static str> = Vec::new();
    for route in ROUTES {
        if let Some(params) = match_path(route.path, path) {
            if route.method.eq_ignore_ascii_case(method) {
                return RouteMatch::Found(route, params);
            }
            other_methods.push(route.method);
        }
    }
    match other_methods.as_slice() {
        [] => RouteMatch::NotFound,
        ["GET"] => RouteMatch::WrongMethod("GET"),
        ["PUT"] => RouteMatch::WrongMethod("PUT"),
        _ => RouteMatch::WrongMethod("GET, PUT"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_matches_its_own_path() {
        match find(
            "GET",
            "/organisations/org-1/authorisationservers/as%231/apiresources/r1",
        ) {
            RouteMatch::Found(r, p) => {
                assert_eq!(r, API_RESOURCE);
                assert_eq!(
                    p,
                    vec![
                        ("OrganisationId", "org-1".into()),
                        ("AuthorisationServerId", "as#1".into()),
                        ("ApiResourceId", "r1".into())
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            find("GET", "/organisations/export/open-data"),
            RouteMatch::Found(OPEN_DATA_EXPORT, _)
        ));
        assert!(matches!(
            find("PUT", "/organisations/o/authorityclaims/c"),
            RouteMatch::Found(PUT_AUTHORITY_CLAIM, _)
        ));
        assert!(matches!(
            find("GET", "/organisations/o/authorityclaims"),
            RouteMatch::Found(AUTHORITY_CLAIMS, _)
        ));
        assert!(matches!(
            find("GET", "/organisations/o/snapshot"),
            RouteMatch::Found(ORGANISATION_SNAPSHOT, _)
        ));
    }

    #[test]
    fn wrong_methods_and_unknown_paths() {
        assert_eq!(
            find("DELETE", "/organisations/o/snapshot"),
            RouteMatch::WrongMethod("GET")
        );
        assert_eq!(
            find("GET", "/organisations/o/authorityclaims/c"),
            RouteMatch::WrongMethod("PUT")
        );
        assert_eq!(find("GET", "/nope"), RouteMatch::NotFound);
        assert_eq!(find("GET", "/organisations//snapshot"), RouteMatch::NotFound);
    }
}
