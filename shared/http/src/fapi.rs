//! FAPI headers: `x-fapi-interaction-id` echo / replace, `x-fapi-auth-date`.

use lambda_http::http::HeaderMap;

/// The correlation id header, on every response.
pub const INTERACTION_ID: &str = "x-fapi-interaction-id";
/// The PSU's last login time (RFC 7231 date).
pub const AUTH_DATE: &str = "x-fapi-auth-date";

/// The accepted interaction id: `^[a-zA-Z0-9][a-zA-Z0-9\-]{0,99}$`. Checked by hand
/// (the tests hold it equal to this pattern), so the functions that validate nothing
/// else link no regex engine (README, Benchmarks: artifact size).
pub const INTERACTION_ID_PATTERN: &str = r"^[a-zA-Z0-9][a-zA-Z0-9\-]{0,99}$";
/// The accepted auth date (RFC 7231 IMF-fixdate, GMT or UTC), checked by hand likewise.
pub const AUTH_DATE_PATTERN: &str = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} (GMT|UTC)$";

/// Whether `id` matches [`INTERACTION_ID_PATTERN`].
fn is_interaction_id(id: &str) -> bool {
    let b = id.as_bytes();
    (1..=100).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// Whether `date` matches [`AUTH_DATE_PATTERN`]: `Sun, 10 Sep 2017 19:43:31 UTC`.
fn is_auth_date(date: &str) -> bool {
    const DAYS: [&[u8]; 7] = [b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun"];
    const MONTHS: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
    ];
    // `#` is a digit; the names are checked separately.
    const SHAPE: &[u8; 29] = b"___, ## ___ #### ##:##:## ___";
    let b = date.as_bytes();
    b.len() == SHAPE.len()
        && SHAPE.iter().zip(b).all(|(s, c)| match s {
            b'#' => c.is_ascii_digit(),
            b'_' => true,
            s => s == c,
        })
        && DAYS.contains(&&b[0..3])
        && MONTHS.contains(&&b[8..11])
        && [&b"GMT"[..], b"UTC"].contains(&&b[26..29])
}

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
        Some(Ok(v)) if is_interaction_id(v) => v.to_owned(),
        _ => uuid::Uuid::new_v4().to_string(),
    };
    if let Some(date) = headers.get(AUTH_DATE) {
        let ok = date.to_str().is_ok_and(is_auth_date);
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

    #[test]
    fn interaction_id_length_bounds() {
        for (id, ok) in [
            ("a".repeat(100), true),
            ("a".repeat(101), false),
            ("a".into(), true),
            (String::new(), false),
        ] {
            assert_eq!(is_interaction_id(&id), ok, "{} characters", id.len());
        }
    }

    proptest::proptest! {
        /// The hand checks accept exactly what the documented patterns accept: strings
        /// near each shape (any character may be off) and arbitrary ones.
        #[test]
        fn hand_checks_equal_the_patterns(
            id in "[a-zA-Z0-9\\- _é]{0,102}",
            date in "(Mon|Sun|Mun|mon), ([0-9]{2}|[0-9a]{1,3}) (Jan|Dec|Jen|DEC) ([0-9]{4}|[0-9]{3,5}) ([0-9]{2}:[0-9]{2}:[0-9]{2}|[0-9:]{8}) (GMT|UTC|UT|GMTX)",
            any in "\\PC{0,40}",
        ) {
            let id_re = regex::Regex::new(INTERACTION_ID_PATTERN).unwrap();
            let date_re = regex::Regex::new(AUTH_DATE_PATTERN).unwrap();
            proptest::prop_assert_eq!(is_interaction_id(&id), id_re.is_match(&id));
            proptest::prop_assert_eq!(is_auth_date(&date), date_re.is_match(&date));
            proptest::prop_assert_eq!(is_interaction_id(&any), id_re.is_match(&any));
            proptest::prop_assert_eq!(is_auth_date(&any), date_re.is_match(&any));
        }
    }
}
