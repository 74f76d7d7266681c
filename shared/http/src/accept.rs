//! Content negotiation (`Accept`, `Accept-Encoding`): one parser of
//! comma-separated values with `;q=` weights.

/// The entries of a negotiation header: each value lowercased, with its weight
/// (`q`, default 1; an unreadable weight counts as 1).
pub fn weighted(header: &str) -> impl Iterator<Item = (String, f32)> + '_ {
    header.split(',').filter(|e| !e.trim().is_empty()).map(|entry| {
        let mut parts = entry.split(';');
        let value = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                let (k, v) = p.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| v.trim().parse::<f32>().ok())
                    .flatten()
            })
            .next()
            .unwrap_or(1.0);
        (value, q)
    })
}

/// Whether an `Accept` header value admits `application/json` (absent admits all).
/// Media ranges with `q=0` are refusals.
pub fn accepts_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return true };
    if accept.trim().is_empty() {
        return true;
    }
    weighted(accept).any(|(media, q)| q > 0.0 && matches!(media.as_str(), "application/json" | "application/*" | "*/*"))
}

/// Whether `Accept-Encoding` admits gzip (q > 0).
pub fn accepts_gzip(accept_encoding: Option<&str>) -> bool {
    accept_encoding.is_some_and(|v| weighted(v).any(|(coding, q)| q > 0.0 && (coding == "gzip" || coding == "*")))
}

#[cfg(test)]
mod tests {
    use super::{accepts_gzip, accepts_json};

    #[test]
    fn gzip_negotiation() {
        assert!(accepts_gzip(Some("gzip, deflate, br")));
        assert!(accepts_gzip(Some("*")));
        assert!(accepts_gzip(Some("br;q=1, GZIP;Q=0.5")));
        assert!(!accepts_gzip(Some("gzip;q=0")));
        assert!(!accepts_gzip(Some("br")));
        assert!(!accepts_gzip(None));
    }

    #[test]
    fn json_and_wildcards_are_accepted() {
        for a in [
            None,
            Some(""),
            Some("application/json"),
            Some("*/*"),
            Some("application/*"),
            Some("text/html, application/json;q=0.5"),
            Some("APPLICATION/JSON; charset=utf-8"),
        ] {
            assert!(accepts_json(a), "{a:?}");
        }
    }

    #[test]
    fn other_types_and_zero_quality_are_refused() {
        for a in [
            "text/html",
            "application/xml, text/plain",
            "application/json;q=0",
            "*/*;q=0.0",
        ] {
            assert!(!accepts_json(Some(a)), "{a:?}");
        }
    }
}
