//! `GET /organisations/{OrganisationId}/authorityclaims` (openapi.yaml: getAuthorityClaims):
//! a plain JSON array ordered with `sort`: every claim when neither `page` nor `size`
//! is given (the official operation promises "all authority claims" and has no
//! paging parameters), otherwise one page (`size` 20 when only `page` is given).

use crate::error::ApiError;
use crate::input::{Admitted, RouteInput, both, echo, path, serve, single};
use directory_domain::ids::OrganisationId;
use directory_domain::model::AuthorityClaim;
use directory_domain::routes::{AUTHORITY_CLAIMS, Route};
use directory_usecases::ports::OrganisationReads;
use lambda_http::{Body, Request, RequestExt, Response};
use std::borrow::Cow;

/// Page size when only `page` is given.
pub const DEFAULT_SIZE: usize = 20;
/// Largest page size.
pub const MAX_SIZE: usize = 1000;
/// Largest `page` (the document's `maximum`): far past any list, and no overflow.
pub const MAX_PAGE: usize = u32::MAX as usize;
/// The claim's scalar fields, the ones `sort` accepts.
pub const SORT_FIELDS: &[&str] = &[
    "AuthorisationDomain",
    "AuthorisationDomainID",
    "AuthorisationDomainRoleIdentifier",
    "AuthorityId",
    "Exclusive",
    "OrganisationAuthorityClaimId",
    "OrganisationId",
    "RegistrationId",
    "Role",
    "RoleType",
    "Status",
];

/// The validated list parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    pub page: usize,
    /// `None`: no paging asked for, every claim.
    pub size: Option<usize>,
    pub sort_field: &'static str,
    pub descending: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            page: 0,
            size: None,
            sort_field: "OrganisationAuthorityClaimId",
            descending: false,
        }
    }
}

/// Parses `page`, `size` and `sort`, reporting every bad value.
pub fn parse_query<'a>(get: impl Fn(&str) -> Option<Vec<&'a str>>) -> Result<ListQuery, Vec<String>> {
    let mut q = ListQuery::default();
    let mut problems = Vec::new();
    if let Some(page) = single(get("page"), "page", &mut problems) {
        match page.parse::<usize>() {
            Ok(p) if p <= MAX_PAGE => {
                q.page = p;
                q.size = Some(DEFAULT_SIZE);
            }
            _ => problems.push(format!(
                "page: must be a whole number from 0 to {MAX_PAGE}, not {}",
                echo(page)
            )),
        }
    }
    if let Some(size) = single(get("size"), "size", &mut problems) {
        match size.parse::<usize>() {
            Ok(s) if (1..=MAX_SIZE).contains(&s) => q.size = Some(s),
            _ => problems.push(format!(
                "size: must be a whole number from 1 to {MAX_SIZE}, not {}",
                echo(size)
            )),
        }
    }
    if let Some(sort) = single(get("sort"), "sort", &mut problems) {
        let (field, direction) = match sort.split_once(',') {
            Some((f, d)) => (f.trim(), Some(d.trim())),
            None => (sort.trim(), None),
        };
        match SORT_FIELDS.iter().find(|f| **f == field) {
            Some(f) => q.sort_field = f,
            None => problems.push(format!(
                "sort: unknown field {}; one of {}",
                echo(field),
                SORT_FIELDS.join(", ")
            )),
        }
        match direction.map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => {}
            Some("desc") => q.descending = true,
            Some(other) => problems.push(format!("sort: direction must be asc or desc, not {}", echo(other))),
        }
    }
    if problems.is_empty() { Ok(q) } else { Err(problems) }
}

