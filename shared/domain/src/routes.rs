//! The route table: every function of the directory — the HTTP endpoints, the
//! scheduled export and the sequencer of the change feed — with its triggers, its handler, who may call it, what a
//! malformed request and an `Accept` without JSON get, and what it needs. Everything else is derived
//! from it: `handlers::dispatch` (the only route → handler map), the local server's
//! router and `Allow` header, each Lambda binary's wiring and environment, and the
//! checks that hold the template, OpenAPI, fixtures and function packages to it.

use crate::auth::Access;

/// Which handler serves a route. Matched exhaustively, so a new route without a
/// handler does not compile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    OpenDataExport,
    OrganisationSnapshot,
    AuthorityClaims,
    PutAuthorityClaim,
    ApiResource,
    ScheduledExport,
    ParticipantChanges,
    SequenceChanges,
    Subscriptions,
    SsfConfiguration,
    DeliverEvents,
    Federation,
    PinFederationKeys,
}

/// An HTTP route as API Gateway matches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpRoute {
    /// The HTTP method.
    pub method: &'static str,
    /// The API Gateway path template, `{Param}` for path parameters.
    pub path: &'static str,
}

/// What a request whose headers, path ids, query or body break their rules gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// 400 listing every violation, `x-fapi-auth-date` included.
    BadRequest,
    /// 404 for a path id that breaks its rule (no such thing can exist); malformed
    /// headers are ignored.
    NotFound,
}

/// How a route treats `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptRule {
    /// An `Accept` that excludes JSON gets 406.
    Json,
    /// JSON is served whatever `Accept` says.
    Any,
}

/// What invokes a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// An API Gateway HTTP API route.
    Http(HttpRoute),
    /// An EventBridge schedule.
    Schedule,
    /// The table's stream, filtered to inserts of these items.
    Stream(StreamItems),
}

/// Which inserted items of the table's stream invoke a function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamItems {
    /// Outbox items: a write queued an organisation for the feed.
    Outbox,
    /// Export requests (the export route's answer to a directory too large to export
    /// within one HTTP request).
    ExportRequests,
    /// The feed's head, written by every sequencer commit (new revisions to deliver).
    FeedHead,
    /// Subscriptions (a new one waits for its verification event).
    Subscriptions,
}

impl StreamItems {
    /// The partition key (and, for export requests, the sort key) the items have.
    pub fn keys(self) -> (&'static str, Option<&'static str>) {
        match self {
            Self::Outbox => (crate::keys::OUTBOX_PK, None),
            Self::ExportRequests => (crate::keys::EXPORT_REQUEST_PK, Some(crate::keys::EXPORT_REQUEST_SK)),
            Self::FeedHead => (crate::keys::FEED_PK, Some(crate::keys::FEED_HEAD_SK)),
            Self::Subscriptions => (crate::keys::SUBSCRIPTION_PK, None),
        }
    }
}

/// What a function needs built at init (and so which environment it reads and
/// which permissions it is granted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    /// The DynamoDB table (the store).
    pub table: bool,
    /// The export bucket (the object target).
    pub exports: bool,
    /// The directory's signing key without the bucket (the changes feed's pages).
    pub signing: bool,
    /// The transmitter's identity (`EVENTS_ISSUER`, `EVENTS_JWKS_URI`): change events.
    pub events: bool,
    /// The delivery of change events (its retry window, its outbound client).
    pub delivery: bool,
    /// The federation key (`FEDERATION_KEY_ID`): the Trust Anchor's statements.
    pub federation: bool,
}

/// One function of the directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The function (and package, and fixture directory) name.
    pub name: &'static str,
    /// What invokes it: the HTTP routes of one resource (its handler tells them
    /// apart by method and path), a schedule, the table's stream.
    pub triggers: &'static [Trigger],
    /// Its handler.
    pub handler: Handler,
    /// Who may call it.
    pub access: Access,
    /// What a malformed request gets (its API reference decides: with a 400 listed,
    /// a 400; without, a path id that breaks its rule cannot exist).
    pub malformed: Malformed,
    /// Whether an `Accept` without JSON is refused (its API reference lists 406).
    pub accept: AcceptRule,
    /// What it needs at init.
    pub needs: Needs,
    /// The largest request body it takes, in bytes (0: it takes none, so a body is
    /// refused before it is read).
    pub max_body: usize,
}

impl Route {
    /// The first HTTP method and path, for HTTP functions.
    pub fn http(&self) -> Option<HttpRoute> {
        self.https().next()
    }

