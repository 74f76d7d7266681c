//! `GET /participants/changes` (openapi.yaml: getParticipantChanges): the changes feed.
//! Public like the participants file. Each page is signed (`x-jws-signature`, a
//! detached JWS of `typ` `participants-changes+jws` naming `since` and `revision`),
//! has a strong `ETag` of what it covers (a poll with nothing new is a `304` after one
//! read), and says the revision it ends at (`x-directory-revision`). A full page
//! never changes (cached for a day); the page at the head may grow (cached briefly).

use crate::error::ApiError;
use crate::handlers::open_data_export::{SIGNATURE_HEADER, none_match};
use crate::input::{Admitted, RouteInput, echo, serve, single};
use directory_domain::feed::{self, REVISION_HEADER, Revision, page_etag};
use directory_domain::routes::{PARTICIPANT_CHANGES, Route};
use directory_domain::signature::Signer;
use directory_usecases::feed::{PageSigner, page};
use directory_usecases::ports::{ChangeFeed, Documents, ExportLease};
use lambda_http::http::{StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};

/// `Cache-Control` of a page that ends before the head: its bytes are final.
pub const FULL_PAGE_CACHE: &str = "public, max-age=86400";
/// `Cache-Control` of the page at the head: a cache may answer for a few seconds,
/// then asks again (cheaply: `If-None-Match`).
pub const HEAD_PAGE_CACHE: &str = "public, max-age=5";

/// The route's input: where the reader is, how much it wants, and what it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangesInput {
    pub since: Revision,
    pub limit: u64,
    pub if_none_match: Option<String>,
}

/// Parses `since` (required) and `limit`, reporting every bad value.
pub fn parse_query<'a>(get: impl Fn(&str) -> Option<Vec<&'a str>>) -> Result<(Revision, u64), Vec<String>> {
    let mut problems = Vec::new();
    let given = get("since");
    let present = given.as_ref().is_some_and(|v| !v.is_empty());
    let since = match single(given, "since", &mut problems) {
        None if present => None,
        None => {
            problems.push(
                "since: required: the revision your copy reflects (the participants file's x-directory-revision, or the last page's Revision)"
                    .to_owned(),
            );
            None
        }
        Some(v) => match v.parse::<Revision>() {
            Ok(n) if v.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                problems.push(format!("since: must be a whole number from 0, not {}", echo(v)));
                None
            }
        },
    };
    let limit = match single(get("limit"), "limit", &mut problems) {
        None => Some(feed::DEFAULT_LIMIT),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=feed::MAX_LIMIT).contains(&n) && v.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                problems.push(format!(
                    "limit: must be a whole number from 1 to {}, not {}",
                    feed::MAX_LIMIT,
                    echo(v)
                ));
                None
            }
        },
    };
    match (since, limit) {
        (Some(s), Some(l)) if problems.is_empty() => Ok((s, l)),
        _ => Err(problems),
    }
}

impl RouteInput for ChangesInput {
    const ROUTE: Route = PARTICIPANT_CHANGES;

    fn read(req: &Request) -> Result<Self, Vec<String>> {
        let params = req.query_string_parameters_ref();
        let (since, limit) = parse_query(|name| params.and_then(|p| p.all(name)))?;
        Ok(Self {
            since,
            limit,
            if_none_match: req
                .headers()
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        })
    }
}

/// One page of the feed, signed.
pub async fn handle<S: ChangeFeed + Documents + ExportLease>(
    store: &S,
    signer: &dyn Signer,
    signatures: &PageSigner,
    req: Request,
) -> Response<Body> {
    serve(req, |a: Admitted<ChangesInput>| async move {
        let input = &a.input;
        let page = page(store, input.since, input.limit).await?;
        let etag = page_etag(page.since, page.revision, page.more);
        let cache = if page.more { FULL_PAGE_CACHE } else { HEAD_PAGE_CACHE };
        let builder = Response::builder()
            .header(crate::fapi::INTERACTION_ID, &a.call.interaction_id)
            .header(header::ETAG, &etag)
            .header(header::CACHE_CONTROL, cache)
            .header(REVISION_HEADER, page.revision)
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        if none_match(input.if_none_match.as_deref(), &etag) {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::Empty)
                .map_err(|e| ApiError::Internal(e.to_string()));
        }
        let signed = signatures
            .sign(store, signer, &page)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        let text = String::from_utf8(signed.bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
        builder
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, &signed.signature)
            .body(Body::Text(text))
            .map_err(|e| ApiError::Internal(e.to_string()))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &'static [(&'static str, &'static str)]) -> Result<(Revision, u64), Vec<String>> {
        parse_query(|name| {
            let values: Vec<&str> = pairs.iter().filter(|(k, _)| *k == name).map(|(_, v)| *v).collect();
            (!values.is_empty()).then_some(values)
        })
    }

    #[test]
    fn since_is_required_and_limit_bounded() {
        assert_eq!(query(&[("since", "0")]), Ok((0, feed::DEFAULT_LIMIT)));
        assert_eq!(query(&[("since", "12"), ("limit", "5")]), Ok((12, 5)));
        assert!(query(&[]).unwrap_err().iter().any(|m| m.starts_with("since: required")));
        for bad in ["-1", "+3", "x", "1.5", " 2", "18446744073709551616"] {
            let got = parse_query(|name| (name == "since").then(|| vec![bad])).unwrap_err();
            assert!(got[0].starts_with("since: must be a whole number"), "{bad}: {got:?}");
        }
        for bad in ["0", "101", "+5", "ten"] {
            let got = parse_query(|name| match name {
                "since" => Some(vec!["1"]),
                "limit" => Some(vec![bad]),
                _ => None,
            })
            .unwrap_err();
            assert!(
                got[0].starts_with("limit: must be a whole number from 1 to 100"),
                "{bad}: {got:?}"
            );
        }
        let twice = query(&[("since", "1"), ("since", "2")]).unwrap_err();
        assert_eq!(twice, ["since: given more than once"]);
    }
}