/// The value a claim sorts by for `field` (one of [`SORT_FIELDS`]); missing is empty.
fn sort_value<'a>(c: &'a AuthorityClaim, field: &str) -> Cow<'a, str> {
    let text = |v: &'a Option<String>| Cow::Borrowed(v.as_deref().unwrap_or(""));
    match field {
        "AuthorisationDomain" => text(&c.authorisation_domain),
        "AuthorisationDomainID" => text(&c.authorisation_domain_id),
        "AuthorisationDomainRoleIdentifier" => text(&c.authorisation_domain_role_identifier),
        "AuthorityId" => Cow::Borrowed(&c.authority_id),
        "Exclusive" => c.exclusive.map_or(Cow::Borrowed(""), |e| Cow::Owned(e.to_string())),
        "OrganisationAuthorityClaimId" => Cow::Borrowed(&c.organisation_authority_claim_id),
        "OrganisationId" => text(&c.organisation_id),
        "RegistrationId" => text(&c.registration_id),
        "Role" => text(&c.role),
        "RoleType" => text(&c.role_type),
        "Status" => Cow::Borrowed(c.status.as_str()),
        _ => Cow::Borrowed(""),
    }
}

/// Orders (missing values sort as empty, ties by claim id ascending) and pages
/// (every claim when no page size was asked for).
pub fn page_of(claims: Vec<AuthorityClaim>, q: &ListQuery) -> Vec<AuthorityClaim> {
    let mut order: Vec<usize> = (0..claims.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (
            sort_value(&claims[a], q.sort_field),
            sort_value(&claims[b], q.sort_field),
        );
        let primary = if q.descending { kb.cmp(&ka) } else { ka.cmp(&kb) };
        primary.then_with(|| {
            claims[a]
                .organisation_authority_claim_id
                .cmp(&claims[b].organisation_authority_claim_id)
        })
    });
    let size = q.size.unwrap_or(usize::MAX);
    let wanted: Vec<usize> = order.into_iter().skip(q.page.saturating_mul(size)).take(size).collect();
    let mut slots: Vec<Option<AuthorityClaim>> = claims.into_iter().map(Some).collect();
    wanted.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The route's input: the organisation and the list parameters.
pub struct ClaimsInput {
    pub org: OrganisationId,
    pub query: ListQuery,
}

impl RouteInput for ClaimsInput {
    const ROUTE: Route = AUTHORITY_CLAIMS;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        let org = path(req, OrganisationId::PARAM)
            .map_err(|e| e.messages())
            .and_then(OrganisationId::parse);
        let params = req.query_string_parameters_ref();
        let query = parse_query(|name| params.and_then(|p| p.all(name)));
        let (org, query) = both(org, query)?;
        Ok(Self { org, query })
    }
}