    /// Every HTTP route it serves.
    pub fn https(&self) -> impl Iterator<Item = HttpRoute> + '_ {
        self.triggers.iter().filter_map(|t| match t {
            Trigger::Http(h) => Some(*h),
            Trigger::Schedule | Trigger::Stream(_) => None,
        })
    }

    /// Whether an EventBridge schedule invokes it.
    pub fn scheduled(&self) -> bool {
        self.triggers.contains(&Trigger::Schedule)
    }

    /// The stream items that invoke it, if any.
    pub fn stream(&self) -> Option<StreamItems> {
        self.streams().next()
    }

    /// Every kind of stream item that invokes it.
    pub fn streams(&self) -> impl Iterator<Item = StreamItems> + '_ {
        self.triggers.iter().filter_map(|t| match t {
            Trigger::Stream(items) => Some(*items),
            Trigger::Http(_) | Trigger::Schedule => None,
        })
    }

    /// The HTTP path template (empty for a scheduled function).
    pub fn path(&self) -> &'static str {
        self.http().map_or("", |h| h.path)
    }

    /// The HTTP method (empty for a scheduled function).
    pub fn method(&self) -> &'static str {
        self.http().map_or("", |h| h.method)
    }
}

/// No request body.
pub const NO_BODY: usize = 0;
/// The claim PUT's largest body (1 MiB: a claim is a few hundred bytes).
pub const CLAIM_BODY_BYTES: usize = 1024 * 1024;
/// A subscription or poll request's largest body: every poll the schema allows fits
/// (1,000 `jti`s of up to 256 characters in `ack`, 1,000 `setErrs` with descriptions of
/// up to 512).
pub const SUBSCRIPTION_BODY_BYTES: usize = 2 * 1024 * 1024;

const STORE_ONLY: Needs = Needs {
    table: true,
    exports: false,
    signing: false,
    events: false,
    delivery: false,
    federation: false,
};
const STORE_AND_EXPORTS: Needs = Needs {
    exports: true,
    signing: false,
    ..STORE_ONLY
};
const STORE_AND_SIGNING: Needs = Needs {
    signing: true,
    ..STORE_ONLY
};
const TRANSMITTER: Needs = Needs {
    events: true,
    ..STORE_AND_SIGNING
};

/// `GET /organisations/export/open-data`
pub const OPEN_DATA_EXPORT: Route = Route {
    name: "get-open-data-export",
    triggers: &[Trigger::Http(HttpRoute {
        method: "GET",
        path: "/organisations/export/open-data",
    })],
    handler: Handler::OpenDataExport,
    access: Access::Admin,
    malformed: Malformed::NotFound,
    accept: AcceptRule::Any,
    needs: STORE_AND_EXPORTS,
    max_body: NO_BODY,
};

/// `GET /organisations/{OrganisationId}/snapshot`
pub const ORGANISATION_SNAPSHOT: Route = Route {
    name: "get-organisation-snapshot",
    triggers: &[Trigger::Http(HttpRoute {
        method: "GET",
        path: "/organisations/{OrganisationId}/snapshot",
    })],
    handler: Handler::OrganisationSnapshot,
    access: Access::OwnOrganisationRead,
    malformed: Malformed::NotFound,
    accept: AcceptRule::Any,
    needs: STORE_ONLY,
    max_body: NO_BODY,
};

/// `GET /organisations/{OrganisationId}/authorityclaims`
pub const AUTHORITY_CLAIMS: Route = Route {
    name: "get-authority-claims",
    triggers: &[Trigger::Http(HttpRoute {
        method: "GET",
        path: "/organisations/{OrganisationId}/authorityclaims",
    })],
    handler: Handler::AuthorityClaims,
    access: Access::OwnOrganisationRead,
    malformed: Malformed::BadRequest,
    accept: AcceptRule::Json,
    needs: STORE_ONLY,
    max_body: NO_BODY,
};

/// `PUT /organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}`
pub const PUT_AUTHORITY_CLAIM: Route = Route {
    name: "put-authority-claim",
    triggers: &[Trigger::Http(HttpRoute {
        method: "PUT",
        path: "/organisations/{OrganisationId}/authorityclaims/{OrganisationAuthorityClaimId}",
    })],
    handler: Handler::PutAuthorityClaim,
    access: Access::OwnOrganisationWrite,
    malformed: Malformed::BadRequest,
    accept: AcceptRule::Json,
    needs: STORE_ONLY,
    max_body: CLAIM_BODY_BYTES,
};

