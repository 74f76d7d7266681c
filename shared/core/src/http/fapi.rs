//! FAPI headers: `x-fapi-interaction-id` echo / replace, `x-fapi-auth-date`.

use lambda_http::http::HeaderMap;
use regex::Regex;
use std::sync::LazyLock;

/// The correlation id header, on every response.
pub const INTERACTION_ID: &str = "x-fapi-interaction-id";
/// The PSU's last login time (RFC 7231 date).
pub const AUTH_DATE: &str = "x-fapi-auth-date";

static INTERACTION_ID_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9][a-zA-Z0-9\-]{0,99}$").expect("pattern compiles"));
static AUTH_DATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} (GMT|UTC)$",
    )
    .expect("pattern compiles")
});

/// The outcome of reading the FAPI headers of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FapiHeaders {
    /// The id to send back: the caller's valid one, or a fresh UUID v4.
    pub interaction_id: String,
    /// Header violations (a malformed auth date), reported as 400 by endpoints that list 400.
    pub violations: Vec<String>,
}

/// Reads the FAPI headers. An invalid interaction id is never echoed, and never
/// refused: a fresh UUID replaces it on every route (the official Directory API lets
/// clients send any string). A malformed auth date is a violation.
pub fn read(headers: &HeaderMap) -> FapiHeaders {
    let mut violations = Vec::new();
    let interaction_id = match headers.get(INTERACTION_ID).map(|v| v.to_str()) {
        Some(Ok(v)) if INTERACTION_ID_RE.is_match(v) => v.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    if let Some(date) = headers.get(AUTH_DATE) {
        let ok = date.to_str().is_ok_and(|d| AUTH_DATE_RE.is_match(d));
        if !ok {
            violations.push(format!(
                "{AUTH_DATE}: must be an RFC 7231 date like 'Sun, 10 Sep 2017 19:43:31 UTC'"
            ));
        }
    }
    FapiHeaders {
        interaction_id,
        violations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_bytes(v).unwrap());
        }
        h
    }

    #[test]
    fn a_valid_interaction_id_is_echoed() {
        let f = read(&headers(&[(INTERACTION_ID, b"73cac523-d3ae-2289-b106-330a6218710d")]));
        assert_eq!(f.interaction_id, "73cac523-d3ae-2289-b106-330a6218710d");
        assert!(f.violations.is_empty());
    }

    #[test]
    fn an_absent_interaction_id_gets_a_fresh_uuid() {
        let f = read(&HeaderMap::new());
        assert!(uuid::Uuid::parse_str(&f.interaction_id).is_ok());
        assert!(f.violations.is_empty());
    }

    #[test]
    fn an_invalid_interaction_id_is_replaced_not_refused() {
        for bad in [
            &b"-starts-with-dash"[..],
            b"has space",
            &[b'a'; 101][..],
            b"caf\xc3\xa9",
        ] {
            let f = read(&headers(&[(INTERACTION_ID, bad)]));
            assert_ne!(f.interaction_id.as_bytes(), bad);
            assert!(uuid::Uuid::parse_str(&f.interaction_id).is_ok());
            assert!(f.violations.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn auth_date_must_be_rfc7231() {
        assert!(
            read(&headers(&[(AUTH_DATE, b"Sun, 10 Sep 2017 19:43:31 UTC")]))
                .violations
                .is_empty()
        );
        assert!(
            read(&headers(&[(AUTH_DATE, b"Mon, 01 Jan 2024 00:00:00 GMT")]))
                .violations
                .is_empty()
        );
        let bad = read(&headers(&[(AUTH_DATE, b"2017-09-10T19:43:31Z")]));
        assert_eq!(bad.violations.len(), 1);
        assert!(bad.violations[0].starts_with(AUTH_DATE));
    }
}