/// The organisation's claims: all of them, or one page.
pub async fn handle<S: OrganisationReads>(store: &S, req: Request) -> Response<Body> {
    serve(req, |a: Admitted<ClaimsInput>| async move {
        let org = &a.input.org;
        let claims = store
            .authority_claims(org)
            .await?
            .ok_or_else(|| ApiError::NotFound(format!("organisation {org} not found")))?;
        a.call.ok(&page_of(claims, &a.input.query))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use directory_domain::model::ResourceStatus;

    fn q(pairs: &[(&'static str, &'static str)]) -> Result<ListQuery, Vec<String>> {
        parse_query(|name| {
            let v: Vec<&str> = pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| *v).collect();
            (!v.is_empty()).then_some(v)
        })
    }

    #[test]
    fn defaults() {
        assert_eq!(q(&[]).unwrap(), ListQuery::default());
    }

    #[test]
    fn valid_values() {
        let got = q(&[("page", "2"), ("size", "1000"), ("sort", "Role,DESC")]).unwrap();
        assert_eq!(
            got,
            ListQuery {
                page: 2,
                size: Some(1000),
                sort_field: "Role",
                descending: true
            }
        );
        assert_eq!(q(&[("sort", "Status")]).unwrap().sort_field, "Status");
        assert_eq!(q(&[("size", "1")]).unwrap().size, Some(1));
        assert_eq!(q(&[("page", "1")]).unwrap().size, Some(DEFAULT_SIZE));
        assert_eq!(q(&[("sort", "Role")]).unwrap().size, None, "no paging asked: all");
    }

    #[test]
    fn every_bad_value_is_reported() {
        let errs = q(&[("page", "-1"), ("size", "0"), ("sort", "Nope,sideways")]).unwrap_err();
        assert_eq!(errs.len(), 4, "{errs:?}");
        assert!(errs[0].starts_with("page:"));
        assert!(errs[1].starts_with("size:"));
        assert!(errs[2].starts_with("sort: unknown field"));
        assert!(errs[3].starts_with("sort: direction"));
        assert!(q(&[("size", "1001")]).is_err());
        assert!(q(&[("page", "x")]).is_err());
        assert_eq!(
            q(&[("page", "1"), ("page", "2")]).unwrap_err(),
            vec!["page: given more than once"]
        );
    }

    #[test]
    fn long_query_values_are_not_echoed_whole() {
        let long: &'static str = Box::leak("9".repeat(10_000).into_boxed_str());
        let errs = q(&[("page", long), ("size", long), ("sort", long)]).unwrap_err();
        for e in &errs {
            assert!(!e.contains(&"9".repeat(65)), "{e}");
            assert!(e.contains('…'), "{e}");
        }
    }

    fn claim(id: &str, role: Option<&str>, active: bool) -> AuthorityClaim {
        AuthorityClaim {
            organisation_authority_claim_id: id.into(),
            role: role.map(Into::into),
            status: if active {
                ResourceStatus::Active
            } else {
                ResourceStatus::Inactive
            },
            ..Default::default()
        }
    }

    #[test]
    fn sort_values_are_the_serialised_field_values() {
        let c = AuthorityClaim {
            authorisation_domain: Some("d".into()),
            authorisation_domain_id: Some("di".into()),
            authorisation_domain_role_identifier: Some("ri".into()),
            authority_id: "a".into(),
            exclusive: Some(true),
            organisation_authority_claim_id: "c".into(),
            organisation_id: Some("o".into()),
            registration_id: Some("r".into()),
            role: Some("PAGTO".into()),
            role_type: Some("t".into()),
            ..Default::default()
        };
        let v = serde_json::to_value(&c).unwrap();
        for field in SORT_FIELDS {
            let expected = match &v[*field] {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Bool(b) => b.to_string(),
                other => panic!("{field}: {other}"),
            };
            assert_eq!(sort_value(&c, field), expected, "{field}");
        }
        assert_eq!(sort_value(&AuthorityClaim::default(), "Role"), "");
    }

    #[test]
    fn sorting_and_paging() {
        let claims = vec![
            claim("c", Some("PAGTO"), true),
            claim("a", None, false),
            claim("b", Some("DADOS"), true),
            claim("d", Some("DADOS"), false),
        ];
        let ids = |v: Vec<AuthorityClaim>| {
            v.into_iter()
                .map(|c| c.organisation_authority_claim_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            ids(page_of(claims.clone(), &ListQuery::default())),
            ["a", "b", "c", "d"]
        );
        let by_role = ListQuery {
            sort_field: "Role",
            ..Default::default()
        };
        assert_eq!(
            ids(page_of(claims.clone(), &by_role)),
            ["a", "b", "d", "c"],
            "missing sorts as empty, ties by id"
        );
        let desc = ListQuery {
            sort_field: "Role",
            descending: true,
            ..Default::default()
        };
        assert_eq!(
            ids(page_of(claims.clone(), &desc)),
            ["c", "b", "d", "a"],
            "ties stay ascending by id"
        );
        let paged = ListQuery {
            page: 1,
            size: Some(3),
            ..Default::default()
        };
        assert_eq!(ids(page_of(claims.clone(), &paged)), ["d"]);
        let past = ListQuery {
            page: 5,
            size: Some(3),
            ..Default::default()
        };
        assert!(page_of(claims, &past).is_empty());
    }
}