/// `GET /organisations/{OrganisationId}/authorisationservers/{AuthorisationServerId}/apiresources/{ApiResourceId}`
pub const API_RESOURCE: Route = Route {
    name: "get-api-resource",
    triggers: &[Trigger::Http(HttpRoute {
        method: "GET",
        path: "/organisations/{OrganisationId}/authorisationservers/{AuthorisationServerId}/apiresources/{ApiResourceId}",
    })],
    handler: Handler::ApiResource,
    access: Access::AnyRead,
    malformed: Malformed::NotFound,
    accept: AcceptRule::Any,
    needs: STORE_ONLY,
    max_body: NO_BODY,
};

/// `GET /participants/changes`: the changes feed, public like the file.
pub const PARTICIPANT_CHANGES: Route = Route {
    name: "get-participant-changes",
    triggers: &[Trigger::Http(HttpRoute {
        method: "GET",
        path: "/participants/changes",
    })],
    handler: Handler::ParticipantChanges,
    access: Access::Public,
    malformed: Malformed::BadRequest,
    accept: AcceptRule::Json,
    needs: STORE_AND_SIGNING,
    max_body: NO_BODY,
};

/// The sequencer of the change feed: on every outbox insert (the table's stream).
pub const SEQUENCE_CHANGES: Route = Route {
    name: "sequence-changes",
    triggers: &[Trigger::Stream(StreamItems::Outbox)],
    handler: Handler::SequenceChanges,
    access: Access::Internal,
    malformed: Malformed::NotFound,
    accept: AcceptRule::Any,
    needs: STORE_ONLY,
    max_body: NO_BODY,
};

/// The subscription API (change events): make, list, read and delete subscriptions,
/// and poll one (RFC 8936). One function for the resource: it is called rarely, and
/// one warm function serves all five.
pub const SUBSCRIPTIONS: Route = Route {
    name: "subscriptions",
    triggers: &[
        Trigger::Http(HttpRoute {
            method: "POST",
            path: "/subscriptions",
        }),
        Trigger::Http(HttpRoute {
            method: "GET",
            path: "/subscriptions",
        }),
        Trigger::Http(HttpRoute {
            method: "GET",
            path: "/subscriptions/{SubscriptionId}",
        }),
        Trigger::Http(HttpRoute {
            method: "DELETE",
            path: "/subscriptions/{SubscriptionId}",
        }),
        Trigger::Http(HttpRoute {
            method: "POST",
            path: "/subscriptions/{SubscriptionId}/poll",
        }),
    ],
    handler: Handler::Subscriptions,
    access: Access::Subscriber,
    malformed: Malformed::BadRequest,
    accept: AcceptRule::Json,
    needs: TRANSMITTER,
    max_body: SUBSCRIPTION_BODY_BYTES,
};

/// `GET /.well-known/ssf-configuration`: the transmitter's metadata (SSF 1.0), public.
pub const SSF_CONFIGURATION: Route = Route {
    name: "get-ssf-configuration",
    triggers: &[Trigger::Http(HttpRoute {
        method: "GET",
        path: "/.well-known/ssf-configuration",
    })],
    handler: Handler::SsfConfiguration,
    access: Access::Public,
    malformed: Malformed::NotFound,
    accept: AcceptRule::Any,
    needs: Needs {
        events: true,
        ..STORE_ONLY
    },
    max_body: NO_BODY,
};

/// The delivery of change events (RFC 8935 push): on every sequencer commit and new
/// subscription (the table's stream), and each minute for retries.
pub const DELIVER_EVENTS: Route = Route {
    name: "deliver-events",
    triggers: &[
        Trigger::Schedule,
        Trigger::Stream(StreamItems::FeedHead),
        Trigger::Stream(StreamItems::Subscriptions),
    ],
    handler: Handler::DeliverEvents,
    access: Access::Internal,
    malformed: Malformed::NotFound,
    accept: AcceptRule::Any,
    needs: Needs {
        delivery: true,
        ..TRANSMITTER
    },
    max_body: NO_BODY,
};

/// The largest body of a federation request (a trust mark status request): room for
/// any trust mark the schema allows, however its form encoding is spelt (a longer one
/// is refused with a 400 naming the rule, not cut off with a 413).
pub const FEDERATION_BODY_BYTES: usize = 256 * 1024;
/// The largest body of a pin request (up to ten keys).
pub const PIN_BODY_BYTES: usize = 64 * 1024;

const fn get(path: &'static str) -> Trigger {
    Trigger::Http(HttpRoute { method: "GET", path })
}

/// The Trust Anchor (OpenID Federation 1.0): its entity configuration, the federation
/// endpoints and the hosted entities' configurations, public as the specification
/// requires. One function for all of them: one warm function serves the chain a
/// relying party walks.
pub const FEDERATION: Route = Route {
    name: "federation",
    triggers: &[
        get("/.well-known/openid-federation"),
        get("/federation/fetch"),
        get("/federation/list"),
        get("/federation/resolve"),
        get("/federation/trust-mark"),
        Trigger::Http(HttpRoute {
            method: "POST",
            path: "/federation/trust-mark-status",
        }),
        get("/federation/trust-mark-list"),
        get("/federation/historical-keys"),
        get("/federation/entities/{OrganisationId}/{AuthorisationServerId}/.well-known/openid-federation"),
    ],
    handler: Handler::Federation,
    access: Access::Public,
    malformed: Malformed::BadRequest,
    accept: AcceptRule::Any,
    needs: Needs {
        events: true,
        federation: true,
        ..STORE_ONLY
    },
    max_body: FEDERATION_BODY_BYTES,
};

/// `POST /federation/pins`: an admin pins a self-managed entity's federation keys.
pub const PIN_FEDERATION_KEYS: Route = Route {
    name: "pin-federation-keys",
    triggers: &[Trigger::Http(HttpRoute {
        method: "POST",
        path: "/federation/pins",
    })],
    handler: Handler::PinFederationKeys,
    access: Access::Admin,
    malformed: Malformed::BadRequest,
    accept: AcceptRule::Json,
    needs: Needs {
        events: true,
        ..STORE_ONLY
    },
    max_body: PIN_BODY_BYTES,
};

/// The open-data export on an EventBridge schedule, and on export requests.
pub const SCHEDULED_EXPORT: Route = Route {
    name: "scheduled-open-data-export",
    triggers: &[Trigger::Schedule, Trigger::Stream(StreamItems::ExportRequests)],
    handler: Handler::ScheduledExport,
    access: Access::Internal,
    malformed: Malformed::NotFound,
    accept: AcceptRule::Any,
    needs: STORE_AND_EXPORTS,
    max_body: NO_BODY,
};

/// Every function: one row each.
pub const ROUTES: [Route; 13] = [
    OPEN_DATA_EXPORT,
    ORGANISATION_SNAPSHOT,
    AUTHORITY_CLAIMS,
    PUT_AUTHORITY_CLAIM,
    API_RESOURCE,
    PARTICIPANT_CHANGES,
    SCHEDULED_EXPORT,
    SEQUENCE_CHANGES,
    SUBSCRIPTIONS,
    SSF_CONFIGURATION,
    DELIVER_EVENTS,
    FEDERATION,
    PIN_FEDERATION_KEYS,
];

/// The Lambda authorizer's function (package and fixture directory). It has no row:
/// it serves no route of its own but runs before every route's function when the
/// template chooses the Lambda authorizer, deciding with the rows' `access` scopes.
pub const AUTHORIZER_FUNCTION: &str = "authorizer";

/// Every function package: one per row, and the authorizer.
pub fn function_names() -> impl Iterator<Item = &'static str> {
    ROUTES.iter().map(|r| r.name).chain([AUTHORIZER_FUNCTION])
}

/// The HTTP routes, with their method and path.
pub fn http_routes() -> impl Iterator<Item = (Route, HttpRoute)> {
    ROUTES.iter().flat_map(|r| r.https().map(move |h| (*r, h)))
}

/// The HTTP route of an API Gateway route key (`"GET /organisations/{OrganisationId}/snapshot"`).
pub fn by_route_key(key: &str) -> Option<Route> {
    let (method, path) = key.split_once(' ')?;
    http_routes()
        .find(|(_, h)| h.method == method && h.path == path)
        .map(|(r, _)| r)
}

/// The row of the function called `name`, at compile time: a function binary names
/// its own row (`const ROUTE: Route = routes::row("get-organisation-snapshot");`), and
/// a name with no row does not compile.
pub const fn row(name: &str) -> Route {
    let mut i = 0;
    while i < ROUTES.len() {
        let candidate = ROUTES[i].name.as_bytes();
        let wanted = name.as_bytes();
        if candidate.len() == wanted.len() {
            let mut j = 0;
            while j < wanted.len() && candidate[j] == wanted[j] {
                j += 1;
            }
            if j == wanted.len() {
                return ROUTES[i];
            }
        }
        i += 1;
    }
    panic!("no route row of that name")
}

/// The row of the function called `name`.
pub fn by_name(name: &str) -> Option<Route> {
    ROUTES.into_iter().find(|r| r.name == name)
}

/// The `{Param}` names of a path template, in order.
pub fn param_names(template: &'static str) -> impl Iterator<Item = &'static str> {
    template
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|n| n.strip_suffix('}')))
}

/// The result of matching a request path against the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch {
    /// A route, the HTTP route matched, and its path parameters (percent-decoded).
    Found(Route, HttpRoute, Vec<(&'static str, String)>),
    /// The path exists with other methods (the `Allow` value, sorted).
    WrongMethod(String),
    /// No route has this path.
    NotFound,
}

/// Percent-decodes `s` (UTF-8), `None` for a bad escape or bytes.
pub fn percent_decode(s: &str) -> Option<String> {
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
    for (route, http) in http_routes() {
        if let Some(params) = match_path(http.path, path) {
            // Methods are case-sensitive (RFC 9110 §9.1): `get` is not `GET`.
            if http.method == method {
                return RouteMatch::Found(route, http, params);
            }
            other_methods.push(http.method);
        }
    }
    if other_methods.is_empty() {
        return RouteMatch::NotFound;
    }
    other_methods.sort_unstable();
    other_methods.dedup();
    RouteMatch::WrongMethod(other_methods.join(", "))
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
            RouteMatch::Found(r, _, p) => {
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
            RouteMatch::Found(OPEN_DATA_EXPORT, ..)
        ));
        assert!(matches!(
            find("PUT", "/organisations/o/authorityclaims/c"),
            RouteMatch::Found(PUT_AUTHORITY_CLAIM, ..)
        ));
        assert!(matches!(
            find("GET", "/organisations/o/authorityclaims"),
            RouteMatch::Found(AUTHORITY_CLAIMS, ..)
        ));
        assert!(matches!(
            find("GET", "/organisations/o/snapshot"),
            RouteMatch::Found(ORGANISATION_SNAPSHOT, ..)
        ));
        assert!(matches!(
            find("GET", "/participants/changes"),
            RouteMatch::Found(PARTICIPANT_CHANGES, ..)
        ));
    }

    #[test]
    fn names_are_unique_and_the_schedule_has_no_path() {
        let mut names: Vec<&str> = ROUTES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ROUTES.len());
        assert_eq!(http_routes().count(), ROUTES.len() - 3 + 4 + 8);
        assert!(matches!(
            find("GET", "/federation/entities/o-1/as-1/.well-known/openid-federation"),
            RouteMatch::Found(FEDERATION, _, _)
        ));
        assert!(matches!(
            find("POST", "/subscriptions/s-1/poll"),
            RouteMatch::Found(
                SUBSCRIPTIONS,
                HttpRoute {
                    method: "POST",
                    path: "/subscriptions/{SubscriptionId}/poll"
                },
                _
            )
        ));
        assert_eq!(
            find("PUT", "/subscriptions/s-1"),
            RouteMatch::WrongMethod("DELETE, GET".into())
        );
        assert_eq!(by_name("scheduled-open-data-export"), Some(SCHEDULED_EXPORT));
        const EXPORT: Route = row("get-open-data-export");
        assert_eq!(EXPORT, OPEN_DATA_EXPORT);
        assert_eq!(SCHEDULED_EXPORT.path(), "");
        assert_eq!(SCHEDULED_EXPORT.access.scopes(), &[] as &[&str]);
    }

    #[test]
    fn wrong_methods_and_unknown_paths() {
        assert_eq!(
            find("DELETE", "/organisations/o/snapshot"),
            RouteMatch::WrongMethod("GET".into())
        );
        assert_eq!(
            find("GET", "/organisations/o/authorityclaims/c"),
            RouteMatch::WrongMethod("PUT".into())
        );
        assert_eq!(find("GET", "/nope"), RouteMatch::NotFound);
        assert_eq!(
            find("get", "/organisations/o/snapshot"),
            RouteMatch::WrongMethod("GET".into())
        );
        assert_eq!(find("GET", "/organisations//snapshot"), RouteMatch::NotFound);
    }
}
